"""Opening the store: a SQLAlchemy engine for a URL, the tables created and older stores brought up to date; when it
cannot be opened, one line naming the database (password hidden) and the fix.

SQLite under ``data/`` by default (WAL, ``synchronous=NORMAL``, busy timeout); PostgreSQL when the URL says so.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlmodel import SQLModel, create_engine

import engine.store.tables  # noqa: F401 - the tables create_all makes


class StoreOpenError(RuntimeError):
    """The store cannot be opened; the message names the database (password hidden) and the fix."""


def shown_url(url: str) -> str:
    """``url`` with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL at all: show its scheme only
        return url.split("://", 1)[0] + "://..." if "://" in url else "(not a URL)"


def make_engine(url: str) -> Engine:
    """A SQLAlchemy engine for ``url`` with the tables created; SQLite gets WAL and a busy timeout.

    Raises :class:`StoreOpenError` with one line naming the problem and the fix when the store cannot be opened."""
    try:
        return _make_engine(url)
    except StoreOpenError:
        raise
    except (SQLAlchemyError, ImportError, OSError, ValueError) as exc:
        raise StoreOpenError(_why_not_open(url, exc)) from None


def _why_not_open(url: str, exc: BaseException) -> str:
    where = f"the store {shown_url(url)}"
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200] if str(exc).strip() else \
        type(exc).__name__
    low = reason.lower()
    if isinstance(exc, NoSuchModuleError):
        return (f"{where}: the scheme {url.split(':', 1)[0]!r} is not a database this engine knows; use "
                "sqlite:///data/marketmaker.db or postgresql+psycopg://user:password@host/dbname (database.url or "
                "DATABASE_URL)")
    if isinstance(exc, ArgumentError):
        return (f"database.url {shown_url(url)!r} is not a database URL; use sqlite:///data/marketmaker.db or "
                "postgresql+psycopg://user:password@host/dbname")
    if isinstance(exc, ImportError):
        return (f"{where} needs the Python driver {getattr(exc, 'name', None) or reason!r}, which is not installed: "
                "install it, or use sqlite:///... or postgresql+psycopg://... (psycopg is installed)")
    if isinstance(exc, FileExistsError | NotADirectoryError):
        return (f"{where}: its folder cannot be created: {exc.filename} is a file, not a folder; move it or point "
                "database.url elsewhere")
    if isinstance(exc, OSError):
        return (f"{where}: its folder cannot be created ({exc.strerror or reason}: {exc.filename}); create it or "
                "make it writable, or point database.url elsewhere")
    if "not a database" in low or "malformed" in low:
        return (f"{where} is not a readable SQLite database (corrupted?): move the file away (a fresh store is "
                "created) or restore a backup")
    if "locked" in low:
        return f"{where} is locked by another program: close it (a database browser?) and start again"
    if "readonly" in low or "read-only" in low:
        return f"{where} is read-only: make the file and its folder writable"
    if "unable to open" in low:
        return f"{where} cannot be opened: check that its folder exists and is writable"
    if "refused" in low or "could not connect" in low or "connection failed" in low or "timeout" in low:
        return (f"{where}: cannot connect ({reason}); start the database server or fix the host and port in "
                "DATABASE_URL")
    if "password" in low or "authentication" in low or "role" in low:
        return f"{where}: the server refused the login ({reason}); fix the user and password in DATABASE_URL"
    if "does not exist" in low:
        return f"{where}: {reason}; create the database or fix its name in DATABASE_URL"
    return f"{where} cannot be opened: {reason}"


def _make_engine(url: str) -> Engine:
    scratch = None
    if url in ("sqlite://", "sqlite:///:memory:"):
        # A private temporary file rather than SQLite's in-memory database, which gives every connection (so every
        # thread: the engine's jobs, the alert sender) its own empty database.
        scratch = tempfile.mkdtemp(prefix="mm-store-")
        url = f"sqlite:///{scratch}/store.db"
    if url.startswith("sqlite"):
        path = url.split("sqlite:///", 1)[-1]
        if path and path != ":memory:" and not path.startswith(":"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA busy_timeout=10000")
            if cur.execute("PRAGMA page_count").fetchone()[0] == 0:  # a new file (an old one: engine.retention)
                cur.execute("PRAGMA auto_vacuum=INCREMENTAL")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    _add_missing_columns(engine)
    if scratch is not None:
        weakref.finalize(engine, shutil.rmtree, scratch, True)
    return engine


# columns added since the first release, for older stores
ADDED_COLUMNS = {"orders": {"ref_mid": "FLOAT"}, "trades": {"edge": "FLOAT"},
                 "system_metrics": {"fills_per_minute": "FLOAT", "volume_usd": "FLOAT", "quoted_spread_bps": "FLOAT",
                                    "latency_ms": "FLOAT", "success_rate": "FLOAT", "api_calls": "INTEGER",
                                    "sharpe": "FLOAT"}}


def _add_missing_columns(engine: Engine) -> None:
    """A store made by an earlier version gets the columns added since (``create_all`` only creates tables)."""
    insp = inspect(engine)
    for table, columns in ADDED_COLUMNS.items():
        have = {c["name"] for c in insp.get_columns(table)}
        for name, sql_type in columns.items():
            if name not in have:
                with engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}"))
