"""Every request to an exchange, timed and counted: what the latency and error-rate breakers read.

:class:`MeteredExchange` wraps a ccxt exchange; each unified-API call is timed on the engine's clock (so a
simulated clock measures simulated latency) and counted as a success or a transient failure (ccxt's
``NetworkError`` family: timeouts, unavailability, rate limits). Business refusals such as ``InvalidOrder`` are
answers, not failures of the connection, and count as successes.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter, deque
from typing import Any

import ccxt

from engine.clock import Clock, WallClock

METERED_PREFIXES = ("fetch_", "create_", "cancel_", "set_", "load_markets")
RECENT = 20  # latency is the median of this many latest successful requests


class RequestMeter:
    """A sliding window of (time, latency ms, ok) for one exchange."""

    def __init__(self, window_ms: int = 60_000) -> None:
        self.window_ms = window_ms
        self._calls: deque[tuple[int, float, bool]] = deque()
        self._recent_ok: deque[tuple[int, float]] = deque(maxlen=RECENT)
        self._window_failures = 0
        self._lock = threading.Lock()
        self.total = 0
        self.failures = 0
        self.observer: Any = None  # called with (latency ms, ok) per request (the Prometheus histogram)

    def record(self, ts_ms: int, latency_ms: float, ok: bool) -> None:
        with self._lock:
            self._calls.append((ts_ms, latency_ms, ok))
            self.total += 1
            if ok:
                self._recent_ok.append((ts_ms, latency_ms))
            else:
                self.failures += 1
                self._window_failures += 1
            self._trim(ts_ms)
        if self.observer is not None:
            self.observer(latency_ms, ok)

    def _trim(self, now_ms: int) -> None:
        calls = self._calls
        while calls and calls[0][0] < now_ms - self.window_ms:
            if not calls.popleft()[2]:
                self._window_failures -= 1

    def window(self, now_ms: int) -> list[tuple[int, float, bool]]:
        with self._lock:
            self._trim(now_ms)
            return list(self._calls)

    def error_rate(self, now_ms: int, min_requests: int = 1, window_ms: int | None = None) -> float | None:
        """Share of failed requests in the last ``window_ms`` (default: the meter's window; a longer one widens the
        meter's, ``risk.error_window_s``); None on fewer than ``min_requests`` requests."""
        with self._lock:
            if window_ms is not None and window_ms > self.window_ms:
                self.window_ms = window_ms  # keep enough history from now on
            self._trim(now_ms)
            if window_ms is None or window_ms >= self.window_ms:
                n, failed = len(self._calls), self._window_failures
            else:
                recent = [ok for ts, _, ok in self._calls if ts >= now_ms - window_ms]
                n, failed = len(recent), recent.count(False)
            if n < max(min_requests, 1):
                return None
            return failed / n

    def latency_ms(self, now_ms: int) -> float | None:
        """Median latency of the latest ``RECENT`` successful requests within the window.

        By count, not by time: a slow exchange answers fewer requests per minute, so a median over the whole
        window would let the fast requests from before a slowdown outvote the slow ones it is having now.
        """
        with self._lock:
            lat = [lat for ts, lat in self._recent_ok if ts >= now_ms - self.window_ms]
        return statistics.median(lat) if lat else None

    def count(self, now_ms: int) -> int:
        """Requests in the last minute (what a per-minute budget counts)."""
        with self._lock:
            self._trim(now_ms)
            if self.window_ms == 60_000:
                return len(self._calls)
            return sum(1 for ts, _, _ in self._calls if ts >= now_ms - 60_000)


ORDER_PREFIXES = ("create_", "cancel_")
DATA_SHARE = 0.8  # market and account data may use this share of the budget; orders may use all of it


class BudgetExceeded(ccxt.RateLimitExceeded):
    """Refused locally: this request would exceed the exchange's per-minute request budget."""


class MeteredExchange:
    """A transparent proxy over a ccxt exchange that meters its API calls and keeps them within a budget.

    ``budget_per_min`` (None: no budget) caps requests per rolling minute. Data requests may use ``DATA_SHARE`` of
    it; order requests (create, cancel) may use all of it, so a data burst can never lock out a cancel.
    """

    def __init__(self, exchange: ccxt.Exchange, clock: Clock, meter: RequestMeter | None = None,
                 budget_per_min: int | None = None) -> None:
        self._ex = exchange
        self._clock = clock
        self.meter = meter or RequestMeter()
        self._wall = isinstance(clock, WallClock)
        self.budget_per_min = budget_per_min
        self.refused = 0
        self.by_method: Counter[str] = Counter()

    @property
    def raw(self) -> ccxt.Exchange:
        return self._ex

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._ex, name)
        if not callable(attr) or not name.startswith(METERED_PREFIXES):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            if self.budget_per_min:
                used = self.meter.count(self._clock.now_ms())
                is_order = name.startswith(ORDER_PREFIXES)
                limit = self.budget_per_min if is_order else int(self.budget_per_min * DATA_SHARE)
                if used >= limit:
                    self.refused += 1
                    raise BudgetExceeded(f"{self._ex.id} {name}: {used} requests in the last minute; the budget "
                                         f"leaves {limit} for {'orders' if limit == self.budget_per_min else 'data'}")
            t0 = time.perf_counter() if self._wall else self._clock.now_ms()
            self.by_method[name] += 1
            ok = True
            try:
                return attr(*args, **kwargs)
            except ccxt.NetworkError:
                ok = False
                raise
            finally:
                now = self._clock.now_ms()
                latency = (time.perf_counter() - t0) * 1000 if self._wall else float(now - t0)
                self.meter.record(now, latency, ok)

        return call
