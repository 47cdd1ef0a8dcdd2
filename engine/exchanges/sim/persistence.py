"""The paper account's state file: a small SQLite database beside the project's store.

Written through at the end of every request that changed something (one transaction), so a process
that dies keeps everything up to its last answered request.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (id TEXT PRIMARY KEY, symbol TEXT NOT NULL, status TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS trades (id TEXT PRIMARY KEY, symbol TEXT NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL);
"""


class SimStateFile:
    """Loads and saves the simulated venue's account, orders and trades."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._lock = threading.Lock()

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
        with self._lock:
            self._db.executescript("DELETE FROM kv; DELETE FROM orders; DELETE FROM trades;")

    def close(self) -> None:
        with self._lock:
            self._db.close()
