"""ccxt's unified order and account calls: balance, create, cancel, look up, own trades."""

from __future__ import annotations

import logging
import math
from decimal import Decimal
from typing import Any

import ccxt

from engine.clock import iso8601
from engine.exchanges.sim.api import (
    CLIENT_ID_RE,
    ORDER_PARAMS,
    TIME_IN_FORCE,
    TRIGGER_PARAMS,
    _api,
)
from engine.exchanges.sim.markets import (
    MarketSpec,
    currencies_of,
)
from engine.exchanges.sim.records import SimOrder

log = logging.getLogger("engine.exchanges.sim.venue")


class OrdersApi:
    """A part of :class:`engine.exchanges.sim.venue.SimExchange` (see the module docstring)."""

    def _spec(self, symbol: str) -> MarketSpec:
        if not isinstance(symbol, str) or symbol not in self.specs:
            raise ccxt.BadSymbol(f"sim does not have market symbol {symbol!r}; it lists: {', '.join(self.specs)}")
        return self.specs[symbol]

    @staticmethod
    def _positive(field: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, str, Decimal)):
            raise ccxt.InvalidOrder(f"sim: {field} must be a positive number, got {value!r}")
        try:
            x = float(value)
        except ValueError:
            raise ccxt.InvalidOrder(f"sim: {field} must be a positive number, got {value!r}") from None
        if not math.isfinite(x) or x <= 0:
            raise ccxt.InvalidOrder(f"sim: {field} must be a positive number, got {value!r}")
        return x

    @staticmethod
    def _steps(field: str, value: float, step: float) -> int:
        n = value / step
        k = round(n)
        if abs(n - k) > 1e-6 + abs(n) * 1e-12 or k <= 0:  # float noise only, never a real fraction of a step
            raise ccxt.InvalidOrder(
                f"sim: {field} {value!r} is not a multiple of the market's step {step!r}; "
                f"round it yourself (e.g. {max(k, 1) * step:.12g})"
            )
        return k

    def _find(self, order_id: str | None, params: dict | None) -> SimOrder:
        client_id = (params or {}).get("clientOrderId")
        if order_id is None and client_id is not None:
            order_id = self._by_client.get(client_id)
            if order_id is None:
                raise ccxt.OrderNotFound(f"sim: no order with clientOrderId {client_id!r}")
        o = self._orders.get(str(order_id)) if order_id is not None else None
        if o is None:
            raise ccxt.OrderNotFound(f"sim: no order with id {order_id!r}")
        return o

    def _order_struct(self, o: SimOrder) -> dict:
        spec = self.specs[o.symbol]
        filled = o.filled
        average = o.cost / (filled * spec.contract_size) if filled > 0 else None
        trades = list(self._trades_by_order.get(o.id, ())) if self.sim_config.answers_with_fills else []
        fee = {"cost": o.fee, "currency": spec.settle or spec.quote}
        return {
            "info": {"id": o.id, "status": o.status, "queueAhead": o.queue_ahead},
            "id": o.id, "clientOrderId": o.client_id,
            "timestamp": o.ts, "datetime": iso8601(o.ts),
            "lastTradeTimestamp": o.last_trade_ts, "lastUpdateTimestamp": o.updated_ts or o.ts,
            "symbol": o.symbol, "type": o.type, "timeInForce": o.tif, "postOnly": o.post_only,
            "reduceOnly": o.reduce_only, "side": o.side, "price": o.price, "triggerPrice": o.trigger_price,
            "stopPrice": o.trigger_price,
            "takeProfitPrice": o.trigger_price if o.trigger_kind == "takeProfitPrice" else None,
            "stopLossPrice": o.trigger_price if o.trigger_kind == "stopLossPrice" else None,
            "amount": o.amount, "filled": filled, "remaining": round(o.remaining, spec.amount_decimals + 4),
            "cost": o.cost, "average": average, "status": o.status, "fee": fee, "fees": [fee], "trades": trades,
            "positionSide": o.position_side,
        }

    def _price(self, symbol: str, tick: int | None) -> float | None:
        if tick is None:
            return None
        spec = self.specs[symbol]
        return round(tick * spec.tick, spec.price_decimals)

    @_api
    def fetch_balance(self, params: dict | None = None) -> dict:
        marks = self._marks()
        now = self.clock.now_ms()
        result: dict[str, Any] = {"info": {}, "free": {}, "used": {}, "total": {},
                                  "timestamp": now, "datetime": iso8601(now)}
        codes = sorted(set(self.account.cash) | set(currencies_of(self.specs)))
        for code in codes:
            total, used = self.account.balance_of(code, marks, self.specs)
            total_d = Decimal(repr(round(total, 8)))
            used_d = min(Decimal(repr(round(used, 8))), total_d)
            t, u, f = float(total_d), float(used_d), float(total_d - used_d)
            result[code] = {"free": f, "used": u, "total": t}
            result["free"][code], result["used"][code], result["total"][code] = f, u, t
        result["info"] = self.account_summary()
        return result

    @_api
    def account_summary(self) -> dict:
        """Equity and its parts, in the quote currency: the numbers the equity identity is about."""
        marks, asset_marks = self._marks(), self._asset_marks()
        acc = self.account
        return {
            "currency": self.quote,
            "startEquity": acc.start_equity,
            "equity": acc.equity(marks, asset_marks, self.specs),
            "walletBalance": acc.cash.get(self.quote, 0.0),
            "realizedPnl": acc.realized_pnl,
            "unrealizedPnl": acc.unrealized(marks, asset_marks, self.specs),
            "fees": acc.fees,
            "funding": acc.funding,
            "liquidations": acc.liquidations,
        }

    @_api
    def create_order(self, symbol: str, type: str, side: str, amount: Any, price: Any = None,
                     params: dict | None = None) -> dict:
        params = dict(params or {})
        spec = self._spec(symbol)
        self._require_fresh(symbol)  # live data: no order is matched against a book we cannot see
        unknown = set(params) - ORDER_PARAMS
        if unknown:
            raise ccxt.BadRequest(f"sim: unsupported order params {sorted(unknown)}; supported: {sorted(ORDER_PARAMS)}")
        if type not in ("limit", "market"):
            raise ccxt.InvalidOrder(f"sim: order type {type!r} is not supported; use 'limit' or 'market'")
        if side not in ("buy", "sell"):
            raise ccxt.InvalidOrder(f"sim: side must be 'buy' or 'sell', got {side!r}")
        qty = self._positive("amount", amount)
        lots = self._steps("amount", qty, spec.lot)
        qty = round(lots * spec.lot, spec.amount_decimals)
        if qty < spec.min_amount - 1e-12:
            raise ccxt.InvalidOrder(f"sim: amount {amount!r} is below the minimum {spec.min_amount} for {symbol}")
        if qty > spec.max_amount:
            raise ccxt.InvalidOrder(f"sim: amount {amount!r} is above the maximum {spec.max_amount} for {symbol}")
        tick = None
        if type == "limit":
            if price is None:
                raise ccxt.InvalidOrder("sim: a limit order needs a price")
            px = self._positive("price", price)
            tick = self._steps("price", px, spec.tick)
        elif price is not None and not (isinstance(price, (int, float)) and math.isfinite(float(price))):
            raise ccxt.InvalidOrder(f"sim: price must be a number or None for a market order, got {price!r}")
        tif = str(params.get("timeInForce", "GTC")).upper()
        if tif not in TIME_IN_FORCE:
            raise ccxt.InvalidOrder(f"sim: timeInForce {tif!r} is not supported; use one of {', '.join(TIME_IN_FORCE)}")
        post_only = bool(params.get("postOnly", False)) or tif == "PO"
        if post_only and type == "market":
            raise ccxt.InvalidOrder("sim: a market order cannot be post-only")
        reduce_only = bool(params.get("reduceOnly", False))
        position_side = params.get("positionSide")
        client_id = params.get("clientOrderId")
        if client_id is not None:
            client_id = str(client_id)
            if not CLIENT_ID_RE.match(client_id):
                raise ccxt.InvalidOrder(
                    f"sim: clientOrderId {client_id!r} must be 1-36 characters of A-Z a-z 0-9 . : / _ -")
            if client_id in self._by_client:
                raise ccxt.DuplicateOrderId(
                    f"sim: clientOrderId {client_id!r} was already used by order {self._by_client[client_id]}")
        if not spec.contract and (reduce_only or position_side):
            raise ccxt.InvalidOrder(f"sim: reduceOnly and positionSide apply to perpetuals, not to spot {symbol}")
        if position_side is not None:
            if position_side not in ("long", "short"):
                raise ccxt.InvalidOrder(f"sim: positionSide must be 'long' or 'short', got {position_side!r}")
            if not self._hedged:
                raise ccxt.InvalidOrder("sim: positionSide needs hedge mode; call set_position_mode(True) first")
        now = self.clock.now_ms()
        if self._halted(symbol, now):
            raise ccxt.ExchangeNotAvailable(f"sim: trading in {symbol} is halted (scripted event); try later")
        given = [k for k in TRIGGER_PARAMS if params.get(k) is not None]
        if given:
            return self._trigger_order(spec, given, params, side, type, qty, reduce_only, position_side, client_id,
                                       tif, now)
        book = self.source.book(symbol)
        bb, _, ba, _ = self.source.best(symbol)
        buy = side == "buy"
        crosses = tick is not None and ((buy and ba is not None and tick >= ba) or
                                        (not buy and bb is not None and tick <= bb))
        if post_only and crosses:
            best = ba if buy else bb
            raise ccxt.OrderImmediatelyFillable(
                f"sim: post-only {side} at {price} would cross the book (best {'ask' if buy else 'bid'} "
                f"{self._price(symbol, best)}); rejected")
        if type == "market" and (ba if buy else bb) is None:
            raise ccxt.InvalidOrder(f"sim: no {'asks' if buy else 'bids'} in {symbol} to fill a market order")
        ref_tick = tick if tick is not None else (ba if buy else bb)
        ref_price = ref_tick * spec.tick
        if qty * ref_price * spec.contract_size < spec.min_cost - 1e-9:
            raise ccxt.InvalidOrder(
                f"sim: order value {qty * ref_price * spec.contract_size:.2f} {spec.quote} is below the minimum "
                f"{spec.min_cost} for {symbol}")
        if reduce_only:
            probe = SimOrder("", None, symbol, side, type, tif, post_only, True, position_side, qty, None, None, now)
            reducible = self._reducible(symbol, probe)
            if reducible <= 0:
                raise ccxt.InvalidOrder(f"sim: reduceOnly {side} on {symbol} would not reduce any position")
            if qty > reducible + 1e-12:
                raise ccxt.InvalidOrder(
                    f"sim: reduceOnly amount {qty} exceeds the position it reduces ({reducible})")
        leverage = self._leverage.get(symbol, 1)
        margin_mode = self._margin_mode.get(symbol, "cross")
        reserve_code, reserve_amount = self._reservation(spec, buy, qty, ref_price, type, reduce_only, leverage, book)
        if reserve_code is not None:
            free = self.account.free(reserve_code, self._marks(), self.specs)
            if reserve_amount > free + 1e-9:
                raise ccxt.InsufficientFunds(
                    f"sim: {side} {qty} {symbol} needs {reserve_amount:.8g} {reserve_code}, "
                    f"but only {free:.8g} is free")
        if tif == "FOK" and not self._can_fill(book, buy, qty, tick):
            o = self._new_order(spec, client_id, side, type, tif, post_only, reduce_only, position_side, qty, tick,
                                now, leverage, margin_mode)
            self._close(o, "canceled", now)
            return self._order_struct(o)
        o = self._new_order(spec, client_id, side, type, tif, post_only, reduce_only, position_side, qty, tick, now,
                            leverage, margin_mode)
        if reserve_code is not None and reserve_amount > 0:
            o.reserve_code, o.reserve_amount = reserve_code, reserve_amount
            self.account.reserve(reserve_code, reserve_amount)
        if type == "market" or crosses:
            for t, q in book.take(not buy, qty, tick):
                self._public[symbol].append((now, self._price(symbol, t), q, buy))
                self._candles[symbol].add(now, self._price(symbol, t), q)
                self._fill(o, q, now, tick=t, taker=True)
                if o.status != "open":
                    break
        if o.status == "open":
            if type == "market" or tif in ("IOC", "FOK"):
                self._close(o, "closed" if o.remaining <= 0 else "canceled", now)
            else:
                o.queue_ahead = o.level_seen = book.qty(buy, tick)
                self._open[symbol].append(o)
                self._edges.pop(symbol, None)
        return self._order_struct(o)

    def _trigger_order(self, spec: MarketSpec, given: list[str], params: dict, side: str, type: str, qty: float,
                       reduce_only: bool, position_side: str | None, client_id: str | None, tif: str,
                       now: int) -> dict:
        """A stop-loss, take-profit or trigger order (ccxt's unified params): it waits off the book and goes at
        market when the mid reaches its price. Offered on perpetuals, for market orders."""
        if len(given) > 1:
            raise ccxt.InvalidOrder(f"sim: give one of {', '.join(TRIGGER_PARAMS)}, not {', '.join(given)}")
        kind = given[0]
        if not spec.contract:
            raise ccxt.NotSupported(f"sim: {kind} orders are offered on perpetuals, not on spot {spec.symbol}")
        if type != "market":
            raise ccxt.InvalidOrder(f"sim: a {kind} order is a market order once triggered; use type 'market'")
        trigger = self._positive(kind, params[kind])
        self._steps(kind, trigger, spec.tick)
        bb, _, ba, _ = self.source.best(spec.symbol)
        if bb is None or ba is None:
            raise ccxt.InvalidOrder(f"sim: no market in {spec.symbol} to place a {kind} order against")
        mid = (bb + ba) / 2 * spec.tick
        buy = side == "buy"
        above = {"stopLossPrice": buy, "takeProfitPrice": not buy}.get(kind, trigger > mid)
        if (above and trigger <= mid) or (not above and trigger >= mid):
            raise ccxt.OrderImmediatelyFillable(
                f"sim: {kind} {trigger} for a {side} would trigger immediately (mid {mid:.{spec.price_decimals}f})")
        if qty * trigger * spec.contract_size < spec.min_cost - 1e-9:
            raise ccxt.InvalidOrder(f"sim: order value {qty * trigger * spec.contract_size:.2f} {spec.quote} is below "
                                    f"the minimum {spec.min_cost} for {spec.symbol}")
        if reduce_only:
            probe = SimOrder("", None, spec.symbol, side, type, tif, False, True, position_side, qty, None, None, now)
            if self._reducible(spec.symbol, probe) <= 0:
                raise ccxt.InvalidOrder(f"sim: reduceOnly {side} on {spec.symbol} would not reduce any position")
        o = self._new_order(spec, client_id, side, type, tif, False, reduce_only, position_side, qty, None, now,
                            self._leverage.get(spec.symbol, 1), self._margin_mode.get(spec.symbol, "cross"))
        o.trigger_price, o.trigger_above, o.trigger_kind = trigger, above, kind
        self._open[spec.symbol].append(o)
        self._edges.pop(spec.symbol, None)
        return self._order_struct(o)

    @_api
    def cancel_order(self, id: str, symbol: str | None = None, params: dict | None = None) -> dict:
        o = self._find(id, params)
        if symbol is not None and o.symbol != symbol:
            raise ccxt.OrderNotFound(f"sim: order {id} is on {o.symbol}, not {symbol}")
        if o.status != "open":
            raise ccxt.OrderNotFound(f"sim: order {o.id} cannot be canceled: it is already {o.status}")
        self._close(o, "canceled", self.clock.now_ms())
        return self._order_struct(o)

    @_api
    def cancel_all_orders(self, symbol: str | None = None, params: dict | None = None) -> list[dict]:
        symbols = [self._spec(symbol).symbol] if symbol is not None else list(self.specs)
        now = self.clock.now_ms()
        out = []
        for s in symbols:
            for o in list(self._open[s]):
                self._close(o, "canceled", now)
                out.append(self._order_struct(o))
        return out

    @_api
    def fetch_order(self, id: str | None, symbol: str | None = None, params: dict | None = None) -> dict:
        o = self._find(id, params)
        if symbol is not None and o.symbol != symbol:
            raise ccxt.OrderNotFound(f"sim: order {id} is on {o.symbol}, not {symbol}")
        return self._order_struct(o)

    @_api
    def fetch_open_orders(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                          params: dict | None = None) -> list[dict]:
        symbols = [self._spec(symbol).symbol] if symbol is not None else list(self.specs)
        orders = [o for s in symbols for o in self._open[s] if since is None or o.ts >= since]
        orders.sort(key=lambda o: o.ts)
        if limit is not None:
            orders = orders[-int(limit):]
        return [self._order_struct(o) for o in orders]

    @_api
    def fetch_closed_orders(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                            params: dict | None = None) -> list[dict]:
        if symbol is not None:
            self._spec(symbol)
        orders = [o for o in self._orders.values() if o.status != "open" and (symbol is None or o.symbol == symbol)
                  and (since is None or o.ts >= since)]
        orders.sort(key=lambda o: o.ts)
        if limit is not None:
            orders = orders[-int(limit):]
        return [self._order_struct(o) for o in orders]

    @_api
    def fetch_my_trades(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                        params: dict | None = None) -> list[dict]:
        if symbol is not None:
            self._spec(symbol)
        trades = [t for t in self._my_trades if (symbol is None or t["symbol"] == symbol)
                  and (since is None or t["timestamp"] >= since)]
        if limit is not None:
            trades = trades[-int(limit):] if since is None else trades[: int(limit)]
        return trades
