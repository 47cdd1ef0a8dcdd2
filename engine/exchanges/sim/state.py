"""The paper account written through to its state file, restored, reset and released."""

from __future__ import annotations

import logging

from engine.exchanges.sim.account import Account
from engine.exchanges.sim.api import (
    MY_TRADES_KEPT,
)
from engine.exchanges.sim.records import SimOrder

log = logging.getLogger("engine.exchanges.sim.venue")


class StateKeeping:
    """A part of :class:`engine.exchanges.sim.venue.SimExchange` (see the module docstring)."""

    def _flush(self) -> None:
        if self._state_file is None:
            self._dirty_orders.clear()
            self._new_trades.clear()
            self._pruned_orders.clear()
            return
        if not (self._dirty_orders or self._new_trades or self._dirty_account or self._pruned_orders):
            return
        kv = {
            "account": self.account.state(),
            "counters": {"order": self._next_order, "trade": self._next_trade},
            "settings": {"leverage": self._leverage, "margin_mode": self._margin_mode, "hedged": self._hedged},
            "source": self.source.state(),
            "market": self.sim_config.source.identity(),
            "clock_ms": self.clock.now_ms(),
            "next_funding_ms": self._next_funding_ms,
        }
        orders = [self._orders[i].state() for i in self._dirty_orders if i in self._orders]
        self._state_file.save(kv, orders, list(self._new_trades), self._pruned_orders, MY_TRADES_KEPT)
        self._dirty_orders.clear()
        self._new_trades.clear()
        self._pruned_orders.clear()
        self._dirty_account = False

    def _restore(self, saved: dict) -> None:
        self.account = Account.from_state(saved["account"])
        self._next_order = saved["counters"]["order"]
        self._next_trade = saved["counters"]["trade"]
        settings = saved["settings"]
        self._leverage.update({k: v for k, v in settings["leverage"].items() if k in self._leverage})
        self._margin_mode.update({k: v for k, v in settings["margin_mode"].items() if k in self._margin_mode})
        self._hedged = settings["hedged"]
        self.source.restore(saved.get("source", {}))
        self._next_funding_ms = max(saved.get("next_funding_ms", 0), self._funding_after(self.clock.now_ms()) - 1)
        closed = []
        for state in saved["orders"]:
            o = SimOrder.from_state(state)
            if o.symbol not in self.specs:
                continue
            self._orders[o.id] = o
            if o.client_id:
                self._by_client[o.client_id] = o.id
            if o.status == "open":
                self._open[o.symbol].append(o)
                self._edges.pop(o.symbol, None)
            else:
                closed.append(o)
        for o in sorted(closed, key=lambda o: o.updated_ts or o.ts):
            self._remember_closed(o.id)
        for t in saved["trades"]:
            self._my_trades.append(t)
            if t["order"] in self._orders:
                self._trades_by_order.setdefault(t["order"], []).append(t)
        self._dirty_account = False
        self._books_open = True
        log.info("sim: paper account restored from %s (%d orders, %d trades)", self.sim_config.state_path,
                 len(self._orders), len(self._my_trades))

    def reset_account(self) -> None:
        """Wipe the paper account (balances, positions, orders, trades) back to the configured start."""
        with self._lock:
            if self._state_file is not None:
                self._state_file.wipe()
            self._reset_memory()
            self._open_books()
            self._dirty_account = True
            self._flush()

    def claim_account(self) -> None:
        """Make sure this venue owns its paper account's state file (an engine calls it before trading): raises
        ``StateFileError`` naming the fix when another engine's venue has it."""
        if self._state_file is not None:
            self._state_file.claim()

    def close(self) -> None:
        """Save and release the state file (safe to call twice, and on a venue whose config was refused)."""
        lock = self.__dict__.get("_lock")
        if lock is not None and "_state_file" in self.__dict__:
            with lock:
                self._flush()
                if self._state_file is not None:
                    self._state_file.close()
                    self._state_file = None
        live = self.__dict__.get("live_source")
        if live is not None:
            live.close()  # its streams
        super().close()
