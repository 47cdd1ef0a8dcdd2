"""Spread breaker (seed: > 20 bps cancels that symbol's open orders): the market's own bid-ask spread."""

from __future__ import annotations

from engine.risk.breakers.base import CANCEL_SYMBOL, Breaker
from engine.risk.model import RiskSnapshot, Scope


class SpreadBreaker(Breaker):
    name = "spread"
    action = CANCEL_SYMBOL
    unit = "bps"

    def measure(self, now_ms: int, snap: RiskSnapshot) -> list[tuple[Scope, float]]:
        return [(Scope(s.exchange, s.symbol), s.spread_bps) for s in snap.symbols.values() if s.spread_bps is not None]
