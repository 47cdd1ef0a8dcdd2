"""The engine's work on one exchange: quote, place and cancel, pick up fills, reconcile with the exchange.

Money safety:

- every order has a client order id and is written to the store as ``pending`` *before* it is sent;
- a request whose answer is lost (timeout, network) leaves the order ``unknown``; it keeps its ladder slot until
  its fate is learned by client order id, so a retry never places a second order;
- reconciliation (at start-up and every hygiene cycle) closes out orders the exchange no longer lists, adopts or
  cancels orders of ours the store does not know, and fetches fills missed while down.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import ccxt
from sqlalchemy.engine import Engine as DbEngine
from sqlmodel import Session, select

from engine.clock import Clock
from engine.config import AppConfig
from engine.exchanges.errors import ExchangeFailure, TransientError, backoff_s, place_order_safely
from engine.exchanges.profiles import REFUSED, find_order, profile_for
from engine.hygiene import LIVE_STATES, HygieneRules, LiveOrder, plan_orders
from engine.ledger import Ledger
from engine.quoting import MarketView, QuoteParams, build_ladder, volatility_bps
from engine.risk.gate import RiskGate, RollingRange
from engine.store import OrderRecord, SQLAlchemyError, StoreUnavailable, TradeRecord, save_orders

log = logging.getLogger(__name__)

TRANSIENT = (ccxt.NetworkError,)  # RequestTimeout, ExchangeNotAvailable, RateLimitExceeded are NetworkErrors
VOL_REFRESH_MS = 60_000
REFUSED_BACKOFF_MS = 10_000  # a slot whose order the exchange refused rests this long before trying again
NO_FUNDS_BACKOFF_MS = 30_000  # a side without the funds for its order rests this long
LOG_EVERY_MS = 60_000  # the same warning (symbol, side, reason) at most once a minute
RECONCILE_RETRY_MS = 5_000  # a start-up reconciliation that failed is retried this often, quoting held meanwhile
FILL_SAFETY_NET_MS = 30_000  # with fills streamed, REST still checks this often for anything the stream missed
RECONCILE_STREAMED_MS = 60_000  # with order updates streamed, the REST reconciliation runs this often
ABSENCE_CONFIRM_MS = 3_000  # an order sent with no answer counts as absent only if still not found this long after
UNMATCHED_KEPT_MS = 600_000  # a fill of no known order is kept this long while an order of ours has no exchange id


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


class Trader:
    """Quotes the configured symbols on one exchange and keeps the store in step with it."""

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
        self.capital_usd = float("inf")
        self.quoting_enabled = True
        self.reconciled = False  # quoting waits for one successful reconciliation with the exchange
        self._last_reconcile_try_ms = 0
        self.symbols = config.active_symbols(self.name)
        self.gate = RiskGate()
        self.feed: Any = None  # engine.feed.BookFeed when the exchange streams books
        self.account_feed: Any = None  # engine.feed.AccountFeed when the exchange streams our fills and orders
        self._last_reconcile_ms = 0
        # Real exchanges mostly need a symbol to list fills (Binance does): poll each symbol, at most every 5 s.
        self.fills_per_symbol = self.ex.id != "sim"
        self.fills_every_ms = 5_000
        self._last_fill_poll_ms = 0
        self.profile = profile_for(self.ex.id)
        self._id_sep = "" if self.profile.client_id_compact else "-"
        self._id_head = self.profile.client_id_head + self.prefix + self._id_sep
        self._closing: set[str] = set()  # client ids of hedge-mode orders that close a leg
        window_ms = config.risk.volatility_window_min * 60_000
        self.ranges = {s: RollingRange(window_ms) for s in self.symbols}
        self.views: dict[str, tuple[int, MarketView]] = {}
        self.candles: dict[str, list[list[float]]] = {}
        self.candle_range: dict[str, float | None] = {}  # high-low % of the candles in the risk window
        self.on_event: Callable[[str, str, str, str], None] | None = None  # (level, kind, message, key)

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
            for symbol in self.symbols:
                try:
                    left -= self._quote_symbol(symbol, left, by_symbol.get(symbol, []))
                except TRANSIENT as exc:
                    self.stats.errors += 1
                    log.warning("%s %s: market data unavailable this cycle (%s)", self.name, symbol, exc)
        if self._fill_backlog:  # an order resolved this cycle may own fills kept back
            self._record_fills([])
        self.flush()
        dt = (time.perf_counter() - t0) * 1000
        self.stats.last_cycle_ms = dt
        if len(self.stats.cycle_ms) < 100_000:
            self.stats.cycle_ms.append(dt)

    def market_view(self, symbol: str) -> MarketView | None:
        """The market from the websocket feed when it is fresh, else one REST request."""
        book = self.feed.latest(symbol) if self.feed is not None else None
        if book is None:
            book = self.ex.fetch_order_book(symbol, 5)
        if not book["bids"] or not book["asks"]:
            return None
        m = self.ex.markets[symbol]
        view = MarketView(symbol, book["bids"][0][0], book["asks"][0][0], m["precision"]["price"],
                          m["precision"]["amount"], m["limits"]["amount"]["min"] or 0.0,
                          m["limits"]["cost"]["min"] or 0.0, m.get("contractSize") or 1.0, m.get("maker") or 0.0)
        now = self.clock.now_ms()
        self.views[symbol] = (now, view)
        if symbol in self.ranges:
            self.ranges[symbol].add(now, view.mid)
        return view

    def volatility(self, symbol: str) -> float:
        now = self.clock.now_ms()
        cached = self.vol.get(symbol)
        if cached and now - cached[0] < VOL_REFRESH_MS:
            return cached[1]
        limit = max(self.config.strategy.volatility_minutes, self.config.risk.volatility_window_min) + 1
        rows = self.ex.fetch_ohlcv(symbol, "1m", limit=limit)
        self.candles[symbol] = rows
        window = [r for r in rows if r[0] >= now - self.config.risk.volatility_window_min * 60_000]
        low = min((r[3] for r in window), default=0.0)
        self.candle_range[symbol] = (max(r[2] for r in window) - low) / low * 100 if low > 0 else None
        vol = volatility_bps([r[4] for r in rows[-(self.config.strategy.volatility_minutes + 1):]])
        self.vol[symbol] = (now, vol)
        return vol

    def params(self, symbol: str) -> QuoteParams:
        st, mode = self.config.strategy, self.config.mode()
        sc = self.config.symbol_config(symbol, self.name)
        return QuoteParams(
            levels=mode.levels, spread_bps=st.spread_bps, step_bps=st.step_bps, min_spread_bps=st.min_spread_bps,
            fee_aware=st.fee_aware, volume_factor=st.volume_factor, usd_per_order=st.usd_per_order,
            min_order_usd=st.min_order_usd, max_order_usd=st.max_order_usd, skew=st.skew.enabled,
            gamma=st.skew.gamma, tau_s=st.skew.tau_s, size_shrink=st.skew.size_shrink,
            max_inventory_usd=min(mode.max_inventory_usd, sc.max_position_usd), margin_pct=mode.margin_pct,
            leverage=sc.leverage, capital_usd=self.capital_usd)

    def _quote_symbol(self, symbol: str, budget: int, mine: list[OrderRecord]) -> int:
        """Plan and act on one symbol; ``mine`` are its live orders."""
        for rec in [o for o in mine if o.status in ("pending", "unknown")]:
            self._refresh(rec)  # an order whose fate is unknown holds its slot until it is learned
        view = self.market_view(symbol)
        if view is None:
            return 0
        now = self.clock.now_ms()
        desired = [] if self.gate.blocked(symbol) else self._desired(symbol, view, now)
        live = [self._live(o) for o in mine if o.client_order_id in self.orders]
        plan = plan_orders(desired, live, view.mid, now, self.last_requote.get(symbol), self._rules(), budget)
        if plan.empty:
            return 0
        for o in plan.cancels:
            if o.client_id in self.orders:
                self.cancel(self.orders[o.client_id], plan.reasons.get(o.client_id, ""))
        # a replacement waits for its predecessor's cancel to be confirmed (a later cycle tries again)
        places = [q for q in plan.places if plan.replaces.get(q.key) not in self.orders]
        records = [self._pending(symbol, q.side, q.level, q.amount, q.price, view.mid) for q in places]
        try:
            self.flush()  # write-ahead: every order is in the store as pending before any is sent
        except StoreUnavailable:
            for rec in records:  # neither stored nor sent: forget them; the next cycle plans afresh
                self.orders.pop(rec.client_order_id, None)
                self._unsaved.pop(id(rec), None)
            raise
        for rec in records:
            self._send(rec)
        self.flush()
        self.last_requote[symbol] = now
        self.stats.replaced += plan.replacements
        return plan.replacements

    def _desired(self, symbol: str, view: MarketView, now: int) -> list:
        """The ladder for ``symbol`` as the risk gate allows it: sizes, blocked sides, portfolio limits."""
        params = self.params(symbol)
        factor = self.gate.size_factors.get(symbol)
        if factor is not None:
            params = replace(params, size_factor=factor)
        inventory = self.ledger.position(symbol).qty
        blocked_sides = self.gate.side_blocks.get(symbol, set())
        out = []
        for q in build_ladder(view, inventory, self.volatility(symbol), params):
            if q.side in blocked_sides or self._resting(symbol, q.side, q.level, now):
                continue
            if self.gate.portfolio is not None:
                reason = self.gate.portfolio(symbol, q.side, q.amount * q.price * view.contract_size)
                if reason:
                    self._warn(symbol, q.side, "portfolio", f"quote not placed: {reason}")
                    continue
            out.append(q)
        cap = self.gate.max_orders_per_symbol
        if cap is not None and len(out) > cap:
            out = sorted(out, key=lambda q: (q.level, q.side))[:cap]
        return out

    def _rules(self) -> HygieneRules:
        h = self.config.hygiene
        return HygieneRules(h.max_order_age_s, h.drift_bps, h.stale_depth_bps, h.max_replacements_per_cycle,
                            h.min_requote_interval_ms)

    @staticmethod
    def _live(o: OrderRecord) -> LiveOrder:
        return LiveOrder(o.client_order_id, o.side, o.level, o.price or 0.0, o.amount, o.created_ms,
                         float(o.reason.split("mid=")[-1]) if "mid=" in o.reason else (o.price or 0.0),
                         o.status, o.exchange_order_id)

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
        key = (symbol, side, reason)
        last, suppressed = self._warned.get(key, (None, 0))
        if last is not None and now - last < LOG_EVERY_MS:
            self._warned[key] = (last, suppressed + 1)
            return
        more = f" ({suppressed} more like it in the last minute)" if suppressed else ""
        log.warning("%s %s %s: %s%s", self.name, symbol, side, message, more)
        self._warned[key] = (now, 0)

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
        """Whether positions have a long and a short leg here (the connection's ``hedge_mode``; the simulated
        exchange says itself)."""
        if self.ex.id == "sim":
            return bool(getattr(self.ex, "_hedged", False))
        return self.config.connection(self.name).hedge_mode

    def _order_params(self, symbol: str, side: str, amount: float, params: dict[str, Any]) -> dict[str, Any]:
        """``params`` plus what the exchange needs for this order; in hedge mode, the leg it opens or closes.

        In hedge mode an order against the held position closes that leg (as far as the position, less what
        other closing orders already cover, reaches); otherwise it opens its own side's leg.
        """
        market = self.ex.markets.get(symbol) or {}
        if not market.get("contract"):
            return params
        params = dict(params)
        if self.profile.order_margin_mode and self.ex.id != "sim":
            params["marginMode"] = self.config.connection(self.name).margin_mode
        if self.profile.order_leverage and symbol in self.config.symbols.get(self.name, {}):
            params["leverage"] = self.config.symbol_config(symbol, self.name).leverage
        if not self.hedge_mode:
            return params
        reduce_only = bool(params.pop("reduceOnly", False))
        qty = self.ledger.position(symbol).qty
        against = (side == "sell" and qty > 0) or (side == "buy" and qty < 0)
        if against and not reduce_only:
            covered = sum(o.amount - o.filled for o in self.orders.values()
                          if o.client_order_id in self._closing and o.symbol == symbol and o.side == side)
            reduce_only = amount + covered <= abs(qty) * (1 + 1e-9)
        if reduce_only:
            self._closing.add(params["clientOrderId"])
        leg = ("long" if side == "sell" else "short") if reduce_only else ("long" if side == "buy" else "short")
        return {**params, **self.profile.hedge_params(leg, reduce_only)}

    def place(self, symbol: str, side: str, level: int, amount: float, price: float, mid: float) -> OrderRecord:
        """Write the order as pending (committed), then send it post-only with its client order id."""
        rec = self._pending(symbol, side, level, amount, price, mid)
        self.flush()
        self._send(rec)
        self.flush()
        return rec

    def _pending(self, symbol: str, side: str, level: int, amount: float, price: float, mid: float) -> OrderRecord:
        now = self.clock.now_ms()
        rec = OrderRecord(exchange=self.name, symbol=symbol, client_order_id=self.next_client_id(), side=side,
                          level=level, price=price, amount=amount, status="pending", reason=f"mid={mid}",
                          created_ms=now, updated_ms=now)
        self._save(rec)
        self.orders[rec.client_order_id] = rec
        return rec

    def _send(self, rec: OrderRecord) -> None:
        symbol, side, amount, price = rec.symbol, rec.side, rec.amount, rec.price
        try:
            res = self.ex.create_order(symbol, "limit", side, amount, price, self._order_params(
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
        now = self.clock.now_ms()
        rec = OrderRecord(exchange=self.name, symbol=symbol, client_order_id=self.next_client_id(), side=side,
                          type="market", level=-1, amount=amount, status="pending", reason=reason,
                          created_ms=now, updated_ms=now)
        self._save(rec)
        self.orders[rec.client_order_id] = rec
        try:
            self.flush()
        except StoreUnavailable:  # not written ahead: not sent
            self.orders.pop(rec.client_order_id, None)
            self._unsaved.pop(id(rec), None)
            raise
        params: dict[str, Any] = {"clientOrderId": rec.client_order_id}
        if reduce_only:
            params["reduceOnly"] = True
        params = self._order_params(symbol, side, amount, params)
        try:  # retried at once (a close must go through), never twice: each retry first looks it up by client id
            res = place_order_safely(self.ex, symbol, "market", side, amount, None, params, retries=2, base_s=0.2,
                                     sleep=self.clock.sleep)
        except TransientError as exc:
            rec.status, rec.updated_ms = "unknown", self.clock.now_ms()
            self._save(rec)
            log.warning("%s %s: no answer placing market %s (%s); will look it up by client id", self.name, symbol,
                        rec.client_order_id, exc)
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
        rec.exchange_order_id = str(res["id"]) if res.get("id") is not None else rec.exchange_order_id
        if rec.exchange_order_id:
            self._remember_oids({rec.exchange_order_id: rec.client_order_id})
        rec.filled = float(res.get("filled") or 0.0)
        rec.average = res.get("average")
        status = res.get("status") or "open"
        rec.updated_ms = self.clock.now_ms()
        if status == "open":
            rec.status = "open"
            self._save(rec)
        elif status == "expired":  # e.g. Binance futures: a post-only (GTX) order that would cross expires at once
            self._finish(rec, "canceled", "expired by the exchange" + (" (post-only would have crossed)"
                                                                      if not rec.filled else ""))
        else:
            self._finish(rec, status if status in ("closed", "canceled", "rejected") else "closed", rec.reason)
        trades = res.get("trades") or []
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
            with Session(self.db) as s:
                ids = save_orders(s, records, check_existing=self.store_down_since is not None)
                s.commit()
        except SQLAlchemyError as exc:
            raise self._store_failed("order changes", exc) from exc
        for rec, new_id in zip([r for r in records if r.id is None], ids, strict=True):
            rec.id = new_id
        for rec in records:
            self._unsaved.pop(id(rec), None)
        self._store_back()

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

    # ----------------------------------------------------------------------------- fills
    def poll_fills(self, force: bool = False) -> int:
        """Store new fills exactly once: streamed ones first; REST polling as the fallback (a safety net every
        ``FILL_SAFETY_NET_MS`` while the stream is up)."""
        streamed = 0
        if self.account_feed is not None:
            pushed = self.account_feed.drain()  # whatever came, even from a stream that has failed since
            streamed = self._record_fills(pushed) if pushed or self._fill_backlog else 0
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
                    return self._record_fills([]) if self._fill_backlog else 0
                self._last_fill_poll_ms = now
                trades = [t for s in self.symbols for t in self.ex.fetch_my_trades(s, since)]
        except TRANSIENT as exc:
            self.stats.errors += 1
            log.warning("%s: fills not fetched this cycle (%s)", self.name, type(exc).__name__)
            return self._record_fills([]) if self._fill_backlog else 0
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
        contract = {s: (self.ex.markets[s].get("contractSize") or 1.0) if self.ex.markets[s].get("contract") else 1.0
                    for s in {t["symbol"] for t in ours}}
        before = {s: self.ledger.position(s).qty for s in contract}
        try:
            with Session(self.db, expire_on_commit=False) as s:
                rows, staged = self.ledger.stage(s, ours, contract)
                s.commit()
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

    # ----------------------------------------------------------------------------- reconciliation
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
        by_cid = {o.get("clientOrderId"): o for o in venue_open if o.get("clientOrderId")}
        for rec in list(self.orders.values()):
            if rec.client_order_id in by_cid:
                if rec.status != "open":
                    report["resolved"] += 1
                self._apply_order(rec, by_cid[rec.client_order_id])
            else:
                before = rec.status
                self._refresh(rec)
                if rec.client_order_id not in self.orders:
                    report["closed_out" if before == "open" else "resolved"] += 1
        for cid, o in by_cid.items():
            if not self.ours(cid) or cid in self.orders:
                continue
            if self.config.engine.unknown_orders == "adopt" and o["symbol"] in self.symbols:
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
                self._save(rec)
                self._remember_oids({rec.exchange_order_id: cid})
                self.orders[cid] = rec
                report["adopted"] += 1
            else:
                try:
                    self.ex.cancel_order(str(o["id"]), o["symbol"])
                    report["canceled_unknown"] += 1
                except (ccxt.OrderNotFound, *TRANSIENT):
                    pass
        report["fills"] = self.poll_fills(force=True)
        self.flush()
        return report

    def _fetch_open_orders(self) -> list[dict]:
        if self.ex.id == "sim":
            return self.ex.fetch_open_orders()
        out = []
        for symbol in self.symbols:
            out.extend(self.ex.fetch_open_orders(symbol))
        return out


def _base36(n: int) -> str:
    chars = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while n:
        n, r = divmod(n, 36)
        out = chars[r] + out
    return out or "0"
