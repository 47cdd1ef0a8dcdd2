"""The simulated venue: a ``ccxt.Exchange`` that trades a synthetic or replayed market.

It speaks ccxt's synchronous unified API and returns ccxt's unified structures, so the engine trades it
exactly as it trades a real exchange. Resting limit orders join the back of the queue at their price;
they fill when the other side trades through their price or when volume traded at their price exceeds
the queue ahead of them (partial fills). Market orders walk the book. Every call first brings the
market forward to the injected clock's time.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any, TypeVar

import ccxt
from ccxt.base.decimal_to_precision import TICK_SIZE

from engine.clock import Clock, SimClock, WallClock, iso8601
from engine.exchanges.sim.account import Account
from engine.exchanges.sim.candles import CandleSource
from engine.exchanges.sim.config import ScriptedEvent, SimConfig, SimConfigError, parse_sim_config
from engine.exchanges.sim.faults import FaultInjector
from engine.exchanges.sim.markets import (
    DEFAULT_MARKETS,
    EXTRA_MARKETS,
    MarketSpec,
    currencies_of,
    generic_market,
    known_market,
)
from engine.exchanges.sim.persistence import SimStateFile
from engine.exchanges.sim.records import TIMEFRAMES_MS, CandleSeries, SimOrder
from engine.exchanges.sim.replay import BinanceReplaySource
from engine.exchanges.sim.synthetic import SyntheticSource

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
CLIENT_ID_RE = re.compile(r"^[.A-Z:/a-z0-9_-]{1,36}$")
ORDER_PARAMS = {"postOnly", "reduceOnly", "clientOrderId", "positionSide", "timeInForce"}
TIME_IN_FORCE = ("GTC", "IOC", "FOK", "PO")
PUBLIC_TRADES_KEPT = 1000
MY_TRADES_KEPT = 50_000  # own trades kept (memory and state file), newest
CLOSED_ORDERS_KEPT = 20_000  # closed/canceled orders kept; older ones are forgotten like on a real venue


def _api(method: F) -> F:
    """Wrap a public call: latency, rate limit and injected errors, then market sync, then save."""
    name = method.__name__

    @functools.wraps(method)
    def wrapper(self: SimExchange, *args: Any, **kwargs: Any) -> Any:
        faults = self._faults
        if faults is not None:
            delay = faults.latency_s() + self._spike_s(self.clock.now_ms())
            if delay:
                self.clock.sleep(delay)
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
                        if error is ccxt.RequestTimeout and name == "create_order" and faults.timeout_after_accept():
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

    return wrapper  # type: ignore[return-value]


class SimExchange(ccxt.Exchange):
    """A simulated exchange (ccxt id ``sim``). See the module docstring."""

    def describe(self) -> dict:
        return self.deep_extend(super().describe(), {
            "id": "sim",
            "name": "Simulated venue",
            "countries": [],
            "version": "1",
            "rateLimit": 0,
            "certified": False,
            "pro": False,
            "precisionMode": TICK_SIZE,
            "has": {
                "CORS": None, "spot": True, "margin": False, "swap": True, "future": False, "option": False,
                "cancelAllOrders": True, "cancelOrder": True, "createOrder": True, "createMarketOrder": True,
                "createLimitOrder": True, "createPostOnlyOrder": True, "createReduceOnlyOrder": True,
                "fetchBalance": True, "fetchClosedOrders": True, "fetchCurrencies": True, "fetchFundingRate": True,
                "fetchMarkets": True, "fetchMyTrades": True, "fetchOHLCV": True, "fetchOpenOrders": True,
                "fetchOrder": True, "fetchOrderBook": True, "fetchPositions": True, "fetchStatus": True,
                "fetchTicker": True, "fetchTickers": True, "fetchTime": True, "fetchTrades": True,
                "setLeverage": True, "setMarginMode": True, "setPositionMode": True, "fetchPositionMode": True,
            },
            "timeframes": {k: k for k in TIMEFRAMES_MS},
            "urls": {"www": "https://localhost/sim", "api": {}},
        })

    def __init__(self, config: dict | None = None, clock: Clock | None = None) -> None:
        self.sim_config: SimConfig = parse_sim_config(config)
        super().__init__({"enableRateLimit": False})
        cfg = self.sim_config
        self._lock = threading.RLock()
        self._depth = 0
        if cfg.source.type == "synthetic":
            self.clock: Clock = clock or WallClock()
            self.source: Any = SyntheticSource(_synthetic_specs(cfg), cfg.seed, cfg.step_ms, self.clock.now_ms(),
                                               cfg.source.warmup_minutes)
        else:
            self.source = (BinanceReplaySource(cfg.source.files) if cfg.source.type == "replay"
                           else CandleSource(cfg.source.files, seed=cfg.seed, step_ms=cfg.step_ms))
            self.clock = clock or SimClock(self.source.start_ms())
            if isinstance(self.source, CandleSource) and self.clock.now_ms() > (self.source.start_ms() or 0):
                self.source.jump_to(self.clock.now_ms())  # a window later in the files
        self.specs: dict[str, MarketSpec] = {
            s: self.source.specs[s].with_fees(cfg.maker_fee, cfg.taker_fee) for s in self.source.symbols
        }
        self.quote = "USDT"
        self._created_ms = self.clock.now_ms()
        self._events = self._resolve_events()
        timed_faults = any(e.type in ("latency_spike", "error_burst") for e in self._events)
        self._faults = FaultInjector(cfg.faults, cfg.seed, self.clock) if cfg.faults.active or timed_faults else None
        if isinstance(self.source, SyntheticSource):
            self.source.events = self._events
        self._state_file = SimStateFile(cfg.state_path) if cfg.state_path else None
        self._reset_memory()
        restored = self._state_file.load() if self._state_file else None
        if restored:
            self._restore(restored)
        else:
            self._open_books()
        self.set_markets([s.to_ccxt() for s in self.specs.values()], self._currencies())
        self._flush()

    # ------------------------------------------------------------------ construction helpers
    def _resolve_events(self) -> list[ScriptedEvent]:
        out = []
        for e in self.sim_config.events:
            at = e.at_ms if e.at_ms is not None else self._created_ms + int(e.after_s * 1000)
            if e.symbol is not None and e.symbol not in self.specs:
                raise ccxt.BadSymbol(f"sim.events: {e.type} names {e.symbol!r}, which this venue does not list")
            out.append(replace(e, at_ms=at))
        return out

    def _reset_memory(self) -> None:
        self.account = Account(self.quote, self.sim_config.balances)
        self._orders: dict[str, SimOrder] = {}
        self._open: dict[str, list[SimOrder]] = {s: [] for s in self.specs}
        self._by_client: dict[str, str] = {}
        self._my_trades: deque[dict] = deque(maxlen=MY_TRADES_KEPT)
        self._trades_by_order: dict[str, list[dict]] = {}
        self._closed_ids: deque[str] = deque()
        self._pruned_orders: list[str] = []
        self._public: dict[str, deque] = {s: deque(maxlen=PUBLIC_TRADES_KEPT) for s in self.specs}
        self._candles: dict[str, CandleSeries] = {s: CandleSeries() for s in self.specs}
        for s, rows in self.source.history().items():
            if s in self._candles:
                self._candles[s].extend(rows)
        self._leverage: dict[str, int] = {s: self.sim_config.leverage for s in self.specs if self.specs[s].contract}
        self._margin_mode: dict[str, str] = {s: self.sim_config.margin_mode for s in self._leverage}
        self._hedged = self.sim_config.position_mode == "hedge"
        self._next_order = 1_000_000
        self._next_trade = 1
        self._next_funding_ms = self._funding_after(self.clock.now_ms())
        self._last_funding: dict[str, tuple[float, int]] = {}
        self._dirty_orders: set[str] = set()
        self._new_trades: list[dict] = []
        self._dirty_account = True
        self._last_sync_ms = self.clock.now_ms()

    def _open_books(self) -> None:
        """Value the starting holdings once every held currency has a price (a replay has none before its data)."""
        marks = self._asset_marks()
        held = [c for c, q in self.account.cash.items() if q and c != self.quote and c in marks_needed(self.specs)]
        if all(c in marks for c in held):
            self.account.open_books(marks)
            self._books_open = True
            self._dirty_account = True
        else:
            self._books_open = False

    def _currencies(self) -> dict:
        out = {}
        for code in currencies_of(self.specs):
            out[code] = {
                "id": code, "code": code, "name": code, "type": "crypto", "active": True, "deposit": True,
                "withdraw": True, "fee": 0.0, "precision": 1e-8, "networks": {}, "info": {"code": code},
                "limits": {"amount": {"min": None, "max": None}, "withdraw": {"min": None, "max": None}},
            }
        return out

    # ------------------------------------------------------------------ time and market sync
    def milliseconds(self) -> int:
        return self.clock.now_ms()

    def _sync(self) -> None:
        """Bring the market, funding and liquidations forward to the clock's time."""
        now = self.clock.now_ms()
        # Only a wall clock skips ahead after a long idle spell; a simulated clock is always simulated in full.
        catchup = int(self.sim_config.max_catchup_s * 1000) if isinstance(self.clock, WallClock) else None
        self.source.advance(now, self, catchup)
        if not self._books_open:
            self._open_books()
        while self._next_funding_ms <= now:
            self._settle_funding(self._next_funding_ms)
            self._next_funding_ms = self._funding_after(self._next_funding_ms)
        self._last_sync_ms = now

    def _funding_after(self, ms: int) -> int:
        step = self.sim_config.funding_interval_h * 3_600_000
        return (ms // step + 1) * step

    def _spike_s(self, ts_ms: int) -> float:
        return sum(e.ms for e in self._events if e.type == "latency_spike" and e.active(ts_ms)) / 1000.0

    def _burst_error(self, method: str) -> type[ccxt.BaseError] | None:
        now = self.clock.now_ms()
        for e in self._events:
            if e.type == "error_burst" and e.active(now):
                return self._faults.draw_burst(method, e.rate)
        return None

    def _halted(self, symbol: str | None, ts_ms: int) -> bool:
        for e in self._events:
            if e.type == "halt" and (e.symbol is None or e.symbol == symbol):
                if e.at_ms <= ts_ms < e.at_ms + e.duration_s * 1000:
                    return True
        return False

    # ------------------------------------------------------------------ MarketSink
    def on_trade(self, symbol: str, ts_ms: int, tick: int, qty: float, aggressor_buy: bool) -> None:
        spec = self.specs[symbol]
        price = round(tick * spec.tick, spec.price_decimals)
        self._public[symbol].append((ts_ms, price, qty, aggressor_buy))
        self._candles[symbol].add(ts_ms, price, qty)
        orders = self._open[symbol]
        if not orders or self._halted(symbol, ts_ms):
            return
        if aggressor_buy:  # sellers resting at or below the print are hit, best (lowest) first
            hit = sorted((o for o in orders if not o.is_buy and o.tick <= tick), key=lambda o: (o.tick, o.ts))
        else:
            hit = sorted((o for o in orders if o.is_buy and o.tick >= tick), key=lambda o: (-o.tick, o.ts))
        consumed = 0.0
        for o in hit:
            if o.tick != tick:  # the print went through our price: we were ahead of it
                self._fill(o, o.remaining, ts_ms)
                continue
            ahead = o.queue_ahead
            o.queue_ahead = max(0.0, ahead - qty)
            available = qty - ahead - consumed
            if available > 1e-12:
                take = min(available, o.remaining)
                consumed += take
                self._fill(o, take, ts_ms)

    def on_book(self, symbol: str, ts_ms: int) -> None:
        orders = self._open[symbol]
        spec = self.specs[symbol]
        if orders and not self._halted(symbol, ts_ms):
            bb, _, ba, _ = self.source.best(symbol)
            book = self.source.book(symbol)
            for o in list(orders):
                if o.is_buy:
                    if ba is not None and o.tick >= ba:
                        self._fill(o, o.remaining, ts_ms)
                        continue
                    shown = book.bids.get(o.tick, 0.0)
                else:
                    if bb is not None and o.tick <= bb:
                        self._fill(o, o.remaining, ts_ms)
                        continue
                    shown = book.asks.get(o.tick, 0.0)
                if shown < o.queue_ahead:  # cancellations ahead of us
                    o.queue_ahead = shown
        if spec.contract and self.account.positions:
            self._check_liquidation(spec, ts_ms)

    # ------------------------------------------------------------------ fills and accounting
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

    def _close(self, o: SimOrder, status: str, ts_ms: int) -> None:
        o.status = status
        o.updated_ts = ts_ms
        if o.reserve_code is not None and o.reserve_amount:
            self.account.release(o.reserve_code, o.reserve_amount)
            o.reserve_amount = 0.0
        book = self._open[o.symbol]
        if o in book:
            book.remove(o)
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

    def _check_liquidation(self, spec: MarketSpec, ts_ms: int) -> None:
        acc = self.account
        mark = self._mark(spec.symbol)
        if mark is None:
            return
        for side in ("long", "short"):
            pos = acc.position(spec.symbol, side)
            if pos is None or pos.margin_mode != "isolated":
                continue
            maintenance = pos.contracts * spec.contract_size * mark * spec.maintenance_margin_rate
            if pos.margin + pos.unrealized(mark, spec.contract_size) < maintenance:
                self._liquidate(spec, side, mark, ts_ms)
        cross = [p for p in acc.positions.values() if p.margin_mode == "cross"]
        if cross:
            marks = self._marks()
            equity = acc.cash.get(self.quote, 0.0) - sum(
                p.margin for p in acc.positions.values() if p.margin_mode == "isolated")
            need = 0.0
            for p in cross:
                s = self.specs[p.symbol]
                m = marks.get(p.symbol, p.entry_price)
                equity += p.unrealized(m, s.contract_size)
                need += p.contracts * s.contract_size * m * s.maintenance_margin_rate
            if equity < need:
                for p in cross:
                    s = self.specs[p.symbol]
                    self._liquidate(s, p.side, marks.get(p.symbol, p.entry_price), ts_ms)

    def _liquidate(self, spec: MarketSpec, side: str, mark: float, ts_ms: int) -> None:
        for o in list(self._open[spec.symbol]):  # the venue pulls the position's orders first
            self._close(o, "canceled", ts_ms)
        qty, pnl = self.account.liquidate(spec, side, mark, spec.taker, ts_ms)
        log.warning("sim: %s %s position of %s liquidated at %s (pnl %.2f)", spec.symbol, side, qty, mark, pnl)
        self._dirty_account = True

    def _settle_funding(self, ts_ms: int) -> None:
        for s, spec in self.specs.items():
            if not spec.contract:
                continue
            mark = self._mark(s)
            if mark is None:
                continue
            rate = self._funding_rate(s)
            self._last_funding[s] = (rate, ts_ms)
            if self.account.pay_funding(spec, mark, rate):
                self._dirty_account = True

    def _funding_rate(self, symbol: str) -> float:
        base_rate = self.sim_config.funding_rate
        spec = self.specs[symbol]
        spot = f"{spec.base}/{spec.quote}"
        perp_mark, spot_mark = self._mark(symbol), self._mark(spot) if spot in self.specs else None
        if perp_mark is None or spot_mark is None:
            return base_rate
        premium = perp_mark / spot_mark - 1.0
        return max(-0.0075, min(0.0075, base_rate + premium / 3.0))

    # ------------------------------------------------------------------ marks
    def _mark(self, symbol: str) -> float | None:
        bb, _, ba, _ = self.source.best(symbol)
        if bb is None or ba is None:
            return None
        return (bb + ba) * 0.5 * self.specs[symbol].tick

    def _marks(self) -> dict[str, float]:
        out = {}
        for s in self.specs:
            m = self._mark(s)
            if m is not None:
                out[s] = m
        return out

    def _asset_marks(self) -> dict[str, float]:
        """Price in the quote currency of every currency the venue lists (spot first, else perp)."""
        out: dict[str, float] = {self.quote: 1.0}
        for s, spec in sorted(self.specs.items(), key=lambda kv: kv[1].contract, reverse=True):
            m = self._mark(s)
            if m is not None:
                out[spec.base] = m
        return out

    # ------------------------------------------------------------------ persistence
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
        super().close()

    # ------------------------------------------------------------------ validation helpers
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

    # ------------------------------------------------------------------ structures
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
            "reduceOnly": o.reduce_only, "side": o.side, "price": o.price, "triggerPrice": None,
            "stopPrice": None, "takeProfitPrice": None, "stopLossPrice": None,
            "amount": o.amount, "filled": filled, "remaining": round(o.remaining, spec.amount_decimals + 4),
            "cost": o.cost, "average": average, "status": o.status, "fee": fee, "fees": [fee], "trades": trades,
            "positionSide": o.position_side,
        }

    def _price(self, symbol: str, tick: int | None) -> float | None:
        if tick is None:
            return None
        spec = self.specs[symbol]
        return round(tick * spec.tick, spec.price_decimals)

    # ================================================================== ccxt unified API
    @_api
    def fetch_markets(self, params: dict | None = None) -> list[dict]:
        return [s.to_ccxt() for s in self.specs.values()]

    @_api
    def fetch_currencies(self, params: dict | None = None) -> dict:
        return self._currencies()

    @_api
    def fetch_time(self, params: dict | None = None) -> int:
        return self.clock.now_ms()

    @_api
    def fetch_status(self, params: dict | None = None) -> dict:
        now = self.clock.now_ms()
        halted = self._halted(None, now)
        finished = getattr(self.source, "finished", False)
        return {
            "status": "maintenance" if halted else "ok", "updated": now, "eta": None, "url": None,
            "info": {"halted": halted, "replayFinished": finished, "source": self.sim_config.source.type},
        }

    @_api
    def fetch_order_book(self, symbol: str, limit: int | None = None, params: dict | None = None) -> dict:
        spec = self._spec(symbol)
        book = self.source.book(symbol)
        n = 100 if limit is None else max(1, int(limit))
        bids, asks = dict(book.levels(True, n + 50)), dict(book.levels(False, n + 50))
        for o in self._open[symbol]:  # our own resting orders are part of the public book
            side = bids if o.is_buy else asks
            side[o.tick] = side.get(o.tick, 0.0) + o.remaining
        dec, adec = spec.price_decimals, spec.amount_decimals + 4
        now = self.clock.now_ms()
        return {
            "symbol": symbol,
            "bids": [[round(t * spec.tick, dec), round(q, adec)] for t, q in sorted(bids.items(), reverse=True)[:n]],
            "asks": [[round(t * spec.tick, dec), round(q, adec)] for t, q in sorted(asks.items())[:n]],
            "timestamp": now, "datetime": iso8601(now), "nonce": book.nonce,
        }

    def _ticker(self, symbol: str) -> dict:
        spec = self._spec(symbol)
        now = self.clock.now_ms()
        bb, bq, ba, aq = self.source.best(symbol)
        rows = self._candles[symbol].window(now - 86_400_000)
        public = self._public[symbol]
        last = public[-1][1] if public else (rows[-1][4] if rows else None)
        bid, ask = self._price(symbol, bb), self._price(symbol, ba)
        if last is None and bid is not None and ask is not None:
            last = round((bid + ask) / 2, spec.price_decimals)
        high = max((r[2] for r in rows), default=last)
        low = min((r[3] for r in rows), default=last)
        open_ = rows[0][1] if rows else last
        base_volume = sum(r[5] for r in rows) * spec.contract_size
        quote_volume = sum(r[5] * r[4] for r in rows) * spec.contract_size
        change = (last - open_) if last is not None and open_ else None
        ticker = {
            "symbol": symbol, "info": {"source": self.sim_config.source.type},
            "timestamp": now, "datetime": iso8601(now),
            "high": high, "low": low, "bid": bid, "bidVolume": bq, "ask": ask, "askVolume": aq,
            "vwap": quote_volume / base_volume if base_volume else None,
            "open": open_, "close": last, "last": last, "previousClose": None,
            "change": change, "percentage": change / open_ * 100 if change is not None else None,
            "average": (last + open_) / 2 if last is not None and open_ else None,
            "baseVolume": base_volume, "quoteVolume": quote_volume,
            "markPrice": None, "indexPrice": None,
        }
        if spec.contract:
            ticker["markPrice"] = self._mark(symbol)
            spot = f"{spec.base}/{spec.quote}"
            ticker["indexPrice"] = self._mark(spot) if spot in self.specs else ticker["markPrice"]
        return ticker

    @_api
    def fetch_ticker(self, symbol: str, params: dict | None = None) -> dict:
        return self._ticker(symbol)

    @_api
    def fetch_tickers(self, symbols: list[str] | None = None, params: dict | None = None) -> dict:
        return {s: self._ticker(s) for s in (symbols or list(self.specs))}

    @_api
    def fetch_ohlcv(self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None,
                    params: dict | None = None) -> list[list]:
        self._spec(symbol)
        if timeframe not in TIMEFRAMES_MS:
            raise ccxt.BadRequest(f"sim: timeframe {timeframe!r} is not supported; use one of "
                                  + ", ".join(TIMEFRAMES_MS))
        return self._candles[symbol].ohlcv(timeframe, since, limit, self.clock.now_ms())

    @_api
    def fetch_trades(self, symbol: str, since: int | None = None, limit: int | None = None,
                     params: dict | None = None) -> list[dict]:
        spec = self._spec(symbol)
        rows = [r for r in self._public[symbol] if since is None or r[0] >= since]
        if limit is not None:
            rows = rows[-int(limit):]
        out = []
        for ts, price, qty, buy in rows:
            out.append({
                "info": {}, "id": None, "order": None, "timestamp": ts, "datetime": iso8601(ts), "symbol": symbol,
                "type": None, "side": "buy" if buy else "sell", "takerOrMaker": None, "price": price,
                "amount": qty, "cost": price * qty * spec.contract_size, "fee": None, "fees": [],
            })
        return out

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

    # ------------------------------------------------------------------ trading
    @_api
    def create_order(self, symbol: str, type: str, side: str, amount: Any, price: Any = None,
                     params: dict | None = None) -> dict:
        params = dict(params or {})
        spec = self._spec(symbol)
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
                o.queue_ahead = book.qty(buy, tick)
                self._open[symbol].append(o)
        return self._order_struct(o)

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
        for t, q in book.levels(not buy):
            take = min(q, left)
            cost += take * t * spec.tick
            left -= take
            if left <= 1e-12:
                break
        return cost

    @staticmethod
    def _can_fill(book: Any, buy: bool, qty: float, tick: int | None) -> bool:
        avail = 0.0
        for t, q in book.levels(not buy):
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

    # ------------------------------------------------------------------ derivatives
    def _contract(self, symbol: str | None, what: str) -> MarketSpec:
        if symbol is None:
            raise ccxt.ArgumentsRequired(f"sim {what} requires a symbol argument")
        spec = self._spec(symbol)
        if not spec.contract:
            raise ccxt.BadSymbol(f"sim {what}: {symbol} is a spot market; use a perpetual such as {symbol}:"
                                 f"{spec.quote}")
        return spec

    @_api
    def fetch_positions(self, symbols: list[str] | None = None, params: dict | None = None) -> list[dict]:
        wanted = set(symbols) if symbols else None
        out = []
        now = self.clock.now_ms()
        cross_equity = None
        for (sym, side), p in sorted(self.account.positions.items()):
            if wanted is not None and sym not in wanted:
                continue
            spec = self.specs[sym]
            mark = self._mark(sym) or p.entry_price
            notional = p.contracts * spec.contract_size * mark
            upnl = p.unrealized(mark, spec.contract_size)
            mm = notional * spec.maintenance_margin_rate
            if p.margin_mode == "isolated":
                collateral = p.margin + upnl
            else:
                if cross_equity is None:
                    cross_equity = self._cross_equity()
                collateral = cross_equity
            liq = p.liquidation_price(spec)
            out.append({
                "info": {"symbol": sym, "side": side}, "id": None, "symbol": sym,
                "timestamp": p.updated_ms or now, "datetime": iso8601(p.updated_ms or now),
                "lastUpdateTimestamp": p.updated_ms, "hedged": self._hedged, "side": side,
                "contracts": p.contracts, "contractSize": spec.contract_size, "entryPrice": p.entry_price,
                "markPrice": mark, "lastPrice": None, "notional": notional, "leverage": p.leverage,
                "collateral": collateral, "initialMargin": notional / p.leverage,
                "initialMarginPercentage": 1.0 / p.leverage, "maintenanceMargin": mm,
                "maintenanceMarginPercentage": spec.maintenance_margin_rate,
                "marginRatio": mm / collateral if collateral > 0 else None, "positionMargin": p.margin,
                "unrealizedPnl": upnl, "realizedPnl": p.realized_pnl, "liquidationPrice": liq,
                "marginMode": p.margin_mode, "percentage": upnl / p.margin * 100 if p.margin else None,
                "stopLossPrice": None, "takeProfitPrice": None,
            })
        return out

    def _cross_equity(self) -> float:
        acc, marks = self.account, self._marks()
        eq = acc.cash.get(self.quote, 0.0)
        for p in acc.positions.values():
            if p.margin_mode == "isolated":
                eq -= p.margin
            else:
                eq += p.unrealized(marks.get(p.symbol, p.entry_price), self.specs[p.symbol].contract_size)
        return eq

    def _busy(self, symbol: str | None) -> bool:
        syms = [symbol] if symbol else [s for s, sp in self.specs.items() if sp.contract]
        return any(self._open[s] for s in syms) or any(p.symbol in syms for p in self.account.positions.values())

    @_api
    def set_leverage(self, leverage: Any, symbol: str | None = None, params: dict | None = None) -> dict:
        spec = self._contract(symbol, "set_leverage")
        lev = self._positive("leverage", leverage)
        if lev != int(lev) or not 1 <= lev <= spec.max_leverage:
            raise ccxt.BadRequest(f"sim: leverage {leverage!r} for {symbol} must be a whole number from 1 to "
                                  f"{spec.max_leverage}")
        self._leverage[symbol] = int(lev)
        self._dirty_account = True
        return {"info": {"symbol": symbol, "leverage": int(lev)}, "symbol": symbol, "leverage": int(lev)}

    @_api
    def set_margin_mode(self, marginMode: str, symbol: str | None = None, params: dict | None = None) -> dict:
        spec = self._contract(symbol, "set_margin_mode")
        mode = str(marginMode).lower()
        if mode not in ("cross", "isolated"):
            raise ccxt.BadRequest(f"sim: margin mode {marginMode!r} must be 'cross' or 'isolated'")
        if mode != self._margin_mode[spec.symbol] and self._busy(spec.symbol):
            raise ccxt.BadRequest(f"sim: cannot change the margin mode of {symbol} with open orders or a position; "
                                  "close them first")
        self._margin_mode[spec.symbol] = mode
        self._dirty_account = True
        return {"info": {"symbol": symbol, "marginMode": mode}, "symbol": symbol, "marginMode": mode}

    @_api
    def set_position_mode(self, hedged: bool, symbol: str | None = None, params: dict | None = None) -> dict:
        if not isinstance(hedged, bool):
            raise ccxt.BadRequest(f"sim: set_position_mode takes True (hedge) or False (one-way), got {hedged!r}")
        if hedged != self._hedged and self._busy(None):
            raise ccxt.BadRequest("sim: cannot change the position mode with open perpetual orders or positions")
        self._hedged = hedged
        self._dirty_account = True
        return {"info": {"dualSidePosition": hedged}, "hedged": hedged}

    @_api
    def fetch_position_mode(self, symbol: str | None = None, params: dict | None = None) -> dict:
        """ccxt's unified answer: ``{"info": ..., "hedged": bool}``."""
        return {"info": {"dualSidePosition": self._hedged}, "hedged": self._hedged}

    @_api
    def fetch_funding_rate(self, symbol: str, params: dict | None = None) -> dict:
        spec = self._contract(symbol, "fetch_funding_rate")
        now = self.clock.now_ms()
        mark = self._mark(symbol)
        spot = f"{spec.base}/{spec.quote}"
        index = self._mark(spot) if spot in self.specs else mark
        rate = self._funding_rate(symbol)
        prev = self._last_funding.get(symbol)
        nxt = self._next_funding_ms
        hours = self.sim_config.funding_interval_h
        return {
            "info": {"symbol": spec.id}, "symbol": symbol, "markPrice": mark, "indexPrice": index,
            "interestRate": 0.0001, "estimatedSettlePrice": None, "timestamp": now, "datetime": iso8601(now),
            "fundingRate": rate, "fundingTimestamp": nxt, "fundingDatetime": iso8601(nxt),
            "nextFundingRate": None, "nextFundingTimestamp": None, "nextFundingDatetime": None,
            "previousFundingRate": prev[0] if prev else None,
            "previousFundingTimestamp": prev[1] if prev else None,
            "previousFundingDatetime": iso8601(prev[1]) if prev else None,
            "interval": f"{hours}h",
        }


def marks_needed(specs: dict[str, MarketSpec]) -> set[str]:
    """Currencies the venue can price (the bases of its markets)."""
    return {s.base for s in specs.values()}


def _synthetic_specs(cfg: SimConfig) -> dict[str, MarketSpec]:
    specs = {}
    for name in cfg.markets or tuple(DEFAULT_MARKETS):
        spec = known_market(name) or generic_market(name)
        if spec is None:
            raise SimConfigError(f"sim.markets: unknown market {name!r}: list BASE/USDT or BASE/USDT:USDT "
                                 f"(built-in: {', '.join([*DEFAULT_MARKETS, *EXTRA_MARKETS])})")
        specs[name] = spec
    return specs
