"""The engine's work on one exchange: each symbol's strategy decides, the risk gate clamps, the execution core acts.

Per cycle and symbol: the market state (book, closed candles, position, our live orders, the risk gate's verdict) goes
to the symbol's strategy (``engine/strategies``, named by ``symbols.<exchange>.<symbol>.strategy``); its desired quotes
pass the gate's remaining checks and the pure hygiene diff (``engine/hygiene.py``); the execution core
(``engine/execution/``: orders, fills, reconciliation) turns the result into orders.

Money safety:

- every order has a client order id and is written to the store as ``pending`` *before* it is sent;
- a request whose answer is lost (timeout, network) leaves the order ``unknown``; it keeps its ladder slot until
  its fate is learned by client order id, so a retry never places a second order;
- reconciliation (at start-up and every hygiene cycle) closes out orders the exchange no longer lists, adopts or
  cancels orders of ours the store does not know, and fetches fills missed while down.
"""

from __future__ import annotations

import logging
import time
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from operator import itemgetter
from typing import Any

import ccxt
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session, select

from engine.clock import Clock
from engine.config import AppConfig
from engine.exchanges.errors import TRANSIENT
from engine.exchanges.profiles import REFUSED, profile_for
from engine.execution.decisions import unquoted_sides
from engine.execution.directional import DirectionalDesk
from engine.execution.fills import FillIntake
from engine.execution.membership import Membership
from engine.execution.orders import OrderDesk, _base36
from engine.execution.reconcile import Reconciler
from engine.execution.snapshot import TraderSnapshot, take
from engine.hygiene import LIVE_STATES, HygieneRules, LiveOrder, plan_orders
from engine.ledger import Ledger
from engine.quoting import MarketView, volatility_bps
from engine.risk.gate import RiskGate, RollingRange
from engine.store import OrderRecord, TradeRecord
from engine.strategies import MarketState, OrderIntent, RiskVerdict, Strategy

log = logging.getLogger(__name__)

VOL_REFRESH_MS = 60_000
LOG_EVERY_MS = 60_000  # the same warning (symbol, side, reason) at most once a minute
MID_HISTORY = 3_600  # mids kept per symbol, one a second: an hour of live markouts
LIVE_COLUMNS = ("client_order_id", "side", "level", "price", "amount", "created_ms", "ref_mid", "status",
                "exchange_order_id")  # an order record's columns hygiene reads (LiveOrder)
_LIVE_FIELDS = itemgetter(*LIVE_COLUMNS)
RECONCILE_RETRY_MS = 5_000  # a start-up reconciliation that failed is retried this often, quoting held meanwhile


@dataclass
class TraderStats:
    cycles: int = 0
    placed: int = 0
    canceled: int = 0
    replaced: int = 0
    rejected: int = 0
    unknown: int = 0
    fills: int = 0
    errors: int = 0
    last_cycle_ms: float = 0.0
    cycle_ms: list[float] = field(default_factory=list)


