"""The risk cycle (every 5 s, independent of quoting): snapshot -> breakers -> actions -> caps -> gate.

Breaker actions while open or cooling down: latency pauses that exchange and error rate disables it (its orders
are cancelled and it is not quoted), spread cancels that symbol's orders and stops quoting it, volatility
multiplies that symbol's sizes by ``volatility_size_factor``, drawdown runs the kill switch (halt, cancel all,
close all positions, critical alert) and waits for a manual re-arm. Every state change is written to
``circuit_breaker_events`` and raised as an alert (deduplicated there, so a flapping breaker sends one message).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import ccxt
from sqlmodel import Session

from engine.risk.board import CLOSED, COOLING, OPEN, BreakerBoard, Transition
from engine.risk.breakers import load_breakers
from engine.risk.breakers.base import CANCEL_SYMBOL, DISABLE_EXCHANGE, KILL, PAUSE_EXCHANGE, REDUCE_SIZE
from engine.risk.caps import CapBreach, OpenOrder, excess_orders, portfolio_reason, side_blocks
from engine.risk.gate import RollingRange
from engine.risk.host import RiskHost
from engine.risk.model import ExchangeSnapshot, RiskSnapshot, SymbolSnapshot
from engine.risk.signal_checks import PortfolioView
from engine.store import CircuitBreakerEvent

if TYPE_CHECKING:
    from engine.trader import Trader

log = logging.getLogger(__name__)


class RiskManager:
    """Runs the risk checks for every trader of an engine and steers them through their gates."""

    def __init__(self, engine: RiskHost) -> None:
        self.engine = engine
        self.settings = engine.config.risk
        self.board = BreakerBoard(load_breakers(self.settings))
        self.cap_breaches: dict[str, CapBreach] = {}
        self.last_success_ms: int | None = None
        self.last: RiskSnapshot | None = None
        self.inventory_usd: dict[tuple[str, str], float] = {}
        self.last_equity: dict[str, float | None] = {}  # per exchange
        self._ranges: dict[tuple[str, str], RollingRange] = {}  # (exchange, symbol) -> mids seen by the risk job

    @property
    def traders(self) -> list[Trader]:
        return self.engine.traders

    # ------------------------------------------------------------------------------ the cycle
    def run(self) -> RiskSnapshot:
        now = self.engine.clock.now_ms()
        snap = self.snapshot(now)
        decisions = [d for b in self.board.breakers.values() for d in b.evaluate(now, snap)]
        for t in self.board.update(now, decisions):
            self._record(t, now)
        self._apply(now)
        self._caps(now, snap)
        self.last, self.last_success_ms = snap, now
        return snap

    def stale(self, now_ms: int) -> bool:
        """True when the risk job has not succeeded for ``stale_after_intervals`` intervals (fail safe)."""
        since = self.last_success_ms if self.last_success_ms is not None else self.engine.started_ms
        if since is None:
            return False
        limit = self.settings.stale_after_intervals * self.engine.config.engine.risk_interval_s * 1000
        return now_ms - since > limit

    def snapshot(self, now: int) -> RiskSnapshot:
        exchanges, symbols = {}, {}
        total_equity = 0.0
        have_equity = False
        for tr in self.traders:
            ex = tr.ex
            connected, equity, marks = True, self.last_equity.get(tr.name), {}
            try:  # a failing exchange must not stop the checks: its breakers are what it needs most
                balance = ex.fetch_balance()  # a timed, authenticated request
                marks = self.engine.marks(balance, ex, tr.symbols, tr.snapshot.views, tr.feed)
                equity = self.engine.equity_of(balance, marks)
                self.last_equity[tr.name] = equity
            except ccxt.NetworkError as exc:
                connected = False
                log.warning("risk cycle: %s account not read (%s); using the last known equity", tr.name,
                            type(exc).__name__)
            if equity is not None:
                total_equity += equity
                have_equity = True
            meter = ex.meter
            snap = tr.snapshot  # frozen by the quoting thread: never its live dictionaries
            totals = {"realized_pnl": sum(p.realized_pnl for p in snap.positions.values()),
                      "fees": sum(p.fees for p in snap.positions.values()),
                      "unrealized_pnl": sum(p.unrealized(marks[s]) for s, p in snap.positions.items() if s in marks)}
            exchanges[tr.name] = ExchangeSnapshot(
                tr.name, meter.latency_ms(now), meter.error_rate(now, self.settings.error_min_requests,
                                                                  int(self.settings.error_window_s * 1000)),
                meter.count(now), connected, equity, totals["realized_pnl"], totals["unrealized_pnl"], totals["fees"])
            open_by_symbol: dict[str, int] = {}
            for o in snap.orders:
                open_by_symbol[o.symbol] = open_by_symbol.get(o.symbol, 0) + 1
            for symbol in tr.symbols:
                seen = snap.views.get(symbol)
                view = seen[1] if seen and now - seen[0] <= 5_000 else None
                if view is None:
                    try:
                        view = tr.read_view(symbol)
                    except ccxt.NetworkError:
                        view = seen[1] if seen else None
                if view is None:
                    continue
                pos = snap.position(symbol)
                symbols[(tr.name, symbol)] = SymbolSnapshot(
                    tr.name, symbol, view.mid, (view.best_ask - view.best_bid) / view.mid * 1e4,
                    self._range_pct(tr, symbol, now, view.mid), pos.qty, pos.qty * view.mid * view.contract_size,
                    open_by_symbol.get(symbol, 0))
        equity = total_equity if have_equity else None
        peak = self.engine.note_equity(equity) if equity is not None else self.engine.peak_equity
        self.inventory_usd = {k: s.inventory_usd for k, s in symbols.items()}
        return RiskSnapshot(now, exchanges, symbols, equity, peak)

    def _range_pct(self, tr: Trader, symbol: str, now: int, mid: float) -> float | None:
        """High-low range over the window: the mids this job sees (also while nothing quotes), the quoting thread's
        finer ones as of its last snapshot, and the candles before them."""
        own = self._ranges.get((tr.name, symbol))
        if own is None:
            own = self._ranges[(tr.name, symbol)] = RollingRange(self.settings.volatility_window_min * 60_000)
        own.add(now, mid)
        fresh = now - tr.vol.get(symbol, (0, 0.0))[0] <= 2 * 60_000  # a trader that stopped quoting stops updating
        candle = tr.candle_range.get(symbol) if fresh else None  # refreshed with the candles, once a minute
        live = tr.snapshot.ranges.get(symbol) if now - tr.snapshot.taken_ms <= 30_000 else None
        known = [x for x in (own.range_pct(now), live, candle) if x is not None]
        return max(known) if known else None

    # ------------------------------------------------------------------------------ actions
    def _apply(self, now: int) -> None:
        active = self.board.active()
        for tr in self.traders:
            paused = [s for s in active if s.action in (PAUSE_EXCHANGE, DISABLE_EXCHANGE)
                      and s.scope.exchange == tr.name]
            block = "; ".join(f"{s.breaker} breaker {s.state}" for s in paused) or None
            if tr.gate.exchange_block and not block:
                tr.reconciled = False  # the exchange's breaker closed: the store is reconciled before it quotes
            tr.gate.exchange_block = block
            tr.gate.symbol_blocks = {s.scope.symbol: f"spread breaker {s.state}" for s in active
                                     if s.action == CANCEL_SYMBOL and s.scope.exchange == tr.name}
            tr.gate.size_factors = {s.scope.symbol: self.settings.volatility_size_factor for s in active
                                    if s.action == REDUCE_SIZE and s.scope.exchange == tr.name}
        kills = [s for s in active if s.action == KILL]
        if kills and self.engine.state not in ("HALTED", "STOPPED"):
            self.engine.kill(f"drawdown breaker: {kills[0].reason}",
                             close_positions=self.settings.close_positions_on_drawdown, source="drawdown breaker")

    def _record(self, t: Transition, now: int) -> None:
        st = t.status
        with Session(self.engine.db) as s:
            s.add(CircuitBreakerEvent(ts=now, breaker=st.breaker, state=t.state, exchange=st.scope.exchange,
                                      symbol=st.scope.symbol, value=st.value, threshold=st.threshold,
                                      action=st.action if t.state != CLOSED else "resume", reason=st.reason))
            s.commit()
        if t.state == OPEN:
            level = "critical" if st.action == KILL else "warning"
            cooldown = "until re-armed" if st.until_ms is None else f"for at least {st.remaining_s(now):.0f}s"
            self.engine.alert(level, "breaker opened", f"{st.reason}: {st.action.replace('_', ' ')} {cooldown}",
                              key=f"breaker-open:{st.breaker}:{st.scope}")
            self._act_now(st)
        elif t.state == CLOSED:
            self.engine.alert("info", "breaker closed", f"{st.breaker} breaker closed on {st.scope}; trading there "
                              "resumes", key=f"breaker-closed:{st.breaker}:{st.scope}")
        elif t.state == COOLING:
            log.info("%s breaker cooling down on %s (%.0fs left)", st.breaker, st.scope, st.remaining_s(now) or 0)

    def _act_now(self, st: object) -> None:
        """Actions that must not wait for the next quoting cycle: cancel what the breaker says."""
        for tr in self.traders:
            if st.action in (PAUSE_EXCHANGE, DISABLE_EXCHANGE) and st.scope.exchange == tr.name:
                with self.engine.work:
                    tr.cancel_all()
            elif st.action == CANCEL_SYMBOL and st.scope.exchange == tr.name:
                with self.engine.work:
                    tr.cancel_symbol(st.scope.symbol, f"{st.breaker} breaker")

    # ------------------------------------------------------------------------------ caps
    def _caps(self, now: int, snap: RiskSnapshot) -> None:
        caps = self.settings.caps
        limits = {}
        mode = self.engine.config.mode()
        for tr in self.traders:
            for symbol in tr.symbols:
                sc = self.engine.config.symbol_config(symbol, tr.name)
                limits[(tr.name, symbol)] = min(mode.max_inventory_usd, sc.max_position_size_usd)
        if caps.cancel_excess_orders:
            for tr in self.traders:
                orders = [OpenOrder(o.client_order_id, tr.name, o.symbol, o.created_ms)
                          for o in tr.snapshot.orders if o.status == "open"]
                excess = excess_orders(orders, caps)
                if excess:
                    with self.engine.work:
                        for o in excess:
                            rec = tr.orders.get(o.client_id)
                            if rec is not None:
                                tr.cancel(rec, "order cap")
                        tr.flush()
                    self._breach(now, CapBreach("orders", tr.name, len(orders), len(orders) - len(excess)))
        blocks, breaches = side_blocks(self.inventory_usd, caps, limits) if caps.clamp_side_on_excess else ({}, [])
        for tr in self.traders:
            tr.gate.side_blocks = {sym: sides for (ex, sym), sides in blocks.items() if ex == tr.name}
            tr.gate.portfolio = self._portfolio_check(tr.name, snap.equity)
            tr.gate.portfolio_view = PortfolioView(tr.name, dict(self.inventory_usd), snap.equity,
                                                   self.settings.max_exposure_fraction,
                                                   self.settings.correlation_groups)
            tr.gate.max_orders_per_symbol = caps.max_open_orders_per_symbol
        active = {f"{b.cap}:{b.scope}": b for b in breaches}
        for key, b in active.items():
            if key not in self.cap_breaches:
                self._breach(now, b)
        for key, b in list(self.cap_breaches.items()):
            if key not in active and not key.startswith("orders:"):
                self._record_cap(now, b, "closed")
                self.engine.alert("info", "cap cleared", f"back under the cap: {b.cap} {b.scope}",
                                  key=f"cap-clear:{key}")
                del self.cap_breaches[key]
        for key in [k for k in self.cap_breaches if k.startswith("orders:")]:
            del self.cap_breaches[key]

    def _breach(self, now: int, b: CapBreach) -> None:
        key = f"{b.cap}:{b.scope}"
        if key in self.cap_breaches:
            return
        self.cap_breaches[key] = b
        if b.cap == "orders":
            message = f"open orders {b.value:.0f} over the cap on {b.scope}: the newest were cancelled"
        else:
            message = f"{b}: only orders that reduce it are quoted"
        log.warning("cap hit: %s", message)
        self._record_cap(now, b, "open")
        self.engine.alert("warning", "cap hit", message, key=f"cap:{key}")

    def _record_cap(self, now: int, b: CapBreach, state: str) -> None:
        exchange, _, symbol = b.scope.partition(":")
        with Session(self.engine.db) as s:
            s.add(CircuitBreakerEvent(ts=now, breaker=f"cap_{b.cap}", state=state,
                                      exchange=None if exchange == "all" else exchange, symbol=symbol or None,
                                      value=b.value, threshold=b.limit,
                                      action="clamp side" if b.cap != "orders" else "cancel newest", reason=str(b)))
            s.commit()

    def _portfolio_check(self, exchange: str, equity: float | None):  # noqa: ANN202 - a closure for the gate
        inventory, settings = dict(self.inventory_usd), self.settings

        def check(symbol: str, side: str, notional: float) -> str | None:
            return portfolio_reason(exchange, symbol, side, notional, inventory, equity, settings.max_exposure_fraction,
                                    settings.correlation_groups)

        return check

    # ------------------------------------------------------------------------------ operator
    def rearm(self, breaker: str | None = None) -> int:
        now = self.engine.clock.now_ms()
        transitions = self.board.rearm(breaker)
        for t in transitions:
            self._record(t, now)
        self._apply(now)
        return len(transitions)
