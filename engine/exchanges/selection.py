"""Exchange selection (seed 000 "Gestión multi-exchange", seed 003 flow 5), as a pure function.

- FAILOVER: the first healthy exchange, in priority order, that lists the symbol.
- LOAD_BALANCE: among healthy exchanges that list it, by configured weights. A symbol keeps its exchange while that
  stays healthy (the choice is a stable hash of the symbol over the weights), so quoting does not hop each cycle.
- BEST_EXECUTION: the healthy exchange with the best score = success_rate * 100 - latency_ms / 10 - load * 50, where
  load is the share of the exchange's request budget used in the last minute (seed 000: latency, success rate and
  load; an exchange at its budget loses as much as one 500 ms slower).
- SINGLE: the primary exchange only; when it is unhealthy the symbol is not quoted.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

STRATEGIES = ("FAILOVER", "LOAD_BALANCE", "BEST_EXECUTION", "SINGLE")


@dataclass(frozen=True)
class VenueHealth:
    name: str
    healthy: bool  # connected, and no latency or error-rate breaker open on it
    latency_ms: float | None
    success_rate: float
    symbols: frozenset[str]
    load: float = 0.0  # requests in the last minute / the request budget (0: no budget)

    @property
    def score(self) -> float:
        return self.success_rate * 100 - (self.latency_ms or 0.0) / 10 - self.load * 50


def choose(symbol: str, venues: list[VenueHealth], strategy: str,
           weights: dict[str, float] | None = None) -> str | None:
    """The exchange that should quote ``symbol`` now, or None if none may. ``venues`` is in priority order."""
    if strategy not in STRATEGIES:
        raise ValueError(f"selection strategy {strategy!r}: use one of {', '.join(STRATEGIES)}")
    if strategy == "SINGLE":
        primary = venues[0] if venues else None
        return primary.name if primary and primary.healthy and symbol in primary.symbols else None
    candidates = [v for v in venues if v.healthy and symbol in v.symbols]
    if not candidates:
        return None
    if strategy == "FAILOVER":
        return candidates[0].name
    if strategy == "BEST_EXECUTION":
        return max(candidates, key=lambda v: (v.score, -venues.index(v))).name
    w = {v.name: max(0.0, (weights or {}).get(v.name, 1.0)) for v in candidates}
    total = sum(w.values())
    if total <= 0:
        return candidates[0].name
    point = (zlib.crc32(symbol.encode()) % 10_000) / 10_000 * total
    acc = 0.0
    for v in candidates:
        acc += w[v.name]
        if point < acc:
            return v.name
    return candidates[-1].name
