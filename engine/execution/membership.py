"""Which symbols a trader quotes, and how they come and go (a part of :class:`engine.trader.Trader`).

The safe list (``symbols.<exchange>``) and the symbol universe (:mod:`engine.universe`) both arrive as the config's
symbol table; :meth:`Membership.configure` follows it. A symbol the universe adds first **warms up**: it quotes
once ``symbol_universe.warmup_candles`` closed one-minute candles are in and a two-sided book is seen (so its
volatility, sizes and risk ranges are real). A symbol the universe drops is **flattened gently**: the side that
would add to its position is blocked and the other side keeps quoting (skewed toward flat) until the position is
below the market's minimum order; then its orders are cancelled and it leaves. Nothing is sold at market.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

from engine.config import AppConfig
from engine.risk.gate import RollingRange
from engine.strategies import create
from engine.strategies.harvest import harvest_params

log = logging.getLogger("engine.trader")
MINUTE_MS = 60_000


class Membership:
    """Symbols joining (warming up), quoting, and leaving (quoting their inventory out)."""

    def _init_membership(self) -> None:
        self.warming: dict[str, int] = {}  # symbol -> since (ms): joined, not quoting until warmed up
        self.leaving: dict[str, int] = {}  # symbol -> since (ms): dropped, quoting only the side toward flat
        self.left: set[str] = set()  # leaving symbols now flat, waiting for the universe to take them off
        self.warmup_candles = 0

    def configure(self, config: AppConfig) -> None:
        """Take a (re)loaded config: each symbol's strategy is built again from its settings; a symbol disabled
        stops trading (its orders are cancelled, its position stays) and one enabled starts."""
        self.config = config
        self.warmup_candles = config.symbol_universe.warmup_candles
        table = config.symbols.get(self.name, {})
        wanted = config.active_symbols(self.name)
        if self.ex.markets:  # running: follow the safe list
            for symbol in [s for s in self.symbols if s not in wanted]:
                left = symbol in self.left
                for rec in [o for o in self.orders.values() if o.symbol == symbol]:
                    self.cancel(rec, "left the universe" if left else "symbol disabled")
                self.flush()
                self._forget(symbol)
                if left:
                    log.info("%s %s: left the universe, flat", self.name, symbol)
                else:
                    log.info("%s %s: disabled; its orders are cancelled%s", self.name, symbol,
                             "; its position stays (close it on Positions)" if self.ledger.position(symbol).qty
                             else "")
            for symbol in [s for s in wanted if s not in self.symbols]:
                if symbol not in self.ex.markets:
                    log.error("%s does not list %s; not enabled", self.name, symbol)
                    wanted.remove(symbol)
                    continue
                self.ranges[symbol] = RollingRange(config.risk.volatility_window_min * 60_000)
                log.info("%s %s: %s", self.name, symbol,
                         "joined the universe; warming up" if symbol in self.warming else "enabled")
            self.symbols = wanted
            if self.feed is not None:
                self.feed.watch(wanted)  # a symbol enabled or joining the universe streams its book too
        self.strategies = {}
        for symbol in self.symbols:
            sc = table.get(symbol)
            self.strategies[symbol] = create(sc.strategy if sc else "market_making", sc.params if sc else {},
                                             self._strategy_base(symbol))

    def _forget(self, symbol: str) -> None:
        """Drop what the trader kept about a symbol it no longer quotes (its fills and position stay in the ledger)."""
        for kept in (self.ranges, self.views, self.candles, self._frozen_candles, self.vol, self.candle_range,
                     self.last_requote):
            kept.pop(symbol, None)
        self.warming.pop(symbol, None)
        self.leaving.pop(symbol, None)
        self.left.discard(symbol)

    def _strategy_base(self, symbol: str) -> dict:
        """The engine-wide settings a strategy starts from (``strategy.*``, the risk mode, the symbol's caps)."""
        st, mode = self.config.strategy, self.config.mode()
        table = self.config.symbols.get(self.name, {})
        leverage = table[symbol].leverage if symbol in table else 1
        cap = table[symbol].max_position_size_usd if symbol in table else mode.max_inventory_usd
        tier = self.config.tiers[table[symbol].tier] if symbol in table else None
        widen = tier.spread_multiplier if tier else 1.0
        return dict(levels=mode.levels, spread_bps=st.spread_bps * widen, step_bps=st.step_bps,
                    min_spread_bps=st.min_spread_bps, fee_aware=st.fee_aware, volume_factor=st.volume_factor,
                    usd_per_order=st.usd_per_order, min_order_usd=st.min_order_usd, max_order_usd=st.max_order_usd,
                    skew=st.skew.enabled, gamma=st.skew.gamma, tau_s=st.skew.tau_s, size_shrink=st.skew.size_shrink,
                    max_inventory_usd=min(mode.max_inventory_usd, cap), margin_pct=mode.margin_pct, leverage=leverage,
                    atr_multiplier=tier.atr_multiplier if tier else 1.5, **harvest_params(self.config.pnl_harvest))

    # ------------------------------------------------------------------------ joining and leaving
    def holds(self, symbol: str, mid: float) -> bool:
        """Whether the position in ``symbol`` is at least the market's minimum order (something to quote out)."""
        qty = abs(self.ledger.position(symbol).qty)
        m = self.ex.markets.get(symbol) or {}
        limits = m.get("limits") or {}
        min_amount = (limits.get("amount") or {}).get("min") or 0.0
        min_cost = (limits.get("cost") or {}).get("min") or 0.0
        return qty > 0 and qty >= min_amount and qty * mid * (m.get("contractSize") or 1.0) >= min_cost

    def held_back(self, symbol: str, mid: float, now: int) -> bool:
        """Whether ``symbol`` must not quote this cycle: still warming up, or leaving and now flat (its orders are
        cancelled then, and it waits for the universe job to take it off)."""
        if symbol in self.left:
            return True
        if symbol in self.leaving:
            if self.holds(symbol, mid):
                return False
            for rec in [o for o in self.orders.values() if o.symbol == symbol]:
                self.cancel(rec, "left the universe")
            self.flush()
            self.left.add(symbol)
            log.info("%s %s: flat; leaving the universe", self.name, symbol)
            return True
        if symbol not in self.warming:
            return False
        self.volatility(symbol)  # the candles, fetched at most once a minute
        closed = sum(1 for r in self.candles.get(symbol, []) if r[0] + MINUTE_MS <= now)
        if closed < self.warmup_candles:
            for side in ("buy", "sell"):
                self._side_reason[(symbol, side)] = (now, f"warming up: {closed} of {self.warmup_candles} candles")
            return True
        del self.warming[symbol]
        log.info("%s %s: warmed up (%d candles, volatility %.1f bps/min); quoting", self.name, symbol, closed,
                 self.vol.get(symbol, (0, 0.0))[1])
        return False

    def leaving_side(self, symbol: str) -> str | None:
        """The side a leaving symbol may not quote (the one that adds to its position), else None."""
        if symbol not in self.leaving:
            return None
        qty = self.ledger.position(symbol).qty
        return "buy" if qty > 0 else "sell" if qty < 0 else None

    def quote_out(self, symbol: str, quotes: list, lot: float) -> list:
        """A leaving symbol's quotes: only the best level of the side toward flat, no larger than the position."""
        if symbol not in self.leaving:
            return quotes
        qty = abs(self.ledger.position(symbol).qty)
        size = math.floor(qty / lot + 1e-9) * lot if lot else qty
        best = min((q for q in quotes if q.side != self.leaving_side(symbol)), key=lambda q: q.level, default=None)
        if best is None or size <= 0:
            return []
        return [replace(best, amount=round(min(best.amount, size), 12))]
