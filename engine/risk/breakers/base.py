"""A circuit breaker is a small plugin: ``evaluate(now_ms, snapshot)`` -> frozen decisions, one per scope.

To add one, write a file beside this one with a subclass that names itself, its action and its unit and
implements :meth:`Breaker.measure`, then list it in ``breakers/__init__.py``.
"""

from __future__ import annotations

from typing import ClassVar

from engine.config import BreakerSettings, RiskSettings
from engine.risk.model import Decision, RiskSnapshot, Scope

# What the engine does while a breaker is open (see engine/risk/manager.py).
PAUSE_EXCHANGE = "pause_exchange"
CANCEL_SYMBOL = "cancel_symbol"
REDUCE_SIZE = "reduce_size"
DISABLE_EXCHANGE = "disable_exchange"
KILL = "kill"


class Breaker:
    name: ClassVar[str]
    action: ClassVar[str]
    unit: ClassVar[str] = ""
    manual_rearm: ClassVar[bool] = False  # True: once open, only an operator closes it

    def __init__(self, settings: BreakerSettings, risk: RiskSettings) -> None:
        self.settings = settings
        self.risk = risk

    @property
    def threshold(self) -> float:
        return self.settings.threshold

    @property
    def cooldown_ms(self) -> int:
        return int(self.settings.cooldown_s * 1000)

    def measure(self, now_ms: int, snap: RiskSnapshot) -> list[tuple[Scope, float]]:
        """The measured value per scope; scopes without data are left out."""
        raise NotImplementedError

    def evaluate(self, now_ms: int, snap: RiskSnapshot) -> tuple[Decision, ...]:
        """Trips where the value reached the threshold (value >= threshold)."""
        return tuple(Decision(self.name, scope, value, self.threshold, value >= self.threshold, self.action, self.unit)
                     for scope, value in self.measure(now_ms, snap))
