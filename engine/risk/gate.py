"""What the risk manager allows the trader to quote right now; the trader asks before every cycle."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class RiskGate:
    """Set by the risk cycle, read by the quoting cycle (plain assignments: safe across the two threads)."""

    exchange_block: str | None = None  # reason, while a latency or error-rate breaker is open
    symbol_blocks: dict[str, str] = field(default_factory=dict)  # symbol -> reason (spread breaker)
    side_blocks: dict[str, set[str]] = field(default_factory=dict)  # symbol -> sides that would grow a capped inventory
    size_factors: dict[str, float] = field(default_factory=dict)  # symbol -> multiplier (volatility breaker)
    portfolio: Callable[[str, str, float], str | None] | None = None  # (symbol, side, notional) -> refusal reason
    max_orders_per_symbol: int | None = None  # the order cap: the ladder is cut to the levels nearest the mid

    def blocked(self, symbol: str) -> str | None:
        return self.exchange_block or self.symbol_blocks.get(symbol)


class RollingRange:
    """Highest and lowest mid per second over a window: the volatility breaker's fast view of the price range."""

    def __init__(self, window_ms: int) -> None:
        self.window_ms = window_ms
        self._buckets: deque[list[float]] = deque()  # [second, low, high]

    def add(self, ts_ms: int, price: float) -> None:
        second = ts_ms // 1000
        b = self._buckets
        if b and b[-1][0] == second:
            last = b[-1]
            if price < last[1]:
                last[1] = price
            if price > last[2]:
                last[2] = price
        else:
            b.append([second, price, price])
            cutoff = (ts_ms - self.window_ms) // 1000
            while b and b[0][0] < cutoff:
                b.popleft()

    def range_pct(self, now_ms: int) -> float | None:
        cutoff = (now_ms - self.window_ms) // 1000
        lows = [lo for s, lo, _ in self._buckets if s >= cutoff]
        if not lows:
            return None
        low = min(lows)
        high = max(hi for s, _, hi in self._buckets if s >= cutoff)
        return (high - low) / low * 100 if low > 0 else None
