"""Orders of one exchange: client ids, write-ahead ``pending``, sending, lost answers, cancelling, and the store
writes of their changes (queued, written in one transaction, kept when the store fails)."""

from __future__ import annotations

import logging
from typing import Any

import ccxt

from engine.exchanges.errors import TRANSIENT, ExchangeFailure, TransientError, place_order_safely
from engine.exchanges.profiles import find_order
from engine.execution.decisions import hedge_leg
from engine.store import OrderRecord, SQLAlchemyError, StoreUnavailable, save_orders

log = logging.getLogger("engine.trader")

REFUSED_BACKOFF_MS = 10_000  # a slot whose order the exchange refused rests this long before trying again
NO_FUNDS_BACKOFF_MS = 30_000  # a side without the funds for its order rests this long
EXIT_LEVEL = -2  # the ladder level of a stop-loss or take-profit order resting on the exchange (quotes are 0..n)
ABSENCE_CONFIRM_MS = 3_000  # an order sent with no answer counts as absent only if still not found this long after


class OrderDesk:
    """Placing, cancelling and tracking our orders (a part of :class:`engine.trader.Trader`)."""

    def next_client_id(self) -> str:
        """``mm-<run>-<seq>`` in the form the exchange takes (``engine.exchanges.profiles``): ``mm<run><seq>`` where
        only letters and digits are allowed (OKX, Kraken), ``t-mm-<run>-<seq>`` on Gate. A run whose ids would
        outgrow the exchange's limit continues under a fresh run id."""
        self._seq += 1
        cid = f"{self._id_head}{self.run_id}{self._id_sep}{self._seq}"
        if len(cid) > self.profile.client_id_max:
            self.run_id = _base36(self.clock.now_ms())[-7:]
            self._seq = 1
            cid = f"{self._id_head}{self.run_id}{self._id_sep}{self._seq}"
        return cid

    def ours(self, client_id: str | None) -> bool:
        """Whether a client order id is one this engine's prefix made."""
        return bool(client_id) and client_id.startswith(self._id_head)

    @property
    def hedge_mode(self) -> bool:
        """Whether positions have a long and a short leg here: the venue's own word where it gives one (read once),
        else the connection's ``hedge_mode``."""
        if self.profile.reports_position_mode:
            if self._venue_hedged is None:
                self._venue_hedged = bool(self.ex.fetch_position_mode()["hedged"])
            return self._venue_hedged
        return self.config.connection(self.name).hedge_mode

    def order_params(self, symbol: str, side: str, amount: float, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` plus what the exchange needs for this order; in hedge mode, the leg it opens or closes.

        In hedge mode an order against the held position closes that leg (as far as the position, less what
        other closing orders already cover, reaches); otherwise it opens its own side's leg.
        """
        market = self.ex.markets.get(symbol) or {}
        if not market.get("contract"):
            return params
        params = dict(params)
        if self.profile.order_margin_mode:
            params["marginMode"] = self.config.connection(self.name).margin_mode
        if self.profile.order_leverage and symbol in self.config.symbols.get(self.name, {}):
            params["leverage"] = self.config.symbol_config(symbol, self.name).leverage
        if not self.hedge_mode:
            return params
        covered = sum(o.amount - o.filled for o in self.orders.values()  # exit triggers are alternatives: not counted
                      if o.client_order_id in self._closing and o.symbol == symbol and o.side == side
                      and o.level != EXIT_LEVEL)
        leg, reduce_only = hedge_leg(side, amount, self.ledger.position(symbol).qty, covered,
                                     bool(params.pop("reduceOnly", False)))
        if reduce_only:
            self._closing.add(params["clientOrderId"])
        return {**params, **self.profile.hedge_params(leg, reduce_only)}

    def place(self, symbol: str, side: str, level: int, amount: float, price: float, mid: float) -> OrderRecord:
        """Write the order as pending (committed), then send it post-only with its client order id."""
        rec = self._pending(symbol, side, level, amount, price, mid)
        self.write_ahead([rec])
        self._send(rec)
        self.flush()
        return rec

    def _pending(self, symbol: str, side: str, level: int, amount: float, price: float, mid: float) -> OrderRecord:
        now = self.clock.now_ms()
        rec = OrderRecord(exchange=self.name, symbol=symbol, client_order_id=self.next_client_id(), side=side,
                          level=level, price=price, amount=amount, status="pending", ref_mid=mid,
                          created_ms=now, updated_ms=now)
        self._save(rec)
        self.orders[rec.client_order_id] = rec
        return rec

    def _send(self, rec: OrderRecord) -> None:
        symbol, side, amount, price = rec.symbol, rec.side, rec.amount, rec.price
        try:
            res = self.ex.create_order(symbol, "limit", side, amount, price, self.order_params(
                symbol, side, amount, {"postOnly": True, "clientOrderId": rec.client_order_id}))
        except (ccxt.OrderImmediatelyFillable, ccxt.OrderNotFillable) as exc:  # Binance USD-M: -5022
            self._finish(rec, "rejected", f"post-only would cross: {exc}")
            self.stats.rejected += 1
            return  # the next cycle prices it again from a fresh book
        except ccxt.InsufficientFunds as exc:
            self._finish(rec, "rejected", str(exc))
            self.stats.rejected += 1
            # This level and the deeper ones (larger cumulative need) rest; the levels that fit keep quoting.
            self._side_backoff[(symbol, side)] = (self.clock.now_ms() + NO_FUNDS_BACKOFF_MS, rec.level)
            self._warn(symbol, side, "insufficient funds", f"{exc}; not quoting level {rec.level} and deeper on this "
                       f"side for {NO_FUNDS_BACKOFF_MS // 1000}s (add funds, lower sizes, or disable the symbol)")
            return
        except TRANSIENT as exc:
            rec.status = "unknown"
            rec.updated_ms = self.clock.now_ms()
            self._save(rec)
            self.stats.unknown += 1
            log.warning("%s %s: no answer placing %s (%s); will look it up by client id", self.name, symbol,
                        rec.client_order_id, type(exc).__name__)
            return
        except ccxt.BaseError as exc:
            self._finish(rec, "rejected", str(exc))
            self.stats.rejected += 1
            self._backoff[(symbol, side, rec.level)] = self.clock.now_ms() + REFUSED_BACKOFF_MS
            self._warn(symbol, side, type(exc).__name__, f"order refused: {exc}")
            return
        self.stats.placed += 1
        self._apply_order(rec, res)

    def market_order(self, symbol: str, side: str, amount: float, reduce_only: bool = False,
                     reason: str = "market") -> OrderRecord:
        """A market order of ours, written ahead as ``pending`` like any other; its fills are recorded when they
        come (with the answer, or later by polling or the stream). Returns its record (``rejected`` if refused)."""
        params: dict[str, Any] = {"reduceOnly": True} if reduce_only else {}
        return self._send_market(symbol, side, amount, "market", -1, None, reason, params)

    def ioc_order(self, symbol: str, side: str, amount: float, price: float, level: int, reason: str) -> OrderRecord:
        """A limit order that takes what is there at ``price`` or better and cancels the rest at once (type ``ioc``;
        an arbitrage leg), written ahead like any other. Returns its record: ``filled`` says what it took."""
        return self._send_market(symbol, side, amount, "ioc", level, price, reason, {"timeInForce": "IOC"})

    def trigger_order(self, symbol: str, side: str, amount: float, kind: str, trigger: float,
                      reason: str) -> OrderRecord:
        """A reduce-only stop-loss or take-profit order resting on the exchange (``kind``: ccxt's ``stopLossPrice``
        or ``takeProfitPrice``), written ahead like any other (level ``EXIT_LEVEL``, type ``stop_loss`` or
        ``take_profit``, price = the trigger). Returns its record (``rejected`` if refused, the reason in it)."""
        return self._send_market(symbol, side, amount, "stop_loss" if kind == "stopLossPrice" else "take_profit",
                                 EXIT_LEVEL, trigger, reason, {"reduceOnly": True, kind: trigger})

    def _send_market(self, symbol: str, side: str, amount: float, kind: str, level: int, price: float | None,
                     reason: str, extra: dict[str, Any]) -> OrderRecord:
        """Write ahead, then send a market-type order (a plain one, or one that waits for its trigger)."""
        now = self.clock.now_ms()
        seen = self.views.get(symbol)
        rec = OrderRecord(exchange=self.name, symbol=symbol, client_order_id=self.next_client_id(), side=side,
                          type=kind, level=level, amount=amount, price=price, status="pending", reason=reason,
                          created_ms=now, updated_ms=now, ref_mid=seen[1].mid if seen else None)
        self._save(rec)
        self.orders[rec.client_order_id] = rec
        self.write_ahead([rec])
        params = self.order_params(symbol, side, amount, {"clientOrderId": rec.client_order_id, **extra})
        try:  # retried at once (a close must go through), never twice: each retry first looks it up by client id
            res = place_order_safely(self.ex, symbol, "limit" if kind == "ioc" else "market", side, amount,
                                     price if kind == "ioc" else None, params, retries=2, base_s=0.2,
                                     sleep=self.clock.sleep)
        except TransientError as exc:
            rec.status, rec.updated_ms = "unknown", self.clock.now_ms()
            self._save(rec)
            log.warning("%s %s: no answer placing %s %s (%s); will look it up by client id", self.name, symbol,
                        kind, rec.client_order_id, exc)
        except ExchangeFailure as exc:
            self._finish(rec, "rejected", str(exc))
        else:
            self._apply_order(rec, res)
        self.try_flush()
        return rec

    def cancel(self, rec: OrderRecord, reason: str = "") -> None:
        if rec.status != "open" or not rec.exchange_order_id:
            return
        try:
            res = self.ex.cancel_order(rec.exchange_order_id, rec.symbol)
        except ccxt.OrderNotFound:
            self._refresh(rec)  # filled or already gone: learn its final state
            return
        except TRANSIENT as exc:
            log.warning("%s %s: cancel of %s not confirmed (%s); hygiene will retry", self.name, rec.symbol,
                        rec.client_order_id, type(exc).__name__)
            return
        self.stats.canceled += 1
        if reason:
            log.debug("%s %s: cancel %s (%s)", self.name, rec.symbol, rec.client_order_id, reason)
        if (res or {}).get("status") in ("canceled", "closed", "expired", "rejected"):
            self._apply_order(rec, res)
        else:  # an answer that does not say how the order ended: ask
            self._refresh(rec)

    def cancel_symbol(self, symbol: str, reason: str = "") -> None:
        for rec in [o for o in self.orders.values() if o.symbol == symbol and o.status == "open"]:
            self.cancel(rec, reason)
        self.flush()
        self.publish()

    def _refresh(self, rec: OrderRecord) -> None:
        """Learn an order's state from the exchange: by its exchange id, else (and when that id is not found) by its
        client id. Absence is concluded only from a client-id lookup, and for an order whose placement is not known,
        only ``ABSENCE_CONFIRM_MS`` after it was sent: an exchange may not list an order it has just accepted."""
        try:
            if rec.exchange_order_id:
                try:
                    res = self.ex.fetch_order(rec.exchange_order_id, rec.symbol, self.profile.fetch_order_params)
                except ccxt.OrderNotFound:
                    res = find_order(self.ex, rec.symbol, rec.client_order_id, rec.created_ms - 60_000)
            else:
                res = find_order(self.ex, rec.symbol, rec.client_order_id, rec.created_ms - 60_000)
        except ccxt.OrderNotFound:
            if rec.status in ("pending", "unknown"):
                if self.clock.now_ms() - rec.updated_ms < ABSENCE_CONFIRM_MS:
                    return  # look again later
                self._finish(rec, "rejected", "never reached the exchange (not found by its client id)")
            else:
                self._finish(rec, "closed", "no longer known to the exchange (not found by its client id)")
            return
        except TRANSIENT:
            return
        self._apply_order(rec, res)

    def _apply_order(self, rec: OrderRecord, res: dict) -> None:
        """The exchange's word on ``rec`` (an order answer, lookup or update) taken into the record and queued for the
        store; an open order the exchange shows unchanged is left as it is (``updated_ms`` is its last change)."""
        oid = str(res["id"]) if res.get("id") is not None else rec.exchange_order_id
        filled, average = float(res.get("filled") or 0.0), res.get("average")
        status = res.get("status") or "open"
        trades = res.get("trades") or []
        if status == rec.status == "open" and (oid, filled, average) == (rec.exchange_order_id, rec.filled,
                                                                          rec.average) and not trades:
            return  # a reconciliation's every open order, most of them: nothing to write
        rec.exchange_order_id = oid
        if rec.exchange_order_id:
            self._remember_oids({rec.exchange_order_id: rec.client_order_id})
        rec.filled, rec.average = filled, average
        rec.updated_ms = self.clock.now_ms()
        if status == "open":
            rec.status = "open"
            self._save(rec)
        elif status == "expired":  # e.g. Binance futures: a post-only (GTX) order that would cross expires at once
            self._finish(rec, "canceled", "expired by the exchange" + (" (post-only would have crossed)"
                                                                      if not rec.filled else ""))
        else:
            self._finish(rec, status if status in ("closed", "canceled", "rejected") else "closed", rec.reason)
        if trades:  # fills that came with the answer
            try:
                self._record_fills(trades)
            except StoreUnavailable:
                pass  # kept back and written with the next try; the order's own state is what matters here

    def _finish(self, rec: OrderRecord, status: str, reason: str) -> None:
        rec.status = status
        rec.reason = reason[:500]
        rec.closed_ms = rec.updated_ms = self.clock.now_ms()
        self._save(rec)
        self.orders.pop(rec.client_order_id, None)
        self._closing.discard(rec.client_order_id)

    def _save(self, rec: OrderRecord) -> None:
        """Queue ``rec`` for the next :meth:`flush` (one transaction for a cycle's changes)."""
        self._unsaved[id(rec)] = rec

    def flush(self) -> None:
        """Write every queued order change in one transaction. On failure the changes stay queued (and the records in
        memory stay whole) for the next try, and :class:`StoreUnavailable` is raised."""
        if not self._unsaved:
            return
        records = list(self._unsaved.values())
        try:
            with self.db.begin() as conn:  # a plain transaction: no ORM session for Core writes
                ids = save_orders(conn, records, check_existing=self.store_down_since is not None)
        except SQLAlchemyError as exc:
            raise self._store_failed("order changes", exc) from exc
        for rec, new_id in zip([r for r in records if r.id is None], ids, strict=True):
            rec.id = new_id
        for rec in records:
            self._unsaved.pop(id(rec), None)
        self._store_back()

    def write_ahead(self, records: list[OrderRecord]) -> None:
        """Commit new ``pending`` records before they are sent. If the store refuses, they are forgotten (neither
        stored nor sent: the next cycle plans afresh) and :class:`StoreUnavailable` is raised."""
        try:
            self.flush()
        except StoreUnavailable:
            for rec in records:
                self.orders.pop(rec.client_order_id, None)
                self._unsaved.pop(id(rec), None)
            raise

    def try_flush(self) -> bool:
        """:meth:`flush` for paths that must go on without the store (cancelling, stopping): False if it failed."""
        try:
            self.flush()
        except StoreUnavailable:
            return False
        return True

    def _store_failed(self, what: str, exc: BaseException) -> StoreUnavailable:
        err = StoreUnavailable(what, exc)
        if self.store_down_since is None:
            self.store_down_since = self.clock.now_ms()
            log.error("%s: %s", self.name, err)
        self.store_error = str(err)
        return err

    def _store_back(self) -> None:
        if self.store_down_since is not None:
            log.warning("%s: the store is writable again after %.1f s; queued changes written", self.name,
                        (self.clock.now_ms() - self.store_down_since) / 1000)
            self.store_down_since, self.store_error = None, ""


def _base36(n: int) -> str:
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = chars[r] + out
    return out or "0"
