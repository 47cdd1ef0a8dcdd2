"""The simulated venue's request wrapper (latency, rate limit, injected errors, market sync, save) and its limits."""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from typing import Any, TypeVar

import ccxt

from engine.exchanges.sim.latency import ORDER_ENTRY

log = logging.getLogger("engine.exchanges.sim.venue")

F = TypeVar("F", bound=Callable[..., Any])
CLIENT_ID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
ORDER_PARAMS = {"postOnly", "reduceOnly", "clientOrderId", "positionSide", "timeInForce", "triggerPrice",
                "stopLossPrice", "takeProfitPrice"}
TRIGGER_PARAMS = ("stopLossPrice", "takeProfitPrice", "triggerPrice")
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PO")
PUBLIC_TRADES_KEPT = 1000
MY_TRADES_KEPT = 50_000  # own trades kept (memory and state file), newest
CLOSED_ORDERS_KEPT = 20_000  # closed/canceled orders kept; older ones are forgotten like on a real venue


def _api(method: F) -> F:
    """Wrap a public call: latency, rate limit and injected errors, then market sync, then save."""
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        faults = self._faults
        if faults is not None:
            delay = faults.latency_s() + self._spike_s(self.clock.now_ms())
            if delay:
                self.clock.sleep(delay)
        back_s = 0.0
        if self._latency is not None and name in ORDER_ENTRY and not self._depth:
            with self._lock:
                self._sync()  # the feed's delay as of the moment the request leaves
            there_s, back_s = self._latency.delays_s(self.source)
            self.clock.sleep(there_s)  # the market runs on while the request travels
        try:
            with self._lock:
                if self._depth:  # a call from inside another call: no second fault draw, no second save
                    return method(self, *args, **kwargs)
                self._depth += 1
                try:
                    late_timeout = False
                    if faults is not None:
                        faults.check_rate_limit(name)
                        error = faults.draw_error(name) or self._burst_error(name)
                        if error is not None:
                            if error is ccxt.RequestTimeout and name == "create_order" and \
                                    faults.timeout_after_accept():
                                late_timeout = True
                            else:
                                raise error(f"sim {name}: injected {error.__name__} (faults are configured)")
                    self._sync()
                    result = method(self, *args, **kwargs)
                    if late_timeout:
                        raise ccxt.RequestTimeout(f"sim {name}: injected RequestTimeout after the venue accepted it")
                    return result
                finally:
                    self._depth -= 1
                    self._flush()
        finally:
            if back_s:
                self.clock.sleep(back_s)  # the answer's way back

    return wrapper  # type: ignore[return-value]
