"""The store: SQLModel tables, the database engine factory, and the one-trader-per-database lock.

SQLite under ``data/`` by default (WAL, ``synchronous=NORMAL``, busy timeout); PostgreSQL when the URL says so.
Times are integer milliseconds since the epoch (UTC), indexed for the console's time-range queries.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint, bindparam, event, insert, inspect, text, update
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError, SQLAlchemyError
from sqlmodel import Field, Session, SQLModel, create_engine, select


def _ms(index: bool = False) -> Any:
    return Field(default=0, sa_column=Column(BigInteger, nullable=False, index=index))


class OrderRecord(SQLModel, table=True):
    """Every order the engine sent or adopted, keyed by its client order id (written before sending)."""

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_exchange_symbol_status", "exchange", "symbol", "status"),)

    id: int | None = Field(default=None, primary_key=True)
    exchange: str
    symbol: str
    client_order_id: str = Field(unique=True)
    exchange_order_id: str | None = Field(default=None, index=True)
    side: str
    type: str = "limit"
    level: int = 0
    price: float | None = None
    amount: float
    filled: float = 0.0
    average: float | None = None
    status: str = "pending"  # pending | open | closed | canceled | rejected | unknown
    reason: str = ""
    ref_mid: float | None = None  # the market mid a quote was priced against (hygiene's stale-depth rule)
    created_ms: int = _ms(index=True)
    updated_ms: int = _ms()
    closed_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class TradeRecord(SQLModel, table=True):
    """One fill, stored exactly once (unique on exchange + exchange trade id)."""

    __tablename__ = "trades"
    __table_args__ = (
        UniqueConstraint("exchange", "trade_id", name="uq_trades_exchange_trade_id"),
        Index("ix_trades_exchange_symbol_ts", "exchange", "symbol", "ts"),
    )

    id: int | None = Field(default=None, primary_key=True)
    exchange: str
    symbol: str
    trade_id: str
    order_id: str | None = None
    client_order_id: str | None = None
    side: str
    price: float
    amount: float
    cost: float
    fee: float = 0.0
    fee_currency: str | None = None
    liquidity: str | None = None  # maker | taker
    realized_pnl: float = 0.0
    ts: int = _ms(index=True)


class PositionRecord(SQLModel, table=True):
    """The engine's position per exchange and symbol (signed: + long, - short), open or closed."""

    __tablename__ = "positions"
    __table_args__ = (UniqueConstraint("exchange", "symbol", name="uq_positions_exchange_symbol"),)

    id: int | None = Field(default=None, primary_key=True)
    exchange: str
    symbol: str
    qty: float = 0.0
    avg_price: float = 0.0
    contract_size: float = 1.0
    realized_pnl: float = 0.0
    fees: float = 0.0
    status: str = "closed"  # open | closed
    opened_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    updated_ms: int = _ms()


