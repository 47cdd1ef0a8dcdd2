"""Exchange health (every 30 s: latency of a signed request, errors, budget) and routing of each symbol to one venue
(FAILOVER, LOAD_BALANCE, BEST_EXECUTION, SINGLE)."""

from __future__ import annotations

import logging
from typing import Any

import ccxt
from sqlmodel import Session

from engine.metering import BudgetExceeded
from engine.store import (
    ExchangeHealth,
)

log = logging.getLogger("engine.runtime")



def healthy_venues(engine: Any) -> tuple[int, int]:
    """(venues that can quote now, venues): one disconnected or behind a latency or error breaker cannot."""
    traders = engine.traders
    return sum(1 for t in traders if not (t.gate.exchange_block or t.gate.operator_block)), len(traders)

class HealthRouting:
    """Health checks and routing of :class:`engine.runtime.Engine`."""

    def health_cycle(self) -> None:
        """Every venue (seed 003, every 30 s): latency of a cheap authenticated request (the balance; the server
        time where no key is configured), connected, errors, success rate, calls used in the last minute against
        the budget; one ``exchange_health`` row each."""
        for t in self.traders:
            connected, detail = self._probe(t)
            now = self.clock.now_ms()
            self._note_reachability(t, connected, detail, now)
            meter = t.ex.meter
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
        if len(self.traders) == 1:  # one exchange: every strategy is SINGLE
            return
        from engine.exchanges.selection import VenueHealth, choose

        snap = self.risk.last
        venues = []
        for t in self.traders:
            ex = snap.exchanges.get(t.name) if snap else None
            error_rate = ex.error_rate if ex and ex.error_rate is not None else 0.0
            healthy = (ex.connected if ex else True) and not t.gate.exchange_block and not t.gate.operator_block
            budget = getattr(t.ex, "budget_per_min", None)
            load = t.ex.meter.count(self.clock.now_ms()) / budget if budget else 0.0
            venues.append(VenueHealth(t.name, healthy, ex.latency_ms if ex else None, 1.0 - error_rate,
                                      frozenset(t.symbols), min(load, 1.0)))
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

    @staticmethod
    def _probe(t: Any) -> tuple[bool, str]:
        """One cheap request (tried three times on a network error: passing ones do not make an outage)."""
        ex = t.ex
        for _ in range(3):
            try:
                if getattr(ex, "apiKey", None) or t.profile.balance_without_key:
                    ex.fetch_balance()  # signed: a revoked key or a lost IP whitelist shows here
                else:
                    ex.fetch_time()
                return True, ""
            except BudgetExceeded:  # refused here, not by the exchange: the probe goes past our own budget
                ex = getattr(t.ex, "raw", t.ex)
                detail = "the request budget is used up"
            except ccxt.RateLimitExceeded:
                return True, ""  # it answered: busy, not down
            except ccxt.NetworkError as exc:
                detail = f"{type(exc).__name__}: {exc}"[:500]
            except ccxt.BaseError as exc:
                return False, f"{type(exc).__name__}: {exc}"[:500]
        return False, detail

    def _note_reachability(self, t: Any, connected: bool, detail: str, now: int) -> None:
        """An exchange that stops answering: quoting there holds until a reconciliation succeeds (alerted once);
        back: alerted once, and it reconciles with the store before it quotes again."""
        down = self.__dict__.setdefault("_down_since", {})
        if not connected and t.name not in down:
            down[t.name] = now
            t.reconciled = False  # the quoting cycle retries the reconciliation every few seconds, quoting nothing
            log.error("%s is unreachable (%s): quoting there holds until it answers and is reconciled", t.name, detail)
            self.alert("error", "exchange disconnected", f"{t.name}: {detail}; quoting there holds until it answers "
                       "again and the store is reconciled with it", key=f"disconnected:{t.name}:{now}")
        elif connected and t.name in down:
            since = down.pop(t.name)
            t.reconciled = False
            log.warning("%s answers again after %.0f s: reconciling before quoting", t.name, (now - since) / 1000)
            self.alert("info", "exchange back", f"{t.name} answers again after {(now - since) / 1000:.0f} s; the store "
                       "is reconciled with it before it quotes", key=f"back:{t.name}:{now}")
