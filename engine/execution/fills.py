"""Fill intake: streamed and polled fills matched to our orders by exchange order id, stored exactly once and
applied to the ledger only once stored; fills of orders not resolved yet are kept back."""

from __future__ import annotations

import logging

from sqlmodel import Session, select

from engine.exchanges.errors import TRANSIENT
from engine.store import OrderRecord, SQLAlchemyError, TradeRecord

log = logging.getLogger("engine.trader")

FILL_SAFETY_NET_MS = 30_000  # with fills streamed, REST still checks this often for anything the stream missed
UNMATCHED_KEPT_MS = 600_000  # a fill of no known order is kept this long while an order of ours has no exchange id


class FillIntake:
    """Fills from the exchange into the store and the ledger (a part of :class:`engine.trader.Trader`)."""

    def poll_fills(self, force: bool = False) -> int:
        """Store new fills exactly once: streamed ones first; REST polling as the fallback (a safety net every
        ``FILL_SAFETY_NET_MS`` while the stream is up)."""
        streamed = 0
        if self.account_feed is not None:
            pushed = self.account_feed.drain()  # whatever came, even from a stream that has failed since
            streamed = self._record_fills(pushed)
        if self.account_feed is not None and self.account_feed.fills_up:
            now = self.clock.now_ms()
            if not force and now - self._last_fill_poll_ms < FILL_SAFETY_NET_MS:
                return streamed
            self._last_fill_poll_ms = now
            force = True
        return streamed + self._poll_rest(force)

    def _poll_rest(self, force: bool) -> int:
        since = self.fill_cursor_ms or None
        try:
            if not self.fills_per_symbol:
                trades = self.ex.fetch_my_trades(None, since)
            else:
                now = self.clock.now_ms()
                if not force and now - self._last_fill_poll_ms < self.fills_every_ms:
                    return self._record_fills([])  # fills kept back are tried again
                self._last_fill_poll_ms = now
                trades = [t for s in self.symbols for t in self.ex.fetch_my_trades(s, since)]
        except TRANSIENT as exc:
            self.stats.errors += 1
            log.warning("%s: fills not fetched this cycle (%s)", self.name, type(exc).__name__)
            return self._record_fills([])  # fills kept back are tried again
        return self._record_fills(trades)

    def _record_fills(self, trades: list[dict]) -> int:
        """Store our fills among ``trades`` (and those kept back earlier) exactly once; returns how many are new.

        A fill is applied to the ledger only once it is committed, so a failed commit (kept back, tried again) never
        counts it twice. A fill whose order id names no order we know is kept back, and the fill cursor stays before
        it, while an order of ours has no exchange id yet (its placement answer was lost): once that order is found
        by client id, the fill is matched to it. With no such order left, it is not ours."""
        if self._fill_backlog:
            trades = [*self._fill_backlog.values(), *trades]
            self._fill_backlog = {}
        seen: set[str] = set()
        fresh = []
        for t in trades:  # polls repeat the newest ones; the backlog may repeat a poll
            tid = str(t["id"])
            if tid not in self._stored_trades and tid not in seen:
                seen.add(tid)
                fresh.append(t)
        if not fresh:
            return 0
        ours, unmatched = [], []
        for t in self._with_client_ids(fresh):
            if self.ours(t.get("clientOrderId")):
                ours.append(t)
            elif not t.get("clientOrderId") and t.get("order") is not None:
                unmatched.append(t)
        oldest_ms = self.clock.now_ms() - UNMATCHED_KEPT_MS
        held = [t for t in unmatched if int(t["timestamp"]) >= oldest_ms] if self._unresolved() else []
        for t in held:
            self._fill_backlog[str(t["id"])] = t
        if not ours:
            self._advance_cursor(held)
            return 0
        ours = self._with_ref_mids(ours)
        contract = {s: (self.ex.markets[s].get("contractSize") or 1.0) if self.ex.markets[s].get("contract") else 1.0
                    for s in {t["symbol"] for t in ours}}
        before = {s: self.ledger.position(s).qty for s in contract}
        try:
            with self.db.begin() as conn:
                rows, staged = self.ledger.stage(conn, ours, contract)
        except SQLAlchemyError as exc:
            for t in ours:  # kept, with their client ids, for the next try
                self._fill_backlog[str(t["id"])] = t
            raise self._store_failed("fills", exc) from exc
        self.ledger.apply(staged, len(rows))
        self._store_back()
        for t in ours:  # all of them are in the store now (recorded here or before)
            self._stored_trades[str(t["id"])] = None
        while len(self._stored_trades) > 10_000:
            self._stored_trades.pop(next(iter(self._stored_trades)))
        self._report_fills(rows, before)
        self._advance_cursor(held, max(int(t["timestamp"]) for t in ours))
        for cid in {r.client_order_id for r in rows}:  # the exchange says how filled (or closed) each order now is
            rec = self.orders.get(cid or "")
            if rec is not None:
                self._refresh(rec)
        self.stats.fills += len(rows)
        return len(rows)

    def _advance_cursor(self, held: list[dict], newest_ms: int | None = None) -> None:
        """Move the REST fill cursor to the newest stored fill, never past a fill kept back (polls must return it)."""
        self._newest_fill_ms = max(self._newest_fill_ms, newest_ms or 0)
        target = max(self._newest_fill_ms, self.fill_cursor_ms)
        if held:
            target = min(target, min(int(t["timestamp"]) for t in held))
        self.fill_cursor_ms = max(self.fill_cursor_ms, target)

    def _unresolved(self) -> bool:
        """Whether an order of ours may have traded without our knowing its exchange id (its answer was lost)."""
        return any(o.exchange_order_id is None and o.status in ("pending", "unknown") for o in self.orders.values())

    def _with_client_ids(self, trades: list[dict]) -> list[dict]:
        """Each trade with the client order id of its order. ccxt's unified trade names only the exchange's order
        id (``order``); the client id is found among live orders, then recently finished ones, then in the store."""
        out, missing = [], set()
        for t in trades:
            if t.get("clientOrderId") or t.get("order") is None:
                out.append(t)
                continue
            oid = str(t["order"])
            cid = self._cid_by_oid.get(oid)
            if cid is None:
                missing.add(oid)
            out.append({**t, "clientOrderId": cid} if cid else t)
        if not missing:
            return out
        with Session(self.db) as s:
            found = dict(s.exec(select(OrderRecord.exchange_order_id, OrderRecord.client_order_id).where(
                OrderRecord.exchange == self.name, OrderRecord.exchange_order_id.in_(missing))).all())
        self._remember_oids(found)
        return [{**t, "clientOrderId": found[str(t["order"])]} if not t.get("clientOrderId") and
                str(t.get("order")) in found else t for t in out]

    def _with_ref_mids(self, trades: list[dict]) -> list[dict]:
        """Each fill with the mid its order was priced at (the live order, else the store, else the market now):
        what its spread capture is measured against."""
        mids: dict[str, float | None] = {}
        missing = set()
        for t in trades:
            cid = t.get("clientOrderId") or ""
            rec = self.orders.get(cid)
            if rec is not None:
                mids[cid] = rec.ref_mid
            else:
                missing.add(cid)
        if missing:
            with Session(self.db) as s:
                mids.update(dict(s.exec(select(OrderRecord.client_order_id, OrderRecord.ref_mid).where(
                    OrderRecord.exchange == self.name, OrderRecord.client_order_id.in_(missing))).all()))
        out = []
        for t in trades:
            mid = mids.get(t.get("clientOrderId") or "")
            if mid is None:
                seen = self.views.get(t["symbol"])
                mid = seen[1].mid if seen else None
            out.append({**t, "ref_mid": mid})
        return out

    def _remember_oids(self, pairs: dict[str, str]) -> None:
        """Exchange order id -> client id, bounded (oldest forgotten first; the store still has them)."""
        self._cid_by_oid.update(pairs)
        while len(self._cid_by_oid) > 100_000:
            self._cid_by_oid.pop(next(iter(self._cid_by_oid)))

    def _report_fills(self, rows: list[TradeRecord], before: dict[str, float]) -> None:
        if self.on_event is None:
            return
        large = self.config.risk.large_loss_usd
        for row in rows:
            if row.realized_pnl <= -large:
                self.on_event("critical", "large loss", f"{row.symbol}: a {row.side} fill of {row.amount} at "
                              f"{row.price} realized {row.realized_pnl:,.2f} USDT", f"loss:{row.trade_id}")
        for symbol, qty in before.items():
            after = self.ledger.position(symbol).qty
            if qty == 0 and after != 0:
                self.on_event("info", "position opened", f"{self.name} {symbol}: {after:+g} at "
                              f"{self.ledger.position(symbol).avg_price:g}", f"pos-open:{symbol}")
            elif qty != 0 and after == 0:
                self.on_event("info", "position closed", f"{self.name} {symbol}: flat; realized so far "
                              f"{self.ledger.position(symbol).realized_pnl:,.2f} USDT", f"pos-close:{symbol}")

    def apply_streamed_orders(self) -> int:
        """Order updates pushed by the exchange (``watch_orders``): fills, cancellations and expiries learned
        without a request. An update older than what the store knows (less filled) is ignored."""
        if self.account_feed is None or not self.account_feed.orders:
            return 0
        applied = 0
        for o in self.account_feed.drain_orders():
            rec = self.orders.get(o.get("clientOrderId") or "")
            if rec is None and o.get("id") is not None:
                cid = self._cid_by_oid.get(str(o["id"]))
                rec = self.orders.get(cid) if cid else None
            if rec is None or float(o.get("filled") or 0.0) + 1e-12 < rec.filled:
                continue
            if rec.status == "open" and o.get("status") == "open" and float(o.get("filled") or 0.0) == rec.filled:
                continue
            self._apply_order(rec, {k: v for k, v in o.items() if k != "trades"})
            applied += 1
        if applied:
            self.flush()
        return applied