class SystemMetric(SQLModel, table=True):
    """Engine and account metrics on a schedule; ``exchange`` is ``ALL`` for the total."""

    __tablename__ = "system_metrics"
    __table_args__ = (Index("ix_system_metrics_exchange_ts", "exchange", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    ts: int = _ms(index=True)
    exchange: str = "ALL"
    state: str = ""
    equity: float = 0.0
    peak_equity: float = 0.0
    drawdown_bps: float = 0.0
    daily_pnl: float = 0.0
    realized_pnl: float = 0.0
    unrealized_pnl: float = 0.0
    fees: float = 0.0
    open_orders: int = 0
    fills: int = 0
    quote_cycle_ms: float = 0.0


class CircuitBreakerEvent(SQLModel, table=True):
    __tablename__ = "circuit_breaker_events"

    id: int | None = Field(default=None, primary_key=True)
    ts: int = _ms(index=True)
    breaker: str
    state: str  # closed | open | cooling_down
    exchange: str | None = None
    symbol: str | None = None
    value: float | None = None
    threshold: float | None = None
    action: str = ""
    reason: str = ""


class ExchangeHealth(SQLModel, table=True):
    __tablename__ = "exchange_health"
    __table_args__ = (Index("ix_exchange_health_exchange_ts", "exchange", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    ts: int = _ms(index=True)
    exchange: str
    connected: bool = True
    latency_ms: float | None = None
    error_count: int = 0
    success_rate: float = 1.0
    calls_used: int = 0
    calls_limit: int | None = None
    detail: str = ""


class Alert(SQLModel, table=True):
    __tablename__ = "alerts"

    id: int | None = Field(default=None, primary_key=True)
    ts: int = _ms(index=True)
    level: str  # critical | error | warning | info
    kind: str
    message: str
    status: str = "pending"  # pending | sent | failed | suppressed
    attempts: int = 0
    error: str = ""


class BalanceSnapshot(SQLModel, table=True):
    __tablename__ = "balance_snapshots"
    __table_args__ = (Index("ix_balance_snapshots_exchange_ts", "exchange", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    ts: int = _ms(index=True)
    exchange: str
    currency: str
    free: float = 0.0
    used: float = 0.0
    total: float = 0.0
    value_quote: float = 0.0


class EngineState(SQLModel, table=True):
    """Small key/value facts the engine keeps across restarts (start equity, peak equity, run ids)."""

    __tablename__ = "engine_state"

    key: str = Field(primary_key=True)
    value: str
    updated_ms: int = _ms()


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
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=10000")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()
    else:
        engine = create_engine(url, pool_pre_ping=True)
    SQLModel.metadata.create_all(engine)
    _add_missing_columns(engine)
    if scratch is not None:
        weakref.finalize(engine, shutil.rmtree, scratch, True)
    return engine


class StoreUnavailable(RuntimeError):
    """A write to the store failed (locked SQLite past its busy timeout, a full disk, a dropped PostgreSQL
    connection). What was not written is kept in memory and written again on the next try."""

    def __init__(self, what: str, cause: BaseException) -> None:
        reason = str(getattr(cause, "orig", None) or cause).splitlines()[0][:200]
        super().__init__(f"the store could not be written ({what}): {reason}; check the disk space, that the "
                         "database file is writable and not locked by another program, or that PostgreSQL is up")
        self.cause = cause


def save_orders(session: Session, records: list[OrderRecord], check_existing: bool = False) -> list[int]:
    """Write ``records`` (inserts and updates) without attaching them to ``session``: a failed commit then leaves the
    in-memory records whole. Returns the new rows' ids, in the order of the records that had none.

    ``check_existing`` first looks the new records up by client order id (after a commit that failed, the database
    may hold them already)."""
    conn = session.connection()
    new = [r for r in records if r.id is None]
    old = [{**r.model_dump(exclude={"id"}), "b_id": r.id} for r in records if r.id is not None]
    ids: dict[str, int] = {}
    if check_existing and new:
        ids = dict(conn.execute(select(OrderRecord.client_order_id, OrderRecord.id).where(
            OrderRecord.client_order_id.in_([r.client_order_id for r in new]))).all())
        old += [{**r.model_dump(exclude={"id"}), "b_id": ids[r.client_order_id]} for r in new
                if r.client_order_id in ids]
        new = [r for r in new if r.client_order_id not in ids]
    if old:
        conn.execute(_UPDATE_ORDER, old)
    if new:
        rows = conn.execute(_INSERT_ORDER, [r.model_dump(exclude={"id"}) for r in new]).all()
        ids.update({r.client_order_id: row[0] for r, row in zip(new, rows, strict=True)})
    return [ids[r.client_order_id] for r in records if r.id is None]


_ORDERS = OrderRecord.__table__
_UPDATE_ORDER = update(_ORDERS).where(_ORDERS.c.id == bindparam("b_id")).values(
    {c.name: bindparam(c.name) for c in _ORDERS.c if c.name != "id"})  # a Core statement: compiled once, cached
_INSERT_ORDER = insert(_ORDERS).returning(_ORDERS.c.id, sort_by_parameter_order=True)


ADDED_COLUMNS = {"orders": {"ref_mid": "FLOAT"}}  # columns added since the first release, for older stores


def _add_missing_columns(engine: Engine) -> None:
    """A store made by an earlier version gets the columns added since (``create_all`` only creates tables)."""
    insp = inspect(engine)
    for table, columns in ADDED_COLUMNS.items():
        have = {c["name"] for c in insp.get_columns(table)}
        for name, sql_type in columns.items():
            if name not in have:
                with engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {table} ADD COLUMN {name} {sql_type}"))


def get_state(session: Session, key: str) -> str | None:
    row = session.get(EngineState, key)
    return row.value if row else None


def set_state(session: Session, key: str, value: str, now_ms: int) -> None:
    row = session.get(EngineState, key)
    if row is None:
        session.add(EngineState(key=key, value=value, updated_ms=now_ms))
    else:
        row.value = value
        row.updated_ms = now_ms
        session.add(row)


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


__all__ = [
    "Alert", "BalanceSnapshot", "CircuitBreakerEvent", "EngineState", "ExchangeHealth", "OrderRecord",
    "PositionRecord", "SQLAlchemyError", "Session", "StoreOpenError",
    "StoreUnavailable", "SystemMetric", "TradeRecord", "TradingLock",
    "TradingLockError", "get_state", "make_engine", "save_orders", "select", "set_state",
]
