"""The store's tables (SQLModel). Times are integer milliseconds since the epoch (UTC), indexed for the console's
time-range queries."""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel


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
    # spread capture: what the fill earned against the mid its order was priced at (negative for a taker)
    edge: float | None = 0.0
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
    # seed 003's operational and technical figures (engine/metrics_board.py); older stores get the columns at start
    fills_per_minute: float | None = None
    volume_usd: float | None = None
    quoted_spread_bps: float | None = None
    latency_ms: float | None = None
    success_rate: float | None = None
    api_calls: int | None = None
    sharpe: float | None = None


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


class SignalRecord(SQLModel, table=True):
    """Every BUY, SELL or CLOSE a directional strategy gave, the checks' decision and why, the orders it led to, and
    (for an entry) the exits the engine holds until the position is closed (seed 004)."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_exchange_symbol_ts", "exchange", "symbol", "ts"),)

    id: int | None = Field(default=None, primary_key=True)
    ts: int = _ms(index=True)
    exchange: str
    symbol: str = Field(index=True)
    strategy: str
    type: str  # BUY | SELL | CLOSE
    confidence: float = 0.0
    entry: float | None = None
    stop_loss: float | None = None
    take_profit: float | None = None
    reasoning: str = ""
    decision: str = ""  # approved | refused | executed (a CLOSE)
    reason: str = ""  # the checks' verdict, e.g. "Portfolio REJECTED: exposure $1,100 > max $1,000 ..."
    amount: float = 0.0
    order_ids: str = ""  # client order ids, comma separated
    status: str = ""  # open (its exits held) | closed | "" (refused, or a CLOSE)
    exit_reason: str = ""  # stop loss | take profit | opposite signal | ...
    closed_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


class BacktestRun(SQLModel, table=True):
    """A kept backtest (the strategy lab): what was run (data, symbols, strategy, params, venue models) and its
    summary, as JSON; ``net_pnl`` as a column so runs sort without reading the JSON. Sweep points share ``sweep``."""

    __tablename__ = "backtest_runs"

    id: int | None = Field(default=None, primary_key=True)
    created_ms: int = _ms(index=True)
    name: str = ""
    sweep: str | None = Field(default=None, index=True)
    status: str = "done"  # done | cancelled | failed
    strategy: str = "market_making"
    data: str = "[]"
    symbols: str = "[]"
    params: str = "{}"
    models: str = "{}"
    summary: str = "{}"
    net_pnl: float | None = None


class BacktestSeries(SQLModel, table=True):
    """One series of a kept run (``equity``, ``mids``, ``inventory``, ``quotes``, ``fills``) as JSON."""

    __tablename__ = "backtest_series"

    id: int | None = Field(default=None, primary_key=True)
    run_id: int = Field(index=True)
    kind: str
    payload: str = "[]"


class FundingPayment(SQLModel, table=True):
    """Funding settled on a perpetual position (seed 000 ``funding``): + received, - paid, in ``currency``."""

    __tablename__ = "funding_payments"
    __table_args__ = (UniqueConstraint("exchange", "payment_id", name="uq_funding_exchange_payment"),)

    id: int | None = Field(default=None, primary_key=True)
    exchange: str
    symbol: str = Field(index=True)
    payment_id: str
    amount: float
    currency: str | None = None
    rate: float | None = None
    ts: int = _ms(index=True)


class ArbitrageTrade(SQLModel, table=True):
    """One cross-exchange arbitrage (seed 000 ``cross_exchange_arbitrage``): both legs' client ids and fills, the
    unwind of a leg left unhedged, and how it ended (``status``: buying, selling, unwinding, done, missed, unwound,
    unhedged)."""

    __tablename__ = "arbitrage_trades"

    id: int | None = Field(default=None, primary_key=True)
    ts: int = _ms(index=True)
    symbol: str = Field(index=True)
    buy_exchange: str
    sell_exchange: str
    amount: float
    buy_price: float
    sell_price: float
    edge_bps: float
    status: str = "buying"
    buy_client_id: str | None = None
    buy_filled: float = 0.0
    sell_client_id: str | None = None
    sell_filled: float = 0.0
    unwind_client_id: str | None = None
    unwind_filled: float = 0.0
    pnl: float | None = None  # sold minus bought at the fill prices, less fees (quote currency)
    note: str = ""
    updated_ms: int = _ms()
