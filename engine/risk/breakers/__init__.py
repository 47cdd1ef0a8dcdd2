"""The circuit breakers, one file each; :func:`load_breakers` builds the enabled ones from the settings."""

from __future__ import annotations

from engine.config import RiskSettings
from engine.risk.breakers.base import Breaker
from engine.risk.breakers.drawdown import DrawdownBreaker
from engine.risk.breakers.error_rate import ErrorRateBreaker
from engine.risk.breakers.latency import LatencyBreaker
from engine.risk.breakers.spread import SpreadBreaker
from engine.risk.breakers.volatility import VolatilityBreaker

ALL: tuple[type[Breaker], ...] = (LatencyBreaker, SpreadBreaker, VolatilityBreaker, ErrorRateBreaker, DrawdownBreaker)


def load_breakers(risk: RiskSettings) -> list[Breaker]:
    return [cls(risk.breakers[cls.name], risk) for cls in ALL if risk.breakers[cls.name].enabled]


__all__ = ["ALL", "Breaker", "load_breakers"]
