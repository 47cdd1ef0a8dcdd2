"""Volatility breaker (seed: > 5% reduces order sizes): the high-low range of the recent one-minute candles."""

from __future__ import annotations

from engine.risk.breakers.base import REDUCE_SIZE, Breaker
from engine.risk.model import RiskSnapshot, Scope


class VolatilityBreaker(Breaker):
    name = "volatility"
    action = REDUCE_SIZE
    unit = "%"

    def measure(self, now_ms: int, snap: RiskSnapshot) -> list[tuple[Scope, float]]:
        return [(Scope(s.exchange, s.symbol), s.range_pct) for s in snap.symbols.values() if s.range_pct is not None]
