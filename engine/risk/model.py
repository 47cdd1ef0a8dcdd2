"""What the risk cycle sees (a snapshot) and what a breaker says about it (a frozen decision)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scope:
    """Where a breaker reading applies: a whole account (both None), an exchange, or one symbol on it."""

    exchange: str | None = None
    symbol: str | None = None

    def __str__(self) -> str:
        if self.symbol:
            return f"{self.exchange}:{self.symbol}"
        return self.exchange or "all"


@dataclass(frozen=True)
class SymbolSnapshot:
    exchange: str
    symbol: str
    mid: float | None
    spread_bps: float | None
    range_pct: float | None  # high-low range over the volatility window, in percent of the low
    inventory: float  # signed, in amount units
    inventory_usd: float  # signed
    open_orders: int


@dataclass(frozen=True)
class ExchangeSnapshot:
    name: str
    latency_ms: float | None
    error_rate: float | None
    requests: int
    connected: bool
    equity: float | None
    realized_pnl: float = 0.0
    unrealized_pnl: float = 0.0
    fees: float = 0.0


@dataclass(frozen=True)
class RiskSnapshot:
    now_ms: int
    exchanges: dict[str, ExchangeSnapshot] = field(default_factory=dict)
    symbols: dict[tuple[str, str], SymbolSnapshot] = field(default_factory=dict)
    equity: float | None = None
    peak_equity: float | None = None

    @property
    def drawdown_bps(self) -> float | None:
        if not self.equity or not self.peak_equity or self.peak_equity <= 0:
            return None
        return max(0.0, (self.peak_equity - self.equity) / self.peak_equity * 1e4)


@dataclass(frozen=True)
class Decision:
    """One breaker's verdict on one scope: ``tripped`` when the measured value reached the threshold."""

    breaker: str
    scope: Scope
    value: float
    threshold: float
    tripped: bool
    action: str
    unit: str

    @property
    def reason(self) -> str:
        verb = ">=" if self.tripped else "<"
        return f"{self.breaker} {self.value:.4g}{self.unit} {verb} {self.threshold:.4g}{self.unit} on {self.scope}"
