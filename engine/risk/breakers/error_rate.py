"""Error-rate breaker (seed: > 10% disables that exchange for a while): failed share of recent requests."""

from __future__ import annotations

from engine.risk.breakers.base import DISABLE_EXCHANGE, Breaker
from engine.risk.model import RiskSnapshot, Scope


class ErrorRateBreaker(Breaker):
    name = "error_rate"
    action = DISABLE_EXCHANGE
    unit = ""

    def measure(self, now_ms: int, snap: RiskSnapshot) -> list[tuple[Scope, float]]:
        return [(Scope(ex.name), ex.error_rate) for ex in snap.exchanges.values() if ex.error_rate is not None]
