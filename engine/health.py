"""Exchange health (every 30 s: latency of a signed request, errors, budget) and routing of each symbol to one venue
(FAILOVER, LOAD_BALANCE, BEST_EXECUTION, SINGLE)."""

from __future__ import annotations

import logging

import ccxt
from sqlmodel import Session

from engine.store import (
    ExchangeHealth,
)

log = logging.getLogger("engine.runtime")


class HealthRouting:
    """Health checks and routing of :class:`engine.runtime.Engine`."""

    def health_cycle(self) -> None:
        """Every venue (seed 003, every 30 s): latency of a cheap authenticated request (the balance; the server
        time where no key is configured), connected, errors, success rate, calls used in the last minute against
        the budget; one ``exchange_health`` row each."""
        for t in self.traders:
            connected, detail = True, ""
            try:
                if getattr(t.ex, "apiKey", None) or t.profile.balance_without_key:
                    t.ex.fetch_balance()  # signed: a revoked key or a lost IP whitelist shows here
                else:
                    t.ex.fetch_time()
            except ccxt.BaseError as exc:
                connected, detail = False, f"{type(exc).__name__}: {exc}"[:500]
                self.alert("error", "exchange disconnected", f"{t.name}: {detail}", key=f"disconnected:{t.name}")
            meter = t.ex.meter
            now = self.clock.now_ms()
            window = meter.window(now)
            latency = window[-1][1] if window else None
            budget = getattr(t.ex, "budget_per_min", None)
            with Session(self.db) as s:
                s.add(ExchangeHealth(ts=now, exchange=t.name, connected=connected, latency_ms=latency,
                                     error_count=meter.failures,
                                     success_rate=1 - meter.failures / meter.total if meter.total else 1.0,
                                     calls_used=meter.count(now), calls_limit=budget, detail=detail))
                s.commit()

    def route(self) -> None:
        """Assign each symbol to one venue by ``engine.selection``; a move cancels there and quotes here."""
        if len(self.traders) == 1 and self.config.engine.selection == "SINGLE":
            return
        from engine.exchanges.selection import VenueHealth, choose

        snap = self.risk.last
        venues = []
        for t in self.traders:
            ex = snap.exchanges.get(t.name) if snap else None
            error_rate = ex.error_rate if ex and ex.error_rate is not None else 0.0
            healthy = (ex.connected if ex else True) and not t.gate.exchange_block and not t.gate.operator_block
            venues.append(VenueHealth(t.name, healthy,
                                      ex.latency_ms if ex else None, 1.0 - error_rate, frozenset(t.symbols)))
        symbols = sorted({s for t in self.traders for s in t.symbols})
        for symbol in symbols:
            choice = choose(symbol, venues, self.config.engine.selection, self.config.engine.weights)
            for t in self.traders:
                if symbol in t.symbols:
                    if choice == t.name:
                        t.gate.route_blocks.pop(symbol, None)
                    else:
                        t.gate.route_blocks[symbol] = f"routed to {choice or 'no exchange'}"
            before = self.routes.get(symbol, "unset")
            if before != choice:
                self.routes[symbol] = choice
                if before != "unset":
                    message = (f"{symbol} moves from {before or 'no exchange'} to {choice or 'no exchange'} "
                               f"({self.config.engine.selection})")
                    log.warning("routing: %s", message)
                    self.alert("warning", "routing", message, key=f"route:{symbol}:{choice}")
