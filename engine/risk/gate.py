"""What the risk manager allows the trader to quote right now; the trader asks before every cycle."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RiskGate:
    """Set by the risk cycle, read by the quoting cycle (plain assignments: safe across the two threads)."""

    exchange_block: str | None = None  # reason, while a latency or error-rate breaker is open
    symbol_blocks: dict[str, str] = field(default_factory=dict)  # symbol -> reason (spread breaker)
    side_blocks: dict[str, set[str]] = field(default_factory=dict)  # symbol -> sides that would grow a capped inventory
    size_factors: dict[str, float] = field(default_factory=dict)  # symbol -> multiplier (volatility breaker)
    portfolio: Callable[[str, str, float], str | None] | None = None  # (symbol, side, notional) -> refusal reason
    portfolio_view: Any = None  # engine.risk.signal_checks.PortfolioView: what directional signals are checked on
    max_orders_per_symbol: int | None = None  # the order cap: the ladder is cut to the levels nearest the mid
    route_blocks: dict[str, str] = field(default_factory=dict)  # symbol -> "routed to <exchange>" (selection)
    operator_block: str | None = None  # "disconnected by the operator"
    symbol_pauses: dict[str, str] = field(default_factory=dict)  # symbol -> why the operator stopped quoting it

    def blocked(self, symbol: str) -> str | None:
        return (self.operator_block or self.exchange_block or self.symbol_pauses.get(symbol)
                or self.symbol_blocks.get(symbol) or self.route_blocks.get(symbol))


class RollingRange:
    """Highest and lowest mid over a sliding window: the volatility breaker's fast view of the price range.

    Two monotonic queues (ascending lows, descending highs) make each update and each query O(1) amortized.
    """

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._lows: deque[tuple[int, float]] = deque()
        self._highs: deque[tuple[int, float]] = deque()

    def add(self, ts_ms: int, price: float) -> None:
        lows, highs = self._lows, self._highs
        while lows and lows[-1][1] >= price:
            lows.pop()
        lows.append((ts_ms, price))
        while highs and highs[-1][1] <= price:
            highs.pop()
        highs.append((ts_ms, price))
        self._trim(ts_ms)

    def _trim(self, now_ms: int) -> None:
        cutoff = now_ms - self.window_ms
        while self._lows and self._lows[0][0] < cutoff:
            self._lows.popleft()
        while self._highs and self._highs[0][0] < cutoff:
            self._highs.popleft()

    def range_pct(self, now_ms: int) -> float | None:
        self._trim(now_ms)
        if not self._lows:
            return None
        low, high = self._lows[0][1], self._highs[0][1]
        return (high - low) / low * 100 if low > 0 else None
