"""Resting orders meet the market: queue position, trade-throughs, fills, fees; reservations for new orders."""

from __future__ import annotations

import logging
from typing import Any

from engine.clock import iso8601
from engine.exchanges.sim.api import (
    CLOSED_ORDERS_KEPT,
)
from engine.exchanges.sim.markets import (
    MarketSpec,
)
from engine.exchanges.sim.records import SimOrder

log = logging.getLogger("engine.exchanges.sim.venue")

_ANYWHERE = (-(1 << 62), 1 << 62)  # the quiet band with no order resting


class Matching:
    """A part of :class:`engine.exchanges.sim.venue.SimExchange` (see the module docstring)."""

    def on_trade(self, symbol: str, ts_ms: int, tick: int, qty: float, aggressor_buy: bool) -> None:
        spec = self.specs[symbol]
        price = round(tick * spec.tick, spec.price_decimals)
        self._public[symbol].append((ts_ms, price, qty, aggressor_buy))
        self._candles[symbol].add(ts_ms, price, qty)
        orders = self._open[symbol]
        if not orders:
            return
        best_buy, best_sell, _ = self._edges.get(symbol) or self._edge(symbol)
        if (best_sell > tick if aggressor_buy else best_buy < tick) or (self._events and self._halted(symbol, ts_ms)):
            return  # the print reaches none of our orders
        if aggressor_buy:  # sellers resting at or below the print are hit, best (lowest) first
            hit = sorted((o for o in orders if not o.waiting and not o.is_buy and o.tick <= tick),
                         key=lambda o: (o.tick, o.ts))
        else:
            hit = sorted((o for o in orders if not o.waiting and o.is_buy and o.tick >= tick),
                         key=lambda o: (-o.tick, o.ts))
        consumed = 0.0
        for o in hit:
            if o.tick != tick:  # the print went through our price: we were ahead of it
                self._fill(o, o.remaining, ts_ms)
                continue
            ahead = o.queue_ahead
            o.queue_ahead = max(0.0, ahead - qty)
            o.level_seen = max(0.0, o.level_seen - qty)  # the print's size leaves the level: not a cancellation
            available = qty - ahead - consumed
            if available > 1e-12:
                take = min(available, o.remaining)
                consumed += take
                self._fill(o, take, ts_ms)

    def on_book(self, symbol: str, ts_ms: int) -> None:
        orders = self._open[symbol]
        if orders and not (self._events and self._halted(symbol, ts_ms)):
            bb, _, ba, _ = self.source.best(symbol)
            self._meet(symbol, ts_ms, bb, ba, orders, self.source.book(symbol))
        if self.account.positions and self.specs[symbol].contract:
            self._check_liquidation(self.specs[symbol], ts_ms)

    def on_top(self, symbol: str, ts_ms: int, bb: int | None, ba: int | None) -> None:
        orders = self._open[symbol]
        if orders:
            best_buy, best_sell, triggers = self._edges.get(symbol) or self._edge(symbol)
            if (triggers or (ba is not None and ba <= best_buy) or (bb is not None and bb >= best_sell)) and \
                    not (self._events and self._halted(symbol, ts_ms)):
                self._meet(symbol, ts_ms, bb, ba, orders, None)
        if self.account.positions and self.specs[symbol].contract:
            self._check_liquidation(self.specs[symbol], ts_ms)

    def quiet_band(self, symbol: str) -> tuple[int, int] | None:
        """Our highest buy and lowest sell tick: a best bid below the one and a best ask above the other reach none
        of our orders (:meth:`on_top` would do nothing). None while a trigger order waits or a contract market has
        positions to check for liquidation, when every best bid/ask counts."""
        if self.account.positions and self.specs[symbol].contract:
            return None
        if not self._open[symbol]:
            return _ANYWHERE
        best_buy, best_sell, triggers = self._edges.get(symbol) or self._edge(symbol)
        return None if triggers else (best_buy, best_sell)

    def _meet(self, symbol: str, ts_ms: int, bb: int | None, ba: int | None, orders: list[SimOrder],
              book: Any) -> None:
        """Our orders against a new best bid / ask: those it crossed fill, trigger orders it reached fire; with the
        book's levels (``book`` not None), cancellations ahead of us shorten our queue."""
        spec = self.specs[symbol]
        for o in list(orders):
            if o.trigger_price is not None and o.tick is None:  # waiting: a trigger order not fired yet
                if bb is not None and ba is not None:
                    mid = (bb + ba) / 2 * spec.tick
                    if (mid >= o.trigger_price) if o.trigger_above else (mid <= o.trigger_price):
                        self._fire(o, ts_ms)
                continue
            if o.side == "buy":
                if ba is not None and o.tick >= ba:
                    self._fill(o, o.remaining, ts_ms)
                    continue
                if book is None:
                    continue
                shown = book.bids.get(o.tick, 0.0)
            else:
                if bb is not None and o.tick <= bb:
                    self._fill(o, o.remaining, ts_ms)
                    continue
                if book is None:
                    continue
                shown = book.asks.get(o.tick, 0.0)
            if self._probabilistic_queue:
                self._share_cancels(o, shown)
            elif shown < o.queue_ahead:  # cancellations ahead of us
                o.queue_ahead = shown

    def _edge(self, symbol: str) -> tuple[int, int, bool]:
        """Our highest buy tick, lowest sell tick and whether a trigger order waits (cached until the orders
        change)."""
        orders = self._open[symbol]
        buys = [o.tick for o in orders if o.side == "buy" and o.tick is not None]
        sells = [o.tick for o in orders if o.side == "sell" and o.tick is not None]
        edge = (max(buys, default=-1), min(sells, default=1 << 62), any(o.tick is None for o in orders))
        self._edges[symbol] = edge
        return edge

    def _share_cancels(self, o: SimOrder, shown: float) -> None:
        """The probabilistic queue model: a level that shrank by more than its prints lost cancellations, shared
        between the size ahead of us and behind us by ``ahead ** n / (ahead ** n + behind ** n)``."""
        before = o.level_seen
        o.level_seen = shown
        if shown >= before or o.queue_ahead <= 0.0:
            o.queue_ahead = min(o.queue_ahead, shown)
            return
        ahead = o.queue_ahead
        behind = max(before - ahead, 0.0)
        n = self._queue_power
        front, back = ahead ** n, behind ** n
        share = front / (front + back) if front + back > 0 else 1.0
        o.queue_ahead = min(max(ahead - (before - shown) * share, 0.0), shown)

    def _fill(self, o: SimOrder, qty: float, ts_ms: int, tick: int | None = None, taker: bool = False) -> dict | None:
        spec = self.specs[o.symbol]
        if tick is None:
            tick = o.tick
        price = round(tick * spec.tick, spec.price_decimals)
        position_side = None
        if spec.contract:
            position_side = (o.position_side or ("long" if o.is_buy != o.reduce_only else "short")) \
                if self._hedged else None
            if o.reduce_only:
                qty = min(qty, self._reducible(spec.symbol, o))
                if qty <= 1e-12:
                    self._close(o, "canceled", ts_ms)
                    return None
        qty = round(qty, spec.amount_decimals + 4)
        if qty <= 0:
            return None
        fee_rate = spec.taker if taker else spec.maker
        if o.reserve_code is not None and o.remaining > 0:
            share = o.reserve_amount * min(qty / o.remaining, 1.0)
            self.account.release(o.reserve_code, share)
            o.reserve_amount -= share
        if spec.contract:
            res = self.account.perp_fill(spec, o.is_buy, qty, price, fee_rate, position_side, o.leverage,
                                         o.margin_mode, ts_ms)
        else:
            res = self.account.spot_fill(spec, o.is_buy, qty, price, fee_rate)
        notional = qty * price * spec.contract_size
        o.filled = round(o.filled + qty, spec.amount_decimals + 4)
        o.cost += notional
        o.fee += res.fee
        o.last_trade_ts = ts_ms
        o.updated_ts = ts_ms
        trade_id = str(self._next_trade)
        self._next_trade += 1
        o.trade_ids.append(trade_id)
        trade = {
            "info": {"orderId": o.id, "realizedPnl": res.realized_pnl},
            "id": trade_id, "order": o.id,
            "timestamp": ts_ms, "datetime": iso8601(ts_ms), "symbol": o.symbol, "type": o.type, "side": o.side,
            "takerOrMaker": "taker" if taker else "maker", "price": price, "amount": qty, "cost": notional,
            "fee": {"cost": res.fee, "currency": spec.settle or spec.quote, "rate": fee_rate},
            "fees": [{"cost": res.fee, "currency": spec.settle or spec.quote, "rate": fee_rate}],
        }
        self._my_trades.append(trade)
        self._trades_by_order.setdefault(o.id, []).append(trade)
        self._new_trades.append(trade)
        self._dirty_account = True
        if o.remaining <= spec.lot * 1e-6:
            self._close(o, "closed", ts_ms)
        else:
            self._dirty_orders.add(o.id)
        return trade

    def _fire(self, o: SimOrder, ts_ms: int) -> None:
        """A trigger order reached: it goes at market for what is left (a reduce-only one for what it still
        reduces); what the book cannot fill is cancelled."""
        book = self.source.book(o.symbol)
        for t, q in book.take(not o.is_buy, o.remaining, None):
            price = self._price(o.symbol, t)
            self._public[o.symbol].append((ts_ms, price, q, o.is_buy))
            self._candles[o.symbol].add(ts_ms, price, q)
            self._fill(o, q, ts_ms, tick=t, taker=True)
            if o.status != "open":
                break
        if o.status == "open":
            self._close(o, "closed" if o.remaining <= 0 else "canceled", ts_ms)

    def _close(self, o: SimOrder, status: str, ts_ms: int) -> None:
        o.status = status
        o.updated_ts = ts_ms
        if o.reserve_code is not None and o.reserve_amount:
            self.account.release(o.reserve_code, o.reserve_amount)
            o.reserve_amount = 0.0
        book = self._open[o.symbol]
        if o in book:
            book.remove(o)
            self._edges.pop(o.symbol, None)
        self._dirty_orders.add(o.id)
        self._dirty_account = True
        self._remember_closed(o.id)

    def _remember_closed(self, order_id: str) -> None:
        self._closed_ids.append(order_id)
        while len(self._closed_ids) > CLOSED_ORDERS_KEPT:
            old = self._closed_ids.popleft()
            o = self._orders.pop(old, None)
            self._trades_by_order.pop(old, None)
            if o is not None and o.client_id and self._by_client.get(o.client_id) == old:
                del self._by_client[o.client_id]
            self._dirty_orders.discard(old)
            self._pruned_orders.append(old)

    def _reducible(self, symbol: str, o: SimOrder) -> float:
        if self._hedged:
            pos = self.account.position(symbol, o.position_side or ("short" if o.is_buy else "long"))
            return pos.contracts if pos else 0.0
        net = self.account.net_contracts(symbol)
        return max(-net, 0.0) if o.is_buy else max(net, 0.0)

    def _reservation(self, spec: MarketSpec, buy: bool, qty: float, ref_price: float, type: str, reduce_only: bool,
                     leverage: int, book: Any) -> tuple[str | None, float]:
        if spec.contract:
            if reduce_only:
                return None, 0.0
            notional = qty * ref_price * spec.contract_size
            if type == "market":
                notional = self._walk_cost(spec, book, buy, qty) * spec.contract_size
            return spec.settle, notional / leverage + notional * spec.taker
        if buy:
            cost = self._walk_cost(spec, book, True, qty) if type == "market" else qty * ref_price
            return spec.quote, cost * (1.0 + spec.taker)
        return spec.base, qty

    @staticmethod
    def _walk_cost(spec: MarketSpec, book: Any, buy: bool, qty: float) -> float:
        """What taking ``qty`` from the book would cost now, in quote (per unit of contract size)."""
        cost, left = 0.0, qty
        for t, q in book.walk(not buy):
            take = min(q, left)
            cost += take * t * spec.tick
            left -= take
            if left <= 1e-12:
                break
        return cost

    @staticmethod
    def _can_fill(book: Any, buy: bool, qty: float, tick: int | None) -> bool:
        avail = 0.0
        for t, q in book.walk(not buy):
            if tick is not None and (t > tick if buy else t < tick):
                break
            avail += q
            if avail >= qty - 1e-12:
                return True
        return False

    def _new_order(self, spec: MarketSpec, client_id: str | None, side: str, type: str, tif: str, post_only: bool,
                   reduce_only: bool, position_side: str | None, qty: float, tick: int | None, now: int,
                   leverage: int, margin_mode: str) -> SimOrder:
        oid = str(self._next_order)
        self._next_order += 1
        o = SimOrder(oid, client_id, spec.symbol, side, type, "PO" if post_only else tif, post_only, reduce_only,
                     position_side, qty, self._price(spec.symbol, tick), tick, now, leverage, margin_mode)
        self._orders[oid] = o
        if client_id:
            self._by_client[client_id] = oid
        self._dirty_orders.add(oid)
        return o
