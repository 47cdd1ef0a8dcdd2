"""Order latency on the simulated venue: how long a request takes to reach the matching engine and to come back.

A replay runs on the capture's receive times, so the engine sees each update when it arrived; the exchange saw it
``feed`` ms earlier. An order sent at local time ``t`` reaches the matching engine at exchange time ``t + entry``,
which is local time ``t + entry + feed``: the venue lets the market run that long before the order joins (or a
cancel takes effect), then the answer needs ``response`` more, of which ``feed`` has already passed. With a
simulated clock none of this costs real time."""

from __future__ import annotations

import math
import random
from typing import Any

from engine.exchanges.sim.config import LatencyConfig

ORDER_ENTRY = frozenset({"create_order", "cancel_order", "cancel_all_orders"})


class OrderLatency:
    """Draws each request's entry and response delay (constant, or lognormal around the configured means)."""

    def __init__(self, cfg: LatencyConfig, seed: int) -> None:
        self.cfg = cfg
        self._rng = random.Random(seed * 7919 + 17)
        self._mean_fix = math.exp(-cfg.jitter ** 2 / 2)  # keeps the lognormal draw's mean at the configured value

    def _draw(self, ms: float) -> float:
        if not ms or not self.cfg.jitter:
            return ms
        return ms * self._mean_fix * self._rng.lognormvariate(0.0, self.cfg.jitter)

    def feed_ms(self, source: Any) -> float:
        if self.cfg.feed != "capture":
            return float(self.cfg.feed)
        measured = getattr(source, "feed_latency_ms", None)
        return max(float(measured()), 0.0) if measured is not None else 0.0

    def delays_s(self, source: Any) -> tuple[float, float]:
        """(wait before the request acts, wait after it acted) in seconds, for one request."""
        feed = self.feed_ms(source)
        entry, response = self._draw(self.cfg.entry_ms), self._draw(self.cfg.response_ms)
        return (entry + feed) / 1000, max(response - feed, 0.0) / 1000
