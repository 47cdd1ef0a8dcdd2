"""Latency breaker (seed: > 500 ms pauses that exchange): median request latency over the last minute."""

from __future__ import annotations

from engine.risk.breakers.base import PAUSE_EXCHANGE, Breaker
from engine.risk.model import RiskSnapshot, Scope


class LatencyBreaker(Breaker):
    name = "latency"
    action = PAUSE_EXCHANGE
    unit = "ms"

    def measure(self, now_ms: int, snap: RiskSnapshot) -> list[tuple[Scope, float]]:
        return [(Scope(ex.name), ex.latency_ms) for ex in snap.exchanges.values() if ex.latency_ms is not None]