class Trader(OrderDesk, FillIntake, Reconciler, DirectionalDesk, Membership):
    """Runs each configured symbol's strategy on one exchange and keeps the store in step with it."""

    def __init__(self, config: AppConfig, exchange: ccxt.Exchange, clock: Clock, db: DbEngine,
                 exchange_name: str | None = None, run_id: str | None = None) -> None:
        self.config = config
        self.ex = exchange
        self.clock = clock
        self.db = db
        self.name = exchange_name or config.engine.exchange
        self.prefix = config.engine.client_id_prefix
        # Unique per run and per exchange: traders of several exchanges share one store (unique client ids).
        self.run_id = run_id or _base36(clock.now_ms()) + _base36(zlib.crc32(self.name.encode()))[:2]
        self._seq = 0
        self.ledger = Ledger(self.name)
        self.orders: dict[str, OrderRecord] = {}  # live orders by client id (pending | open | unknown)
        self.vol: dict[str, tuple[int, float]] = {}
        self.last_requote: dict[str, int] = {}
        self.fill_cursor_ms = 0
        self._newest_fill_ms = 0
        self.stats = TraderStats()
        self._unsaved: dict[int, OrderRecord] = {}
        self._fill_backlog: dict[str, dict] = {}  # fills not stored yet: the store failed, or their order is unresolved
        self.store_down_since: int | None = None  # first failed write of the current store outage
        self.store_error = ""
        self.cancels_pending = False  # the last cancel_all left orders unconfirmed: the engine keeps sweeping
        self._stored_trades: dict[str, None] = {}  # ids of recent fills known to be in the store (bounded, ordered)
        self._cid_by_oid: dict[str, str] = {}  # exchange order id -> client order id (fills name only the former)
        self._backoff: dict[tuple[str, str, int], int] = {}  # (symbol, side, level) -> until ms
        self._side_backoff: dict[tuple[str, str], tuple[int, int]] = {}  # (symbol, side) -> (until ms, from level)
        self._warned: dict[tuple[str, str, str], tuple[int, int]] = {}  # -> (last logged ms, suppressed since)
        self._side_reason: dict[tuple[str, str], tuple[int, str]] = {}  # (symbol, side) -> (ms, why not quoted)
        self.capital_usd = float("inf")
        self.quoting_enabled = True
        self.reconciled = False  # quoting waits for one successful reconciliation with the exchange
        self._last_reconcile_try_ms = 0
        self._resume_at = 0  # where the next quoting cycle starts after one was cut short by slow requests
        self.symbols = config.active_symbols(self.name)
        self.profile = profile_for(self.ex.id)
        self._venue_hedged: bool | None = None  # the venue's own word on hedge mode, where it gives one
        self.gate = RiskGate()
        self.feed: Any = None  # engine.feed.BookFeed when the exchange streams books
        self.account_feed: Any = None  # engine.feed.AccountFeed when the exchange streams our fills and orders
        self._last_reconcile_ms = 0
        # Real exchanges mostly need a symbol to list fills (Binance does): poll each symbol, at most every 5 s.
        self.fills_per_symbol = self.profile.fills_need_symbol
        self.fills_every_ms = 5_000
        self._last_fill_poll_ms = 0
        self._id_sep = "" if self.profile.client_id_compact else "-"
        self._id_head = self.profile.client_id_head + self.prefix + self._id_sep
        self._closing: set[str] = set()  # client ids of hedge-mode orders that close a leg
        window_ms = config.risk.volatility_window_min * 60_000
        self.ranges = {s: RollingRange(window_ms) for s in self.symbols}
        self.views: dict[str, tuple[int, MarketView]] = {}
        self.candles: dict[str, list[list[float]]] = {}
        self._frozen_candles: dict[str, tuple[tuple[float, ...], ...]] = {}
        self.candle_range: dict[str, float | None] = {}  # high-low % of the candles in the risk window
        self.on_event: Callable[[str, str, str, str], None] | None = None  # (level, kind, message, key)
        self.strategies: dict[str, Strategy] = {}
        self.snapshot = TraderSnapshot()  # what other threads read (see publish)
        self.publishing = True  # False in a backtest: no other thread reads the snapshot, it is taken once at the end
        self.mids: dict[str, deque[tuple[int, float]]] = {}  # a mid a second, an hour deep: live markouts
        self.inventory_targets_usd: dict[str, float] = {}  # the funding job's signed inventory target per symbol
        self.funding_bps: dict[str, float] = {}  # the last funding rate read per perpetual (bps per interval)
        self.funding_lean_bps: dict[str, float] = {}  # how far the funding job moves the symbol's ladder (- down)
        self.peers: Callable[[str], float] | None = None  # the other exchanges' position in a symbol (netting)
        self._init_directional()
        self._init_membership()
        self.configure(config)

    def publish(self) -> None:
        """Freeze the live state for readers in other threads (the risk job, the console)."""
        self.snapshot = take(self.clock.now_ms(), self.orders.values(), self.ledger.positions, self.views,
                             self.candles, self.ranges, self.last_signal, self.held_exits, self.unquoted())

    def unquoted(self) -> dict[str, dict[str, str]]:
        """Per market-making symbol, each side with no live order and why (:func:`unquoted_sides`)."""
        return unquoted_sides([s for s in self.symbols if not self.is_directional(s)],
                              {(o.symbol, o.side) for o in self.orders.values() if o.level >= 0}, self.gate,
                              self._side_reason, self.clock.now_ms(), LOG_EVERY_MS,
                              self.quoting_enabled and self.reconciled)

    def read_view(self, symbol: str) -> MarketView | None:
        """The market now, for another thread: the stream's book or one REST request; the trader's state is not
        touched (unlike :meth:`market_view`)."""
        book = self.feed.latest(symbol) if self.feed is not None else None
        if book is None:
            book = self.ex.fetch_order_book(symbol, self.profile.book_top_limit)
        return self._view_of(symbol, book)

    # ----------------------------------------------------------------------------- set-up
    def startup(self) -> dict:
        """Load the store, then reconcile with the exchange before any quoting. Returns what was done."""
        if not self.profile.trades:
            raise ccxt.NotSupported(f"{self.name}: {REFUSED.get(self.ex.id, 'the engine cannot trade here')}")
        self.ex.load_markets()
        unknown = [s for s in self.symbols if s not in self.ex.markets]
        if unknown:
            raise ccxt.BadSymbol(f"{self.name} does not list {', '.join(unknown)}; "
                                 f"fix symbols.{self.name} in the config")
        with Session(self.db) as s:
            self.ledger.load(s)
            for rec in s.exec(select(OrderRecord).where(OrderRecord.exchange == self.name,
                                                        OrderRecord.status.in_(LIVE_STATES))).all():
                self.orders[rec.client_order_id] = rec
                if rec.exchange_order_id:
                    self._cid_by_oid[rec.exchange_order_id] = rec.client_order_id
                s.expunge(rec)
            last = s.exec(select(TradeRecord.ts).where(TradeRecord.exchange == self.name)
                          .order_by(TradeRecord.ts.desc())).first()
        self.fill_cursor_ms = self._newest_fill_ms = (last or 0)
        report = self.reconcile(startup=True)
        self.load_held_exits()
        self.publish()
        log.info("%s: start-up reconciliation: %s", self.name, report)
        return report

    # ----------------------------------------------------------------------------- quoting
    def quote_cycle(self, budget: int | None = None) -> None:
        """One quoting cycle over every active symbol."""
        t0 = time.perf_counter()
        self.stats.cycles += 1
        self.poll_fills()
        self.apply_streamed_orders()
        if self.quoting_enabled and not self.reconciled:
            now = self.clock.now_ms()
            if now - self._last_reconcile_try_ms >= RECONCILE_RETRY_MS:  # no quoting before the store agrees
                self._last_reconcile_try_ms = now
                self.reconcile()
        if self.quoting_enabled and self.reconciled:
            left = budget if budget is not None else self.config.hygiene.max_replacements_per_cycle
            by_symbol: dict[str, list[OrderRecord]] = {}  # one pass over the live orders, not one per symbol
            for o in self.orders.values():
                by_symbol.setdefault(o.symbol, []).append(o)
            began, limit = self.clock.now_ms(), max(1_000, 4 * self.config.engine.quote_interval_ms)
            first = self._resume_at % len(self.symbols) if self.symbols else 0
            self._resume_at = 0
            for i, symbol in enumerate(self.symbols[first:] + self.symbols[:first]):
                if i and self.clock.now_ms() - began > limit:  # slow requests: let the other jobs run, go on next
                    self._resume_at = (first + i) % len(self.symbols)
                    self._warn(symbol, "-", "slow cycle", f"quoting cycle cut short after {limit} ms of requests; "
                               "the symbols left are quoted first next cycle")
                    break
                try:
                    left -= self._quote_symbol(symbol, left, by_symbol.get(symbol, []))
                except TRANSIENT as exc:
                    self.stats.errors += 1
                    self._warn(symbol, "-", "market data", f"market data unavailable this cycle ({exc})")
        self._record_fills([])  # an order resolved this cycle may own fills kept back
        self.flush()
        if self.publishing:
            self.publish()
        dt = (time.perf_counter() - t0) * 1000
        self.stats.last_cycle_ms = dt
        if len(self.stats.cycle_ms) < 100_000:
            self.stats.cycle_ms.append(dt)

    def market_view(self, symbol: str) -> MarketView | None:
        """The market from the websocket feed when it is fresh, else one REST request."""
        view = self.read_view(symbol)
        if view is None:
            return None
        now = self.clock.now_ms()
        self.views[symbol] = (now, view)
        if symbol in self.ranges:
            self.ranges[symbol].add(now, view.mid)
        seen = self.mids.get(symbol)
        if seen is None:
            seen = self.mids[symbol] = deque(maxlen=MID_HISTORY)
        if not seen or now - seen[-1][0] >= 1000:
            seen.append((now, view.mid))
        return view

    def _view_of(self, symbol: str, book: dict) -> MarketView | None:
        if not book["bids"] or not book["asks"]:
            return None
        m = self.ex.markets[symbol]
        return MarketView(symbol, book["bids"][0][0], book["asks"][0][0], m["precision"]["price"],
                          m["precision"]["amount"], m["limits"]["amount"]["min"] or 0.0,
                          m["limits"]["cost"]["min"] or 0.0, m.get("contractSize") or 1.0, m.get("maker") or 0.0)

    def volatility(self, symbol: str) -> float:
        now = self.clock.now_ms()
        cached = self.vol.get(symbol)
        if cached and now - cached[0] < VOL_REFRESH_MS:
            return cached[1]
        limit = max(self.config.strategy.volatility_minutes, self.config.risk.volatility_window_min) + 1
        rows = self.ex.fetch_ohlcv(symbol, "1m", limit=limit)
        self.candles[symbol] = rows
        self._frozen_candles[symbol] = tuple(tuple(r) for r in rows)  # what strategies see, frozen once per fetch
        window = [r for r in rows if r[0] >= now - self.config.risk.volatility_window_min * 60_000]
        low = min((r[3] for r in window), default=0.0)
        self.candle_range[symbol] = (max(r[2] for r in window) - low) / low * 100 if low > 0 else None
        vol = volatility_bps([r[4] for r in rows[-(self.config.strategy.volatility_minutes + 1):]])
        self.vol[symbol] = (now, vol)
        return vol

    def _quote_symbol(self, symbol: str, budget: int, mine: list[OrderRecord]) -> int:
        """Plan and act on one symbol; ``mine`` are its live orders."""
        for rec in [o for o in mine if o.status in ("pending", "unknown")]:
            self._refresh(rec)  # an order whose fate is unknown holds its slot until it is learned
        view = self.market_view(symbol)
        if view is None:
            return 0
        now = self.clock.now_ms()
        if self.is_directional(symbol):
            self.run_directional(symbol, view, now)
            return 0
        if (self.warming or self.leaving) and self.held_back(symbol, view.mid, now):
            return 0
        live = [self._live(o) for o in mine if o.client_order_id in self.orders]
        desired = self._desired(symbol, view, now, live)
        plan = plan_orders(desired, live, view.mid, now, self.last_requote.get(symbol), self._rules(), budget)
        if plan.empty:
            return 0
        for o in plan.cancels:
            if o.client_id in self.orders:
                self.cancel(self.orders[o.client_id], plan.reasons.get(o.client_id, ""))
        # a replacement waits for its predecessor's cancel to be confirmed (a later cycle tries again)
        places = [q for q in plan.places if plan.replaces.get(q.key) not in self.orders]
        records = [self._pending(symbol, q.side, q.level, q.amount, q.price, view.mid) for q in places]
        self.write_ahead(records)  # every order is in the store as pending before any is sent
        for rec in records:
            self._send(rec)
        self.flush()
        self.last_requote[symbol] = now
        self.stats.replaced += plan.replacements
        return plan.replacements

    def _desired(self, symbol: str, view: MarketView, now: int, live: list[LiveOrder]) -> list:
        """The symbol's strategy decides on the market state; its quotes pass the gate's remaining checks (resting
        slots, portfolio limits, the per-symbol order cap); its orders to send are sent."""
        gate = self.gate
        sides = gate.side_blocks.get(symbol, set())
        leaving = self.leaving_side(symbol) if self.leaving else None
        verdict = RiskVerdict(blocked=gate.blocked(symbol) or None,
                              blocked_sides=frozenset(sides | {leaving} if leaving else sides),
                              size_factor=gate.size_factors.get(symbol))
        vol = self.volatility(symbol) if not verdict.blocked else self.vol.get(symbol, (0, 0.0))[1]
        own = self.ledger.position(symbol)
        state = MarketState(symbol=symbol, now_ms=now, view=view,
                            candles=self._frozen_candles.get(symbol, ()), volatility_bps=vol,
                            position=own.qty + (self.peers(symbol) if self.peers is not None else 0.0),
                            own_position=own.qty, entry_price=own.avg_price,
                            orders=tuple(live), risk=verdict, capital_usd=self.capital_usd,
                            inventory_target=self.inventory_targets_usd.get(symbol, 0.0) / (view.mid *
                                                                                              view.contract_size),
                            lean_bps=self.funding_lean_bps.get(symbol, 0.0))
        intent = self.strategies[symbol].decide(state)
        for order in intent.orders:
            self._send_intent(symbol, order)
        out = []
        for q in intent.quotes:
            if self._resting(symbol, q.side, q.level, now):
                continue
            if gate.portfolio is not None:
                reason = gate.portfolio(symbol, q.side, q.amount * q.price * view.contract_size)
                if reason:
                    self._warn(symbol, q.side, "portfolio", f"quote not placed: {reason}")
                    continue
            out.append(q)
        if self.leaving:
            out = self.quote_out(symbol, out, view.lot)
        cap = gate.max_orders_per_symbol
        if cap is not None and len(out) > cap:
            out = sorted(out, key=lambda q: (q.level, q.side))[:cap]
        return out

    def _send_intent(self, symbol: str, order: OrderIntent) -> None:
        """An order a strategy asked for, unless the gate refuses it (a blocked symbol or side)."""
        if self.gate.blocked(symbol) or order.side in self.gate.side_blocks.get(symbol, set()):
            self._warn(symbol, order.side, "gate", f"{order.reason or 'order'} not sent: the risk gate blocks it")
            return
        if order.type == "market":
            self.market_order(symbol, order.side, order.amount, reduce_only=order.reduce_only,
                              reason=order.reason or "strategy")
        else:
            view = self.views.get(symbol)
            self.place(symbol, order.side, -1, order.amount, order.price, view[1].mid if view else order.price)

    def _rules(self) -> HygieneRules:
        h = self.config.hygiene
        return HygieneRules(h.max_order_age_s, h.drift_bps, h.stale_depth_bps, h.max_replacements_per_cycle,
                            h.min_requote_interval_ms)

    @staticmethod
    def _live(o: OrderRecord) -> LiveOrder:
        """What hygiene needs of an order record. Read from the record's own ``__dict__`` in one step (the records
        here are never in a session, so every column is loaded there; through the ORM's attributes it cost 9 calls
        an order each cycle); by attribute when a column is not there."""
        try:
            cid, side, level, price, amount, created, ref_mid, status, oid = _LIVE_FIELDS(o.__dict__)
        except KeyError:
            cid, side, level, price, amount, created, ref_mid, status, oid = (getattr(o, k) for k in LIVE_COLUMNS)
        return LiveOrder(cid, side, level, price or 0.0, amount, created, ref_mid if ref_mid is not None else
                         (price or 0.0), status, oid)

    # ----------------------------------------------------------------------------- orders
    def _resting(self, symbol: str, side: str, level: int, now: int) -> bool:
        """Whether this slot is backing off after a refusal (its own, or a shallower level's lack of funds)."""
        side_rest = self._side_backoff.get((symbol, side))
        if side_rest is not None:
            if now >= side_rest[0]:
                del self._side_backoff[(symbol, side)]
            elif level >= side_rest[1]:
                return True
        until = self._backoff.get((symbol, side, level))
        if until is not None:
            if now < until:
                return True
            del self._backoff[(symbol, side, level)]
        return False

    def _warn(self, symbol: str, side: str, reason: str, message: str) -> None:
        """Log a warning at most once a minute per (symbol, side, reason), saying how many were held back."""
        now = self.clock.now_ms()
        self._side_reason[(symbol, side)] = (now, message)
        key = (symbol, side, reason)
        last, suppressed = self._warned.get(key, (None, 0))
        if last is not None and now - last < LOG_EVERY_MS:
            self._warned[key] = (last, suppressed + 1)
            return
        more = f" ({suppressed} more like it in the last minute)" if suppressed else ""
        log.warning("%s %s %s: %s%s", self.name, symbol, side, message, more)
        self._warned[key] = (now, 0)
