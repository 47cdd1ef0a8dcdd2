"""The arbitrage job of :class:`engine.runtime.Engine` (seed 000 ``cross_exchange_arbitrage``, off by default).

Every ``check_interval_s`` each symbol on two or more exchanges is checked: the top of each book (less our own
orders in it), the best pair (:mod:`engine.arbitrage.opportunity`), sized within both tops, ``max_trade_usd``, the
buy side's quote balance, the sell side's base balance (spot) and ``max_position_usd`` on both, and refused where the
risk gate blocks a side (a breaker, a pause, the kill switch). A trade then runs as a small state machine, one row of
``arbitrage_trades`` following it:

1. **buying**: an IOC limit buy at the cheaper ask, through the execution core (client id, write-ahead, fills
   recorded like any other). Nothing filled: **missed**. An answer lost: looked up by client id on later checks.
2. **selling**: an IOC limit sell of what was bought at the dearer bid. All of it sold: **done**.
3. **unwinding**: what the sell did not take is sold back at market where it was bought: **unwound**. An unwind that
   fails is tried again (each time a new order only once the last one is settled); after three it is **unhedged**
   and a critical alert asks the operator to close the position.

Every opportunity acted on or skipped (at most once a minute per symbol and reason) and every step is logged.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import ccxt
from sqlmodel import Session, select

from engine.arbitrage.opportunity import Opportunity, Top, best_pair, sized
from engine.clock import iso8601
from engine.states import RUNNING
from engine.store import ArbitrageTrade, OrderRecord, SQLAlchemyError

log = logging.getLogger("engine.arbitrage")
ARB_LEVEL = -4  # the ladder slot of an arbitrage leg (quotes are 0..n)
UNWIND_TRIES = 3
SKIP_LOG_MS = 60_000
SETTLED = ("closed", "canceled", "rejected")


class ArbitrageDesk:
    """Detects cross-exchange opportunities and runs their legs."""

    @property
    def arbitrage(self) -> dict[int, dict[str, Any]]:
        """Open trades by id: their row and their legs' order records."""
        live = getattr(self, "_arb_live", None)
        if live is None:
            live = self._arb_live = {}
            self._arb_seen: dict[tuple[str, str], int] = {}  # (symbol, reason) -> last logged
            self._arb_last: dict[str, int] = {}  # symbol -> last trade opened
        return live

    def arbitrage_cycle(self) -> None:
        cfg = self.config.cross_exchange_arbitrage
        for trade in list(self.arbitrage.values()):  # open trades go on, even if switched off meanwhile
            self._arb_step(trade)
        if not cfg.enabled or len(self.traders) < 2 or self.state != RUNNING:
            return
        now = self.clock.now_ms()
        busy = {t["row"].symbol for t in self.arbitrage.values()}
        for symbol in self._arb_symbols():
            if symbol in busy or now - self._arb_last.get(symbol, -10**12) < cfg.cooldown_s * 1000:
                continue
            try:
                tops = [top for t in self.traders if (top := self._arb_top(t, symbol)) is not None]
            except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
                self._arb_skip(symbol, "books", f"books not read ({type(exc).__name__}: {exc})")
                continue
            opp = best_pair(symbol, tops, cfg.min_profit_bps)
            if opp is not None:
                self._arb_try(opp)

    # ------------------------------------------------------------------------------ detection
    def _arb_symbols(self) -> list[str]:
        cfg = self.config.cross_exchange_arbitrage
        if cfg.symbols:
            return [s for s in cfg.symbols if sum(s in t.ex.markets for t in self.traders) >= 2]
        counts: dict[str, int] = {}
        for t in self.traders:
            for s in t.symbols:
                counts[s] = counts.get(s, 0) + 1
        return sorted(s for s, n in counts.items() if n >= 2)

    @staticmethod
    def _arb_top(t: Any, symbol: str) -> Top | None:
        """The best bid and ask of ``symbol`` on ``t``'s exchange that are not our own orders."""
        m = t.ex.markets.get(symbol)
        if m is None:
            return None
        book = (t.feed.latest(symbol) if t.feed is not None else None) or t.ex.fetch_order_book(symbol, 5)
        ours: dict[tuple[str, float], float] = {}
        for o in t.orders.values():
            if o.symbol == symbol and o.price is not None:
                ours[(o.side, o.price)] = ours.get((o.side, o.price), 0.0) + o.amount - o.filled

        def first(levels: list, side: str) -> tuple[float, float] | None:
            for price, qty, *_ in levels:
                left = qty - ours.get((side, price), 0.0)
                if left > 1e-12:
                    return price, left
            return None

        bid, ask = first(book.get("bids") or [], "buy"), first(book.get("asks") or [], "sell")
        if bid is None or ask is None:
            return None
        limits = m.get("limits") or {}
        return Top(t.name, bid[0], bid[1], ask[0], ask[1], m.get("taker") or 0.0, m["precision"]["amount"] or 0.0,
                   (limits.get("amount") or {}).get("min") or 0.0, (limits.get("cost") or {}).get("min") or 0.0,
                   m.get("contractSize") or 1.0)

    def _arb_try(self, opp: Opportunity) -> None:
        cfg = self.config.cross_exchange_arbitrage
        buyer, seller = self._arb_trader(opp.buy.venue), self._arb_trader(opp.sell.venue)
        for t, side in ((buyer, "buy"), (seller, "sell")):
            g = t.gate
            why = (g.operator_block or g.exchange_block or g.symbol_pauses.get(opp.symbol)
                   or g.symbol_blocks.get(opp.symbol) or (f"{side}s are blocked" if side in g.side_blocks.get(
                       opp.symbol, set()) else None) or (None if t.quoting_enabled and t.reconciled
                                                          else "not trading now"))
            if why:
                self._arb_skip(opp.symbol, f"gate:{t.name}", f"{opp.describe()}; skipped: {t.name} {why}")
                return
        try:
            buy_room, sell_room = self._arb_room(opp, buyer, seller, cfg.max_position_usd)
        except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
            self._arb_skip(opp.symbol, "balance", f"{opp.describe()}; skipped: balances not read ({exc})")
            return
        trade = sized(opp, cfg.max_trade_usd, buy_room, sell_room)
        if trade is None:
            self._arb_skip(opp.symbol, "size", f"{opp.describe()}; skipped: too small within the balances and "
                           f"limits (buy room {buy_room:g}, sell room {sell_room:g}, tops {opp.buy.ask_qty:g} / "
                           f"{opp.sell.bid_qty:g})")
            return
        with self.work:
            if self._arb_in_the_way(buyer, trade.symbol, "sell", trade.buy.ask) or \
                    self._arb_in_the_way(seller, trade.symbol, "buy", trade.sell.bid):
                self._arb_skip(trade.symbol, "own", f"{trade.describe()}; skipped: our own quotes are in the way "
                               "and not confirmed cancelled yet")
                return
            self._arb_open(trade, buyer)

    def _arb_room(self, opp: Opportunity, buyer: Any, seller: Any, max_position_usd: float) -> tuple[float, float]:
        """How much the buy side may buy and the sell side sell (base units): balances (spot) and position limits."""
        size = opp.buy.contract_size or 1.0
        max_qty = max_position_usd / (opp.buy.ask * size)
        buy_room = max_qty - buyer.ledger.position(opp.symbol).qty
        sell_room = max_qty + seller.ledger.position(opp.symbol).qty
        bm, sm = buyer.ex.markets[opp.symbol], seller.ex.markets[opp.symbol]
        if not bm.get("contract"):
            free = buyer.ex.fetch_balance().get(bm["quote"], {}).get("free") or 0.0
            buy_room = min(buy_room, free / (opp.buy.ask * (1 + opp.buy.taker) * 1.001))
        if not sm.get("contract"):
            sell_room = min(sell_room, seller.ex.fetch_balance().get(sm["base"], {}).get("free") or 0.0)
        return max(0.0, buy_room), max(0.0, sell_room)

    @staticmethod
    def _arb_in_the_way(t: Any, symbol: str, side: str, price: float) -> bool:
        """Cancel our own ``side`` orders that a leg at ``price`` would trade with; whether any is still live."""
        hit = [o for o in t.orders.values() if o.symbol == symbol and o.side == side and o.price is not None
               and (o.price <= price if side == "sell" else o.price >= price)]
        for o in hit:
            t.cancel(o, "arbitrage: in the way of our own leg")
        t.flush()
        return any(o.client_order_id in t.orders for o in hit)

    # ------------------------------------------------------------------------------ the legs
    def _arb_open(self, opp: Opportunity, buyer: Any) -> None:
        now = self.clock.now_ms()
        self._arb_last[opp.symbol] = now
        row = ArbitrageTrade(ts=now, symbol=opp.symbol, buy_exchange=opp.buy.venue, sell_exchange=opp.sell.venue,
                             amount=opp.amount, buy_price=opp.buy.ask, sell_price=opp.sell.bid,
                             edge_bps=round(opp.edge_bps, 3), status="buying", updated_ms=now)
        row = self._arb_save(row)
        log.info("arbitrage #%s %s; buying %g", row.id, opp.describe(), opp.amount)
        rec = buyer.ioc_order(opp.symbol, "buy", opp.amount, opp.buy.ask, ARB_LEVEL, f"arbitrage #{row.id} buy leg")
        row.buy_client_id = rec.client_order_id
        trade = {"row": row, "legs": {"buy": rec}, "tops": opp, "unwinds": 0}
        self.arbitrage[row.id] = trade
        self._arb_step(trade)

    def _arb_step(self, trade: dict[str, Any]) -> None:
        """Move one open trade on as far as its legs' states allow."""
        row: ArbitrageTrade = trade["row"]
        with self.work:
            while True:
                before = row.status
                if row.status == "buying":
                    self._arb_after_buy(trade)
                elif row.status == "selling":
                    self._arb_after_sell(trade)
                elif row.status == "unwinding":
                    self._arb_after_unwind(trade)
                if row.status == before:
                    break
        if row.status in ("done", "missed", "unwound", "unhedged"):
            self.arbitrage.pop(row.id, None)

    def _arb_settled(self, t: Any, rec: OrderRecord) -> bool:
        if rec.status in ("pending", "unknown") and rec.client_order_id in t.orders:
            t._refresh(rec)
            t.flush()
        return rec.status in SETTLED

    def _arb_after_buy(self, trade: dict[str, Any]) -> None:
        row, rec = trade["row"], trade["legs"]["buy"]
        buyer, seller = self._arb_trader(row.buy_exchange), self._arb_trader(row.sell_exchange)
        if not self._arb_settled(buyer, rec):
            return
        row.buy_filled = rec.filled
        if rec.filled <= 0:
            self._arb_end(row, "missed", f"the buy leg took nothing ({rec.reason or rec.status})")
            return
        lot = (seller.ex.markets[row.symbol]["precision"]["amount"]) or 0.0
        amount = float(f"{(math.floor(rec.filled / lot + 1e-9) * lot if lot else rec.filled):.12g}")
        if amount <= 0:
            self._arb_unwind(trade, rec.filled, "the buy filled less than the sell side's lot")
            return
        leg = seller.ioc_order(row.symbol, "sell", amount, row.sell_price, ARB_LEVEL, f"arbitrage #{row.id} sell leg")
        trade["legs"]["sell"] = leg
        row.sell_client_id, row.status = leg.client_order_id, "selling"
        log.info("arbitrage #%s: bought %g on %s at %s; selling %g on %s", row.id, rec.filled, row.buy_exchange,
                 rec.average, amount, row.sell_exchange)
        self._arb_save(row)

    def _arb_after_sell(self, trade: dict[str, Any]) -> None:
        row, rec = trade["row"], trade["legs"]["sell"]
        if not self._arb_settled(self._arb_trader(row.sell_exchange), rec):
            return
        row.sell_filled = rec.filled
        left = row.buy_filled - rec.filled
        if left <= 1e-12 or self._arb_dust(row, left):
            self._arb_end(row, "done", f"sold {rec.filled:g} on {row.sell_exchange} at {_num(rec.average)}"
                          + (f"; {left:g} below the minimum order stays on {row.buy_exchange}" if left > 1e-12 else ""))
            return
        self._arb_unwind(trade, left, f"the sell leg took {rec.filled:g} of {row.buy_filled:g} "
                                      f"({rec.reason or rec.status})")

    def _arb_unwind(self, trade: dict[str, Any], amount: float, why: str) -> None:
        row = trade["row"]
        buyer = self._arb_trader(row.buy_exchange)
        trade["unwinds"] += 1
        log.warning("arbitrage #%s: %s; selling %g back at market on %s", row.id, why, amount, row.buy_exchange)
        rec = buyer.market_order(row.symbol, "sell", amount, reason=f"arbitrage #{row.id} unwind")
        trade["legs"]["unwind"] = rec
        trade["unwind_amount"] = amount
        row.unwind_client_id, row.status, row.note = rec.client_order_id, "unwinding", why[:300]
        self._arb_save(row)

    def _arb_after_unwind(self, trade: dict[str, Any]) -> None:
        row, rec = trade["row"], trade["legs"]["unwind"]
        if not self._arb_settled(self._arb_trader(row.buy_exchange), rec):
            return
        row.unwind_filled += rec.filled
        left = trade["unwind_amount"] - rec.filled
        if left <= 1e-12:
            self._arb_end(row, "unwound", f"{row.note}; unwound {row.unwind_filled:g} at {_num(rec.average)}")
            return
        if trade["unwinds"] >= UNWIND_TRIES:
            self._arb_end(row, "unhedged", f"{row.note}; the unwind failed {trade['unwinds']} times "
                          f"({rec.reason or rec.status}): {left:g} {row.symbol} is left long on {row.buy_exchange}")
            self.alert("critical", "arbitrage unhedged", f"arbitrage #{row.id}: {left:g} {row.symbol} bought on "
                       f"{row.buy_exchange} could not be sold back; close it on Positions",
                       key=f"arb-unhedged:{row.id}")
            return
        self._arb_unwind(trade, left, f"the unwind took {rec.filled:g} ({rec.reason or rec.status})")

    def _arb_end(self, row: ArbitrageTrade, status: str, note: str) -> None:
        trade = self.arbitrage.get(row.id) or {}
        legs = trade.get("legs", {})
        opp: Opportunity | None = trade.get("tops")
        buy, sell, unwind = legs.get("buy"), legs.get("sell"), legs.get("unwind")
        if buy is not None and buy.filled and opp is not None:
            cost = buy.filled * (buy.average or row.buy_price) * (1 + opp.buy.taker)
            got = (sell.filled * (sell.average or row.sell_price) * (1 - opp.sell.taker) if sell is not None else 0.0)
            got += (row.unwind_filled * (unwind.average or row.buy_price) * (1 - opp.buy.taker)
                    if unwind is not None else 0.0)
            row.pnl = round(got - cost, 8)
        row.status, row.note = status, note[:500]
        self._arb_save(row)
        (log.info if status in ("done", "missed") else log.warning)(
            "arbitrage #%s %s: %s%s", row.id, status, note, f"; pnl {row.pnl:+.4f}" if row.pnl is not None else "")
        if status in ("done", "unwound"):
            self.alert("info" if status == "done" else "warning", "arbitrage", f"#{row.id} {row.symbol} "
                       f"{row.buy_exchange} -> {row.sell_exchange}: {status}" + (f", pnl {row.pnl:+.2f}"
                                                                                 if row.pnl is not None else ""),
                       key=f"arb:{row.id}")

    # ------------------------------------------------------------------------------ helpers
    def _arb_dust(self, row: ArbitrageTrade, amount: float) -> bool:
        """Whether ``amount`` is below the buy side's minimum order (it cannot be sold back on its own)."""
        m = self._arb_trader(row.buy_exchange).ex.markets[row.symbol]
        limits = m.get("limits") or {}
        return (amount < ((limits.get("amount") or {}).get("min") or 0.0)
                or amount * row.buy_price * (m.get("contractSize") or 1.0) < ((limits.get("cost") or {}).get("min")
                                                                             or 0.0))

    def _arb_trader(self, name: str) -> Any:
        return next(t for t in self.traders if t.name == name)

    def _arb_save(self, row: ArbitrageTrade) -> ArbitrageTrade:
        row.updated_ms = self.clock.now_ms()
        try:
            with Session(self.db) as s:
                kept = s.merge(row)
                s.commit()
                row.id = kept.id
        except SQLAlchemyError as exc:  # the legs themselves are in the orders table; the summary row waits
            log.error("arbitrage: trade row not stored (%s)", type(exc).__name__)
            if row.id is None:
                row.id = -len(self.arbitrage) - 1
        return row

    def _arb_skip(self, symbol: str, reason: str, text: str) -> None:
        now = self.clock.now_ms()
        if now - self._arb_seen.get((symbol, reason), -SKIP_LOG_MS) >= SKIP_LOG_MS:
            self._arb_seen[(symbol, reason)] = now
            log.info("arbitrage opportunity %s", text)


def _num(x: float | None) -> str:
    return "—" if x is None else f"{x:.10g}"


def arbitrage_rows(engine: Any, limit: int = 20) -> list[dict]:
    """The last ``limit`` arbitrage trades, newest first, as the Positions page shows them."""
    with Session(engine.db) as s:
        rows = s.exec(select(ArbitrageTrade).order_by(ArbitrageTrade.id.desc()).limit(limit)).all()
    return [{"id": r.id, "time": iso8601(r.ts), "symbol": r.symbol, "route": f"{r.buy_exchange} -> {r.sell_exchange}",
             "amount": r.amount, "edge_bps": r.edge_bps, "status": r.status, "pnl": r.pnl, "note": r.note}
            for r in rows]
