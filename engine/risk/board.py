"""The breakers' states: closed -> open -> cooling down -> closed, and the transitions the engine records.

A breaker opens when a decision trips it and stays open at least its cooldown after the last trip. Once its
condition clears it cools down until that time, then closes; tripping again while cooling re-opens it. A breaker
with manual re-arm (drawdown) stays open until :meth:`BreakerBoard.rearm`.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.risk.breakers.base import Breaker
from engine.risk.model import Decision, Scope

CLOSED, OPEN, COOLING = "closed", "open", "cooling_down"


@dataclass
class BreakerStatus:
    breaker: str
    scope: Scope
    state: str
    action: str
    threshold: float
    value: float
    opened_ms: int
    until_ms: int | None  # None: until re-armed by hand
    reason: str = ""

    def remaining_s(self, now_ms: int) -> float | None:
        return None if self.until_ms is None else max(0.0, (self.until_ms - now_ms) / 1000)


@dataclass(frozen=True)
class Transition:
    status: BreakerStatus
    previous: str
    state: str


class BreakerBoard:
    def __init__(self, breakers: list[Breaker]) -> None:
        self.breakers = {b.name: b for b in breakers}
        self.statuses: dict[tuple[str, Scope], BreakerStatus] = {}

    def update(self, now_ms: int, decisions: list[Decision]) -> list[Transition]:
        """Apply one cycle's decisions; returns every state change."""
        out: list[Transition] = []
        seen = set()
        for d in decisions:
            key = (d.breaker, d.scope)
            seen.add(key)
            b = self.breakers[d.breaker]
            st = self.statuses.get(key)
            if d.tripped:
                until = None if b.manual_rearm else now_ms + b.cooldown_ms
                if st is None or st.state == CLOSED:
                    st = BreakerStatus(d.breaker, d.scope, OPEN, d.action, d.threshold, d.value, now_ms, until,
                                       d.reason)
                    self.statuses[key] = st
                    out.append(Transition(st, CLOSED, OPEN))
                else:
                    previous = st.state
                    st.value, st.reason = d.value, d.reason
                    if st.until_ms is not None:
                        st.until_ms = until
                    if previous == COOLING:
                        st.state = OPEN
                        out.append(Transition(st, COOLING, OPEN))
            elif st is not None and st.state != CLOSED:
                st.value = d.value
                out.extend(self._cool(st, now_ms))
        for key, st in self.statuses.items():  # scopes without a reading this cycle still cool down
            if key not in seen and st.state != CLOSED:
                out.extend(self._cool(st, now_ms))
        return out

    @staticmethod
    def _cool(st: BreakerStatus, now_ms: int) -> list[Transition]:
        if st.until_ms is None:
            return []  # manual re-arm only
        previous = st.state
        if now_ms >= st.until_ms:
            st.state = CLOSED
            return [Transition(st, previous, CLOSED)]
        if previous == OPEN:
            st.state = COOLING
            return [Transition(st, OPEN, COOLING)]
        return []

    def rearm(self, breaker: str | None = None) -> list[Transition]:
        """Close open breakers by hand (all, or those of one name); the drawdown breaker closes only this way."""
        out = []
        for st in self.statuses.values():
            if st.state != CLOSED and (breaker is None or st.breaker == breaker):
                previous, st.state = st.state, CLOSED
                out.append(Transition(st, previous, CLOSED))
        return out

    def active(self, action: str | None = None) -> list[BreakerStatus]:
        """Open or cooling-down breakers (their action stays in force until they close)."""
        return [s for s in self.statuses.values() if s.state != CLOSED and (action is None or s.action == action)]
