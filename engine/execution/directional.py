"""Directional symbols on the execution core (seed 004): a signal on each new closed candle, checked, sized,
executed with client ids like every order, and its exits (stop loss, take profit) held by the engine.

Per cycle and directional symbol (a part of :class:`engine.trader.Trader`):

1. a limit entry past its ``entry_timeout_s`` is cancelled, and what it did not fill goes at market;
2. the held exits are checked against the mid: a stop loss or take profit reached closes the position at market;
3. once per closed candle the strategy gives its signal. CLOSE flattens the position; BUY and SELL pass the checks
   (:func:`engine.risk.signal_checks.check_signal`) and, approved, are executed. Each of them is written to the
   ``signals`` table with the decision and why, and logged the seed's way (``BTC/USDT - Signal: BUY (confidence:
   65%)``, ``Portfolio approved (exposure: $x/$y)``, ``BTC/USDT - Portfolio REJECTED: reason``).

A restart reloads the exits of open entries from the store; an entry whose position is gone is closed there.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass, field

from sqlmodel import Session, select

from engine.execution.orders import EXIT_LEVEL
from engine.indicators import atr, frame
from engine.risk.signal_checks import MarketLimits, PortfolioView, check_signal, exit_due
from engine.store import OrderRecord, SignalRecord
from engine.strategies import MarketState, RiskVerdict, Signal, SignalType
from engine.strategies.directional import DirectionalStrategy

log = logging.getLogger("engine.trader")
MINUTE_MS = 60_000


@dataclass
class HeldExit:
    """The exits of an open directional position, held by the engine (and, where the exchange offers trigger orders
    for the market, also resting there: ``orders`` maps "stop loss" / "take profit" to their client ids)."""

    signal_id: int
    stop_loss: float | None
    take_profit: float | None
    orders: dict[str, str] = field(default_factory=dict)
    refused: set[str] = field(default_factory=set)  # exits the exchange refused: the engine alone holds them


@dataclass
class PendingEntry:
    """A limit entry waiting for its fill until ``deadline_ms``; then what is left goes at market."""

    client_id: str
    amount: float
    deadline_ms: int
    signal_id: int
    cancelled: bool = False


class DirectionalDesk:
    """Signals into orders, and the exits of what they opened (a part of :class:`engine.trader.Trader`)."""

    def _init_directional(self) -> None:
        self.last_signal: dict[str, Signal] = {}  # per symbol, HOLD and "insufficient data" too (the page shows it)
        self.held_exits: dict[str, HeldExit] = {}
        self.signal_counts: Counter[tuple[str, str]] = Counter()  # (symbol, approved | refused | executed | hold)
        self._entries: dict[str, PendingEntry] = {}
        self._signal_candle: dict[str, int] = {}
        self._closed: dict[str, tuple[tuple[float, ...], ...]] = {}
        self._candle_minute: dict[str, int] = {}
        self._pnl_day: tuple[int, float] | None = None
        self._no_exchange_exits: set[str] = set()  # symbols whose exchange refused trigger orders: the engine holds

    def is_directional(self, symbol: str) -> bool:
        """Whether ``symbol`` trades a directional strategy (signals) rather than resting quotes."""
        return isinstance(self.strategies.get(symbol), DirectionalStrategy)

    # ------------------------------------------------------------------------------ start-up
    def load_held_exits(self) -> None:
        """The exits of entries still open in the store; one whose position is gone is closed."""
        with Session(self.db) as s:
            rows = s.exec(select(SignalRecord).where(SignalRecord.exchange == self.name,
                                                     SignalRecord.status == "open")).all()
            for row in rows:
                if row.symbol in self.symbols and self.ledger.position(row.symbol).qty:
                    held = HeldExit(row.id, row.stop_loss, row.take_profit)
                    for cid in [c for c in row.order_ids.split(",") if c in self.orders]:
                        rec = self.orders[cid]  # an exit still resting on the exchange (reconciled just before)
                        if rec.level == EXIT_LEVEL:
                            held.orders["stop loss" if rec.type == "stop_loss" else "take profit"] = cid
                    self.held_exits[row.symbol] = held
                else:
                    row.status, row.exit_reason, row.closed_ms = "closed", "flat at start-up", self.clock.now_ms()
                    s.add(row)
            s.commit()
        if self.held_exits:
            log.info("%s: holding the exits of %s", self.name, ", ".join(
                f"{sym} (stop {h.stop_loss}, take profit {h.take_profit})" for sym, h in self.held_exits.items()))

    # ------------------------------------------------------------------------------ candles
    def closed_candles(self, symbol: str, need: int) -> tuple[tuple[float, ...], ...]:
        """The last ``need`` closed one-minute candles (at most one request a minute; REST fills any gap)."""
        now = self.clock.now_ms()
        minute = now // MINUTE_MS
        if self._candle_minute.get(symbol) != minute:
            rows = self.ex.fetch_ohlcv(symbol, "1m", limit=need + 2)
            self._candle_minute[symbol] = minute
            self.candles[symbol] = rows
            self._closed[symbol] = tuple(tuple(r) for r in rows if r[0] + MINUTE_MS <= now)[-need:]
            window = [r for r in rows if r[0] >= now - self.config.risk.volatility_window_min * MINUTE_MS]
            low = min((r[3] for r in window), default=0.0)
            self.candle_range[symbol] = (max(r[2] for r in window) - low) / low * 100 if low > 0 else None
        return self._closed.get(symbol, ())

    # ------------------------------------------------------------------------------ the cycle
    def run_directional(self, symbol: str, view, now: int) -> None:  # noqa: ANN001 - a MarketView
        """One cycle of a directional symbol (see the module docstring)."""
        self._resolve_entry(symbol, now)
        position = self.ledger.position(symbol).qty
        held = self.held_exits.get(symbol)
        if held is not None and symbol not in self._entries:
            if not position:
                fired = self._fired_exit(held)
                self._cancel_exchange_exits(symbol, held, "position closed")
                self._close_signal(held.signal_id, f"{fired} (on the exchange)" if fired else "position closed")
                del self.held_exits[symbol]
                if fired:
                    self.signal_counts[(symbol, "exit")] += 1
                    self._event("info", f"position closed: {fired}", f"{self.name} {symbol}: {fired} executed by "
                                f"the exchange", f"exit:{symbol}:{self.clock.now_ms() // MINUTE_MS}")
            else:
                reason = exit_due(position, view.mid, held.stop_loss, held.take_profit)
                if reason:
                    self._exit(symbol, reason, held.signal_id)
                    return
                self._place_exchange_exits(symbol, held, position)
        if self.gate.portfolio_view is None and not math.isfinite(self.capital_usd):
            self.last_signal[symbol] = Signal(SignalType.HOLD, reasoning="waiting for the first risk check (capital "
                                                                          "and exposure unknown)")
            return  # no entry can be checked against the portfolio yet
        strategy: DirectionalStrategy = self.strategies[symbol]
        candles = self.closed_candles(symbol, strategy.candles_needed() + 1)
        last = int(candles[-1][0]) if candles else 0
        if candles and self._signal_candle.get(symbol) == last:
            return  # one signal per closed candle
        self._signal_candle[symbol] = last
        verdict = RiskVerdict(blocked=self.gate.blocked(symbol) or None,
                              blocked_sides=frozenset(self.gate.side_blocks.get(symbol, set())))
        state = MarketState(symbol=symbol, now_ms=now, view=view, candles=candles, volatility_bps=0.0,
                            position=position, orders=(), risk=verdict, capital_usd=self.capital_usd,
                            exposure_fraction=self.exposure_fraction(), daily_pnl=self.daily_pnl(),
                            correlation=self.correlation_of(symbol))
        signal = strategy.decide(state).signal
        self.last_signal[symbol] = signal
        if signal.type is SignalType.HOLD:
            self.signal_counts[(symbol, "hold")] += 1
            return
        log.info(signal.line(symbol))
        if signal.type is SignalType.CLOSE:
            if position and symbol not in self._entries:
                self._record(symbol, strategy, signal, "executed", "opposite signal: position closed")
                self._exit(symbol, "opposite signal", held.signal_id if held is not None else None)
            return
        if verdict.blocked:
            self._refuse(symbol, strategy, signal, f"blocked: {verdict.blocked}")
            return
        if symbol in self._entries:
            self._refuse(symbol, strategy, signal, "an entry is still working")
            return
        self._enter(symbol, strategy, signal, view, candles, position)

    def _enter(self, symbol: str, strategy: DirectionalStrategy, signal: Signal, view, candles,  # noqa: ANN001
               position: float) -> None:
        p = strategy.params
        df = frame(candles)
        value = atr(df, int(p["atr_period"])).iloc[-1]
        m = self.ex.markets[symbol]
        market = MarketLimits(price=view.mid, lot=view.lot, min_amount=view.min_amount, min_cost=view.min_cost,
                              contract_size=view.contract_size, spot=not m.get("contract"))
        sc = self.config.symbols.get(self.name, {}).get(symbol)
        cap = sc.max_position_size_usd if sc else self.config.mode().max_inventory_usd
        decision = check_signal(signal, symbol, position, float(value) if not math.isnan(value) else math.nan,
                                market, float(p["min_confidence"]), float(p["max_risk_usd"]),
                                float(p["atr_multiplier"]), cap, self._portfolio_view(),
                                frozenset(self.gate.side_blocks.get(symbol, set())))
        if not decision.approved:
            self._refuse(symbol, strategy, signal, decision.reason, decision.amount)
            return
        log.info("%s - %s", symbol, decision.reason)
        side = signal.side
        row = self._record(symbol, strategy, signal, "approved", decision.reason, decision.amount, status="open")
        if p["entry"] == "limit":
            price = view.best_bid if side == "buy" else view.best_ask
            rec = self.place(symbol, side, -1, decision.amount, price, view.mid)
            self._entries[symbol] = PendingEntry(rec.client_order_id, decision.amount,
                                                 self.clock.now_ms() + int(p["entry_timeout_s"] * 1000), row.id)
        else:
            rec = self.market_order(symbol, side, decision.amount, reason=f"{strategy.name} {signal.type.value}")
        self._add_orders(row.id, [rec.client_order_id])
        if rec.status == "rejected":
            self._close_signal(row.id, f"entry rejected: {rec.reason}")
            self._entries.pop(symbol, None)
            self._event("warning", "signal not executed", f"{self.name} {symbol} {signal.type.value}: the entry was "
                                                          f"rejected ({rec.reason})", f"signal-rejected:{symbol}")
            return
        self.held_exits[symbol] = HeldExit(row.id, signal.stop_loss, signal.take_profit)
        self.signal_counts[(symbol, "approved")] += 1
        self._event("info", "signal executed", f"{self.name} {symbol} {signal.type.value} {decision.amount:g} at "
                    f"~{view.mid:.6g} (confidence {signal.confidence:.0%}); stop {signal.stop_loss:.6g}, take profit "
                    f"{signal.take_profit if signal.take_profit is None else f'{signal.take_profit:.6g}'}; "
                    f"{decision.reason}", f"signal:{symbol}:{signal.candle_ms}")

    def _resolve_entry(self, symbol: str, now: int) -> None:
        """A limit entry past its deadline is cancelled; once it is gone, what it did not fill goes at market."""
        entry = self._entries.get(symbol)
        if entry is None:
            return
        rec = self.orders.get(entry.client_id)
        if rec is not None:
            if now >= entry.deadline_ms and not entry.cancelled and rec.status == "open":
                self.cancel(rec, "entry timeout")
                entry.cancelled = True
            return
        del self._entries[symbol]
        with Session(self.db) as s:
            done = s.exec(select(OrderRecord).where(OrderRecord.client_order_id == entry.client_id)).first()
        left = entry.amount - (done.filled if done else 0.0)
        view = self.views.get(symbol)
        lot = view[1].lot if view else 0.0
        left = math.floor(left / lot + 1e-9) * lot if lot > 0 else left
        if entry.cancelled and left > 0 and view and left >= view[1].min_amount:
            side = done.side if done else ("buy" if self.ledger.position(symbol).qty >= 0 else "sell")
            rec = self.market_order(symbol, side, round(left, 12), reason="entry timeout: the rest at market")
            self._add_orders(entry.signal_id, [rec.client_order_id])

    # ------------------------------------------------------------------------------ exits on the exchange
    def exchange_exits_offered(self, symbol: str) -> bool:
        """Whether the held exits also rest on the exchange: it offers stop-loss orders (ccxt's ``has``) and the
        market is a perpetual, where they are reduce-only (a spot stop would lock the base, and could sell twice with
        the engine's own exit)."""
        market = self.ex.markets.get(symbol) or {}
        return (bool(self.ex.has.get("createStopLossOrder")) and bool(market.get("contract"))
                and symbol not in self._no_exchange_exits)

    def _place_exchange_exits(self, symbol: str, held: HeldExit, position: float) -> None:
        """Rest the stop loss and take profit on the exchange as reduce-only trigger orders, where offered, until
        they are there (a pause or kill cancels them; the next cycle places them again). The engine keeps watching
        the mid either way: its own exit is the backstop."""
        if not self.exchange_exits_offered(symbol):
            return
        precision = self.ex.markets[symbol].get("precision") or {}
        lot, tick = precision.get("amount") or 0.0, precision.get("price") or 0.0
        amount = round(math.floor(abs(position) / lot + 1e-9) * lot, 12) if lot else abs(position)
        side = "sell" if position > 0 else "buy"
        for kind, price, param in (("stop loss", held.stop_loss, "stopLossPrice"),
                                   ("take profit", held.take_profit, "takeProfitPrice")):
            if price is None or kind in held.refused or held.orders.get(kind) in self.orders or amount <= 0:
                continue
            if tick:  # on the market's tick; a stop rounds toward the market (it fires a tick early, never late)
                steps = price / tick
                steps = (math.ceil(steps - 1e-9) if side == "sell" else math.floor(steps + 1e-9)) \
                    if kind == "stop loss" else round(steps)
                price = round(steps * tick, 12)
            rec = self.trigger_order(symbol, side, amount, param, price, reason=kind)
            if rec.status == "rejected":
                if "NotSupported" in rec.reason or "not supported" in rec.reason.lower():
                    self._no_exchange_exits.add(symbol)
                log.warning("%s %s: %s not placed on the exchange (%s); the engine holds it", self.name, symbol,
                            kind, rec.reason)
                held.orders.pop(kind, None)
                held.refused.add(kind)
                if "would trigger immediately" in rec.reason:
                    self._exit(symbol, kind, held.signal_id)  # already past it: close now
                    return
                continue
            held.orders[kind] = rec.client_order_id
            self._add_orders(held.signal_id, [rec.client_order_id])
            log.info("%s %s: %s rests on the exchange at %s (%s)", self.name, symbol, kind, price,
                     rec.client_order_id)

    def _cancel_exchange_exits(self, symbol: str, held: HeldExit, reason: str) -> None:
        for cid in list(held.orders.values()):
            rec = self.orders.get(cid)
            if rec is not None:
                self.cancel(rec, reason)
        held.orders.clear()
        self.flush()

    def _fired_exit(self, held: HeldExit) -> str | None:
        """Which of the exits resting on the exchange filled ("stop loss" / "take profit"), if one did."""
        if not held.orders:
            return None
        with Session(self.db) as s:
            rows = s.exec(select(OrderRecord).where(OrderRecord.client_order_id.in_(list(held.orders.values())),
                                                    OrderRecord.filled > 0)).all()
        kinds = {cid: kind for kind, cid in held.orders.items()}
        return next((kinds[r.client_order_id] for r in rows), None)

    def _exit(self, symbol: str, reason: str, signal_id: int | None) -> None:
        """Flatten ``symbol`` at market and close the entry whose exits were held (its exits resting on the exchange
        are cancelled first)."""
        held = self.held_exits.get(symbol)
        if held is not None:
            self._cancel_exchange_exits(symbol, held, reason)
        done = self.close_positions([symbol])
        log.info("%s %s: %s: %s", self.name, symbol, reason, ", ".join(done) or "nothing to close")
        if signal_id is not None:
            self._close_signal(signal_id, reason)
        self.held_exits.pop(symbol, None)
        self.signal_counts[(symbol, "exit")] += 1
        self._event("info", f"position closed: {reason}", f"{self.name} {symbol}: {reason} ({', '.join(done)})",
                    f"exit:{symbol}:{self.clock.now_ms() // MINUTE_MS}")

    # ------------------------------------------------------------------------------ the ML state's parts
    def exposure_fraction(self) -> float:
        """Gross exposure over capital, as the portfolio view has it (0 when capital is unknown)."""
        view = self._portfolio_view()
        total = sum(abs(v) for v in view.inventory_usd.values())
        return total / view.capital_usd if view.capital_usd else 0.0

    def daily_pnl(self) -> float:
        """This venue's PnL (realized and unrealized, after fees) since the UTC day began in this process."""
        marks = {s: v.mid for s, (_, v) in self.views.items()}
        totals = self.ledger.totals(marks)
        unrealized = totals["unrealized_pnl"] if math.isfinite(totals["unrealized_pnl"]) else 0.0
        pnl = totals["realized_pnl"] + unrealized - totals["fees"]
        day = self.clock.now_ms() // 86_400_000
        if self._pnl_day is None or self._pnl_day[0] != day:
            self._pnl_day = (day, pnl)
        return pnl - self._pnl_day[1]

    def correlation_of(self, symbol: str) -> float:
        """The strongest correlation of ``symbol``'s one-minute returns with another directional symbol's."""
        from engine.strategies.ml import correlation

        mine = self._closed.get(symbol)
        if not mine:
            return 0.0
        others = {s: [r[4] for r in rows] for s, rows in self._closed.items() if s != symbol and rows}
        return correlation([r[4] for r in mine], others)

    # ------------------------------------------------------------------------------ records
    def _portfolio_view(self) -> PortfolioView:
        """The risk cycle's view of the portfolio, or (no risk cycle: a backtest) this venue's own."""
        if self.gate.portfolio_view is not None:
            return self.gate.portfolio_view
        inventory = {}
        for symbol, pos in self.ledger.positions.items():
            seen = self.views.get(symbol)
            if pos.qty and seen:
                inventory[(self.name, symbol)] = pos.qty * seen[1].mid * seen[1].contract_size
        capital = self.capital_usd if math.isfinite(self.capital_usd) else None
        r = self.config.risk
        return PortfolioView(self.name, inventory, capital, r.max_exposure_fraction, r.correlation_groups)

    def _refuse(self, symbol: str, strategy: DirectionalStrategy, signal: Signal, reason: str,
                amount: float = 0.0) -> None:
        log.info("%s - %s", symbol, reason if reason.startswith("Portfolio") else f"signal refused: {reason}")
        self._record(symbol, strategy, signal, "refused", reason, amount)
        self.signal_counts[(symbol, "refused")] += 1
        self._event("info", "signal refused", f"{self.name} {symbol} {signal.type.value} "
                    f"({signal.confidence:.0%}): {reason}", f"signal-refused:{symbol}:{reason[:40]}")

    def _record(self, symbol: str, strategy: DirectionalStrategy, signal: Signal, decision: str, reason: str,
                amount: float = 0.0, status: str = "") -> SignalRecord:
        row = SignalRecord(ts=self.clock.now_ms(), exchange=self.name, symbol=symbol, strategy=strategy.name,
                           type=signal.type.value, confidence=signal.confidence, entry=signal.entry,
                           stop_loss=signal.stop_loss, take_profit=signal.take_profit, reasoning=signal.reasoning,
                           decision=decision, reason=reason, amount=amount, status=status)
        with Session(self.db) as s:
            s.add(row)
            s.commit()
            s.refresh(row)
            s.expunge(row)
        if decision == "executed":
            self.signal_counts[(symbol, "executed")] += 1
        return row

    def _add_orders(self, signal_id: int, client_ids: list[str]) -> None:
        with Session(self.db) as s:
            row = s.get(SignalRecord, signal_id)
            if row is not None:
                row.order_ids = ",".join(x for x in [*row.order_ids.split(","), *client_ids] if x)
                s.add(row)
                s.commit()

    def _close_signal(self, signal_id: int, reason: str) -> None:
        with Session(self.db) as s:
            row = s.get(SignalRecord, signal_id)
            if row is not None and row.status != "closed":
                row.status, row.exit_reason, row.closed_ms = "closed", reason, self.clock.now_ms()
                s.add(row)
                s.commit()

    def _event(self, level: str, kind: str, message: str, key: str) -> None:
        if self.on_event is not None:
            self.on_event(level, kind, message, key)
