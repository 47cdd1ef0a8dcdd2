"""Reconciliation with the exchange (start-up, hygiene) and the cancel sweep of stop, pause and the kill
switch: the store is made to agree with what the exchange lists."""

from __future__ import annotations

import logging
import math

import ccxt
from sqlmodel import Session, select

from engine.exchanges.errors import TRANSIENT, backoff_s
from engine.execution.decisions import plan_reconciliation
from engine.store import OrderRecord

log = logging.getLogger("engine.trader")

RECONCILE_STREAMED_MS = 60_000  # with order updates streamed, the REST reconciliation runs this often


class Reconciler:
    """The store made to agree with the exchange (a part of :class:`engine.trader.Trader`)."""

    def reconcile_due(self) -> dict | None:
        """Reconcile now, or, while order updates are streamed, at most every ``RECONCILE_STREAMED_MS`` (the REST
        safety net). Returns the report, or None when it was not due."""
        streamed = self.account_feed is not None and self.account_feed.orders_up
        if streamed and self.clock.now_ms() - self._last_reconcile_ms < RECONCILE_STREAMED_MS:
            return None
        return self.reconcile()

    def reconcile(self, startup: bool = False) -> dict:
        """Make the store agree with the exchange (see the module docstring). Returns counts of what changed."""
        report = {"closed_out": 0, "adopted": 0, "canceled_unknown": 0, "resolved": 0, "fills": 0}
        try:
            venue_open = self._fetch_open_orders()
        except TRANSIENT as exc:
            log.warning("%s: reconciliation postponed (%s)%s", self.name, type(exc).__name__,
                        "" if self.reconciled else "; not quoting until it succeeds")
            return {"postponed": type(exc).__name__}
        self.reconciled = True
        self._last_reconcile_ms = self.clock.now_ms()
        plan = plan_reconciliation(list(self.orders), venue_open, self.ours,
                                   self.config.engine.unknown_orders == "adopt", self.symbols)
        for cid, listed in plan.listed:
            rec = self.orders[cid]
            if rec.status != "open":
                report["resolved"] += 1
            self._apply_order(rec, listed)
        for cid in plan.unlisted:
            rec = self.orders.get(cid)
            if rec is None:
                continue
            before = rec.status
            self._refresh(rec)
            if cid not in self.orders:
                report["closed_out" if before == "open" else "resolved"] += 1
        for o in plan.adopt:
            self._adopt(o)
            report["adopted"] += 1
        for o in plan.cancel:
            try:
                self.ex.cancel_order(str(o["id"]), o["symbol"])
                report["canceled_unknown"] += 1
            except (ccxt.OrderNotFound, *TRANSIENT):
                pass
        report["fills"] = self.poll_fills(force=True)
        self.flush()
        self.publish()
        return report

    def _adopt(self, o: dict) -> None:
        """Take over an order of ours the store does not hold open (its row is reused when there is one)."""
        cid = o["clientOrderId"]
        with Session(self.db) as s:
            rec = s.exec(select(OrderRecord).where(OrderRecord.client_order_id == cid)).first()
            if rec is not None:
                s.expunge(rec)
        if rec is None:
            rec = OrderRecord(exchange=self.name, symbol=o["symbol"], client_order_id=cid, side=o["side"],
                              level=99, price=o.get("price"), amount=float(o["amount"]),
                              filled=float(o.get("filled") or 0), reason="adopted",
                              created_ms=int(o.get("timestamp") or self.clock.now_ms()))
        rec.status, rec.exchange_order_id, rec.updated_ms = "open", str(o["id"]), self.clock.now_ms()
        if rec.ref_mid is None:  # priced against a market we did not see: measure staleness from now on
            seen = self.views.get(rec.symbol)
            rec.ref_mid = seen[1].mid if seen else rec.price
        self._save(rec)
        self._remember_oids({rec.exchange_order_id: cid})
        self.orders[cid] = rec

    def _fetch_open_orders(self) -> list[dict]:
        if not self.profile.fills_need_symbol:
            return self.ex.fetch_open_orders()
        out = []
        for symbol in self.symbols:
            out.extend(self.ex.fetch_open_orders(symbol))
        return out

    def close_positions(self, symbols: list[str] | None = None) -> list[str]:
        """Flatten the engine's positions (all, or those of ``symbols``) with market orders (reduce-only on perps)."""
        done = []
        for symbol, pos in list(self.ledger.positions.items()):
            if not pos.qty or symbol not in self.ex.markets or (symbols is not None and symbol not in symbols):
                continue
            m = self.ex.markets[symbol]
            lot = m["precision"]["amount"]
            amount = round(math.floor(abs(pos.qty) / lot + 1e-9) * lot, 12)
            if amount < (m["limits"]["amount"]["min"] or lot):
                continue
            side = "sell" if pos.qty > 0 else "buy"
            rec = self.market_order(symbol, side, amount, reduce_only=bool(m.get("contract")), reason="close position")
            if rec.status == "rejected":
                log.error("%s %s: could not close the position (%s %s): %s", self.name, symbol, side, amount,
                          rec.reason)
                continue
            done.append(f"{side} {amount} {symbol}")
        self.poll_fills()
        self.publish()
        return done

    def cancel_all(self, deadline_s: float = 0.0) -> int:
        """Cancel every order of ours until the exchange confirms that none is open; returns how many are still live
        or unconfirmed.

        One pass cancels the live orders the store knows (pending and unknown ones are first found by client id), then
        lists the exchange's open orders and cancels any of ours still there, adopted or not. Passes repeat with
        backoff (on the trader's clock) until none is left or ``deadline_s`` has passed. The store is written when it
        can be: cancelling never waits on it."""
        start = self.clock.now_ms()
        attempt = 0
        while True:
            left = self._cancel_pass()
            self.cancels_pending = bool(left)
            self.publish()
            if not left or self.clock.now_ms() - start >= deadline_s * 1000:
                return left
            self.clock.sleep(backoff_s(attempt, base_s=0.2, max_s=2.0))
            attempt += 1

    def _cancel_pass(self) -> int:
        for rec in list(self.orders.values()):
            if rec.status != "open" or not rec.exchange_order_id:
                self._refresh(rec)  # learn whether it reached the exchange, and its id
            if rec.client_order_id in self.orders and rec.status == "open":
                self.cancel(rec, "stop")
        try:
            listed = [o for o in self._fetch_open_orders() if self.ours(o.get("clientOrderId"))]
        except TRANSIENT as exc:
            log.warning("%s: cannot confirm the cancels yet (%s)", self.name, type(exc).__name__)
            self.try_flush()
            return max(1, len(self.orders))
        listed_ids = {o["clientOrderId"] for o in listed}
        for rec in [r for r in self.orders.values() if r.status == "open" and r.client_order_id not in listed_ids]:
            self._refresh(rec)  # no longer listed as open: learn how it ended
        unconfirmed: set[str] = set()
        for o in listed:
            rec = self.orders.get(o["clientOrderId"])
            try:
                res = self.ex.cancel_order(str(o["id"]), o["symbol"])
            except ccxt.OrderNotFound:
                res = None
            except TRANSIENT:
                unconfirmed.add(o["clientOrderId"])
                continue
            self.stats.canceled += 1
            if rec is not None:
                if res is not None and res.get("status") in ("canceled", "closed", "expired"):
                    self._apply_order(rec, res)
                else:
                    self._refresh(rec)
        self.try_flush()
        return len(unconfirmed | set(self.orders))  # what is left in memory is open or of unknown fate
