"""Faults on purpose: latency, per-method error rates and a request-rate limit.

Errors are ccxt's own exception classes, so code written against a real venue handles them unchanged.
"""

from __future__ import annotations

import random
from collections import deque

import ccxt

from engine.clock import Clock
from engine.exchanges.sim.config import FaultsConfig

ERRORS: dict[str, type[ccxt.BaseError]] = {
    "NetworkError": ccxt.NetworkError,
    "RequestTimeout": ccxt.RequestTimeout,
    "RateLimitExceeded": ccxt.RateLimitExceeded,
    "ExchangeNotAvailable": ccxt.ExchangeNotAvailable,
}


class FaultInjector:
    """Decides, per request, the latency it suffers and whether it fails."""

    def __init__(self, cfg: FaultsConfig, seed: int, clock: Clock) -> None:
        self.cfg = cfg
        self.rng = random.Random(seed ^ 0x5EED)
        self.clock = clock
        self._window: deque[int] = deque()
        self.injected: dict[str, int] = {}

    def latency_s(self) -> float:
        cfg = self.cfg
        if not (cfg.latency_ms or cfg.jitter_ms):
            return 0.0
        return (cfg.latency_ms + self.rng.uniform(0.0, cfg.jitter_ms)) / 1000.0

    def check_rate_limit(self, method: str) -> None:
        limit = self.cfg.rate_limit_per_minute
        if not limit:
            return
        now = self.clock.now_ms()
        window = self._window
        while window and window[0] <= now - 60_000:
            window.popleft()
        if len(window) >= limit:
            retry = (window[0] + 60_000 - now) / 1000.0
            self._count("RateLimitExceeded")
            raise ccxt.RateLimitExceeded(
                f"sim {method}: request rate limit of {limit}/min exceeded; retry in {retry:.1f}s"
            )
        window.append(now)

    def draw_error(self, method: str) -> type[ccxt.BaseError] | None:
        """The ccxt exception class this call should fail with, or None."""
        rates = self.cfg.error_rates
        if not rates:
            return None
        rate = rates.get(method, rates.get("*", 0.0))
        if rate <= 0 or self.rng.random() >= rate:
            return None
        name = self.rng.choice(self.cfg.error_types)
        self._count(name)
        return ERRORS[name]

    def draw_burst(self, method: str, rate: float) -> type[ccxt.BaseError] | None:
        """An error from a scripted burst: network-level failures only."""
        if self.rng.random() >= rate:
            return None
        name = self.rng.choice(("NetworkError", "RequestTimeout", "ExchangeNotAvailable"))
        self._count(name)
        return ERRORS[name]

    def timeout_after_accept(self) -> bool:
        """Whether a timed-out create_order had in fact reached the venue (the dangerous case)."""
        return self.rng.random() < self.cfg.timeout_after_accept

    def _count(self, name: str) -> None:
        self.injected[name] = self.injected.get(name, 0) + 1
