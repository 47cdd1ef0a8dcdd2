"""The paper account's state file: a small SQLite database beside the project's store.

Written through at the end of every request that changed something (one transaction), so a process
that dies keeps everything up to its last answered request.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import sqlite3
import threading
from pathlib import Path

import ccxt

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, symbol TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trades (id TEXT PRIMARY KEY, symbol TEXT NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL);
"""


class StateFileError(ccxt.ExchangeError):
    """The paper account's state file cannot be used: in use by another engine, unreadable or not writable."""


class SimStateFile:
    """Loads and saves the simulated venue's account, orders and trades. One venue at a time owns the file (an
    exclusive lock on ``<file>.lock``, held until :meth:`close` or the process ends), so two engines never trade one
    paper account."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._lock_fh = None
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock_fh = open(str(self.path) + ".lock", "a+")  # noqa: SIM115 - held for the file's lifetime
        except OSError as exc:
            raise StateFileError(f"the paper account {self.path} cannot be created ({exc.strerror}): make its folder "
                                 "writable, or point sim.state_path elsewhere") from None
        self.owner = False
        self.holder = ""
        self._warned = False
        self.claim(strict=False)
        try:
            self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)
            if self.owner:  # fail now, not mid-run
                self._db.execute("INSERT OR REPLACE INTO kv VALUES ('_writable', '1')")
                self._db.execute("DELETE FROM kv WHERE key = '_writable'")
        except sqlite3.Error as exc:
            self._release()
            what = ("is not a paper-account file (corrupted?): move it away to start a fresh account"
                    if isinstance(exc, sqlite3.DatabaseError) and "not a database" in str(exc) else
                    f"cannot be used ({exc}): check that it and its folder are writable")
            raise StateFileError(f"the paper account {self.path} {what}, or point sim.state_path elsewhere") from None
        self._lock = threading.Lock()

    def claim(self, strict: bool = True) -> bool:
        """Take the file for this venue; another engine's venue holding it raises :class:`StateFileError` (or, with
        ``strict=False``, leaves this venue reading the account without ever writing it)."""
        if self.owner:
            return True
        try:
            fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_fh.seek(0)
            self.holder = self._lock_fh.read().strip() or "another process"
            if strict:
                raise StateFileError(f"the paper account {self.path} is in use by another engine ({self.holder}); "
                                     "stop that engine, or give this one its own sim.state_path") from None
            return False
        self._lock_fh.seek(0)
        self._lock_fh.truncate()
        self._lock_fh.write(f"pid {os.getpid()}")
        self._lock_fh.flush()
        self.owner = True
        return True

    def _may_write(self) -> bool:
        if self.owner or self.claim(strict=False):
            return True
        if not self._warned:
            self._warned = True
            log.warning("sim: the paper account %s is in use by another engine (%s); this venue does not write it",
                        self.path, self.holder)
        return False

    def load(self) -> dict | None:
        """Everything saved, or None for a fresh file."""
        with self._lock:
            kv = {k: json.loads(v) for k, v in self._db.execute("SELECT key, value FROM kv")}
            if "account" not in kv:
                return None
            kv["orders"] = [json.loads(b) for (b,) in self._db.execute("SELECT body FROM orders ORDER BY rowid")]
            kv["trades"] = [json.loads(b) for (b,) in self._db.execute("SELECT body FROM trades ORDER BY rowid")]
            return kv

    def save(self, kv: dict, orders: list[dict], trades: list[dict], forget_orders: list[str] = (),
             trades_kept: int | None = None) -> None:
        """Write one request's changes in one transaction; forget pruned orders and trades past ``trades_kept``."""
        if not self._may_write():
            return
        with self._lock:
            db = self._db
            db.execute("BEGIN")
            try:
                db.executemany("INSERT OR REPLACE INTO kv VALUES (?, ?)",
                               [(k, json.dumps(v)) for k, v in kv.items()])
                db.executemany("INSERT OR REPLACE INTO orders VALUES (?, ?, ?, ?)",
                               [(o["id"], o["symbol"], o["status"], json.dumps(o)) for o in orders])
                db.executemany("INSERT OR IGNORE INTO trades VALUES (?, ?, ?, ?)",
                               [(t["id"], t["symbol"], t["timestamp"], json.dumps(t)) for t in trades])
                if forget_orders:
                    db.executemany("DELETE FROM orders WHERE id = ?", [(i,) for i in forget_orders])
                if trades and trades_kept:
                    db.execute("DELETE FROM trades WHERE rowid <= (SELECT MAX(rowid) FROM trades) - ?", (trades_kept,))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def wipe(self) -> None:
        if not self._may_write():
            return
        with self._lock:
            self._db.executescript("DELETE FROM kv; DELETE FROM orders; DELETE FROM trades;")

    def close(self) -> None:
        with self._lock:
            self._db.close()
        self._release()

    def _release(self) -> None:
        if self._lock_fh is not None:
            if self.owner:
                fcntl.flock(self._lock_fh.fileno(), fcntl.LOCK_UN)
            self._lock_fh.close()
            self._lock_fh = None
            self.owner = False
