"""The one-trader-per-database lock."""

from __future__ import annotations

import fcntl
import hashlib
import os
from pathlib import Path
from typing import Any

from sqlalchemy import text
from sqlalchemy.engine import Engine

from engine.store.opening import StoreOpenError


class TradingLockError(RuntimeError):
    """Another process already trades on this database."""


class TradingLock:
    """Held for as long as an engine trades on a database, so a second process refuses to.

    SQLite: an exclusive ``flock`` on ``<database>.lock``. PostgreSQL: a session advisory lock held on a
    dedicated connection. In-memory SQLite needs none.
    """

    def __init__(self, url: str, engine: Engine) -> None:
        self.url = url
        self.engine = engine
        self._fh: Any = None
        self._conn: Any = None
        self._pg_key = int(hashlib.sha256(b"mm-console-trading").hexdigest()[:15], 16)

    def acquire(self) -> None:
        if self.engine.dialect.name == "sqlite":
            path = self.engine.url.database or ""  # the file actually opened (a scratch file for "sqlite://")
            if not path or path.startswith(":"):
                return
            lock_path = Path(path + ".lock")
            try:
                self._fh = open(lock_path, "a+")  # noqa: SIM115 - held open for the lock's lifetime
            except OSError as exc:
                raise StoreOpenError(f"the store's lock file {lock_path} cannot be created ({exc.strerror}): make "
                                     "its folder writable") from None
            try:
                fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                self._fh.seek(0)
                holder = self._fh.read().strip() or "another process"
                self._fh.close()
                self._fh = None
                raise TradingLockError(
                    f"another engine ({holder}) is already trading on {path}; stop it first, or point this one at "
                    f"another database (database.url / DATABASE_URL)") from None
            self._fh.seek(0)
            self._fh.truncate()
            self._fh.write(f"pid {os.getpid()}")
            self._fh.flush()
            return
        self._conn = self.engine.connect()
        got = self._conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self._pg_key}).scalar()
        if not got:
            self._conn.close()
            self._conn = None
            raise TradingLockError("another engine is already trading on this PostgreSQL database; stop it first, "
                                   "or point this one at another database (DATABASE_URL)")

    def release(self) -> None:
        if self._fh is not None:
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_UN)
            self._fh.close()
            self._fh = None
        if self._conn is not None:  # unlock explicitly: closing only returns the session to the pool
            self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._pg_key})
            self._conn.close()
            self._conn = None
