"""The metrics the metrics job computes and keeps in memory (seed 003 "Métricas y monitoreo"): financial (equity,
total and daily PnL, fees, drawdown, a rolling Sharpe), operational (open orders, positions, fills per minute,
volume, our quoted spread) and technical (latency, error and success rate, API calls, uptime). The dashboard and the
Prometheus exporter (:mod:`engine.prometheus`) read the last :class:`Board`; the job replaces it whole, so a reader
in another thread never sees half an update."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from engine.analytics import sharpe


@dataclass(frozen=True)
class VenueFigures:
    """One exchange's figures at one metrics cycle."""

    equity: float = 0.0
    net_pnl: float = 0.0  # realized + unrealized - fees
    fees: float = 0.0
    volume: float = 0.0  # traded notional, all time (the store's fills)
    fills: int = 0
    fills_per_minute: float = 0.0
    latency_ms: float | None = None
    success_rate: float | None = None  # last minute
    calls_last_minute: int = 0
    requests: int = 0
    errors: int = 0
    orders_open: dict[str, int] = field(default_factory=dict)  # symbol -> live orders
    positions: dict[str, tuple[float, float]] = field(default_factory=dict)  # symbol -> (amount, USD at the mid)
    quoted_spread_bps: dict[str, float] = field(default_factory=dict)  # symbol -> our best ask - best bid, bps
    volume_by_symbol: dict[str, float] = field(default_factory=dict)
    fills_by_symbol: dict[str, int] = field(default_factory=dict)
    fees_by_symbol: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Board:
    """Every figure of the last metrics cycle (``ts`` 0: none yet)."""

    ts: int = 0
    state: str = "STOPPED"
    equity: float = 0.0
    daily_pnl: float = 0.0
    net_pnl: float = 0.0
    fees: float = 0.0
    drawdown_bps: float = 0.0
    sharpe: float | None = None
    sharpe_window_min: int = 60
    uptime_s: float = 0.0
    quote_cycle_ms: float = 0.0
    venues: dict[str, VenueFigures] = field(default_factory=dict)


class BoardKeeper:
    """The rolling state behind the board: equity over the Sharpe window, fill counts over the last minute."""

    def __init__(self, sharpe_window_min: int = 60) -> None:
        self.window_ms = sharpe_window_min * 60_000
        self.window_min = sharpe_window_min
        self._equity: deque[tuple[int, float]] = deque()
        self._fills: dict[str, deque[tuple[int, int]]] = {}
        self.board = Board(sharpe_window_min=sharpe_window_min)

    def fills_per_minute(self, venue: str, now_ms: int, fills: int) -> float:
        seen = self._fills.setdefault(venue, deque())
        seen.append((now_ms, fills))
        while len(seen) > 1 and seen[1][0] <= now_ms - 60_000:
            seen.popleft()
        (t0, f0) = seen[0]
        span = max(now_ms - t0, 1)
        return (fills - f0) * 60_000 / span if now_ms > t0 else 0.0

    def publish(self, now_ms: int, interval_s: float, **figures: Any) -> Board:
        """Take this cycle's figures; returns (and keeps) the new board with the rolling Sharpe."""
        self._equity.append((now_ms, figures["equity"]))
        while self._equity and self._equity[0][0] < now_ms - self.window_ms:
            self._equity.popleft()
        ratio = sharpe([e for _, e in self._equity], interval_s) if len(self._equity) >= 3 else None
        self.board = Board(ts=now_ms, sharpe=ratio, sharpe_window_min=self.window_min, **figures)
        return self.board


def quoted_spread_bps(orders: Any, mids: dict[str, float]) -> dict[str, float]:
    """Per symbol with both sides quoted: our best ask minus our best bid, in bps of the mid."""
    best: dict[str, list[float | None]] = {}
    for o in orders:
        if o.price is None or o.level < 0 or o.status not in ("open", "pending"):
            continue
        b = best.setdefault(o.symbol, [None, None])
        if o.side == "buy":
            b[0] = o.price if b[0] is None else max(b[0], o.price)
        else:
            b[1] = o.price if b[1] is None else min(b[1], o.price)
    return {s: (a - b) / mids[s] * 1e4 for s, (b, a) in best.items() if a and b and mids.get(s)}


def operations(engine: Any) -> dict:
    """The metrics job's operational and technical figures (:mod:`engine.metrics_board`), over every venue: fills per
    minute, volume, median quoted spread, the slowest venue's latency, the lowest success rate, API calls in the last
    minute, uptime, the rolling Sharpe; and where Prometheus scrapes them (empty when off)."""
    out = operations_of(engine.board_keeper.board)
    out["prometheus"] = engine.exporter.url if engine.exporter is not None else ""
    return out


def operations_of(b: Board) -> dict:
    """:func:`operations` of one board (without the exporter's address)."""
    vs = list(b.venues.values())
    spreads = sorted(x for v in vs for x in v.quoted_spread_bps.values())
    latencies = [v.latency_ms for v in vs if v.latency_ms is not None]
    rates = [v.success_rate for v in vs if v.success_rate is not None]
    return {"ts": b.ts, "fills_per_minute": sum(v.fills_per_minute for v in vs), "volume": sum(v.volume for v in vs),
            "quoted_spread_bps": spreads[len(spreads) // 2] if spreads else None,
            "latency_ms": max(latencies) if latencies else None, "success_rate": min(rates) if rates else None,
            "calls_last_minute": sum(v.calls_last_minute for v in vs), "uptime_s": b.uptime_s, "sharpe": b.sharpe,
            "sharpe_window_min": b.sharpe_window_min}
