"""Drawdown breaker (seed: DD = (peak - current) / peak * 10000 > 100 bps): the kill switch; manual re-arm only."""

from __future__ import annotations

from engine.risk.breakers.base import KILL, Breaker
from engine.risk.model import RiskSnapshot, Scope


class DrawdownBreaker(Breaker):
    name = "drawdown"
    action = KILL
    unit = "bps"
    manual_rearm = True

    def measure(self, now_ms: int, snap: RiskSnapshot) -> list[tuple[Scope, float]]:
        dd = snap.drawdown_bps
        return [] if dd is None else [(Scope(), dd)]
