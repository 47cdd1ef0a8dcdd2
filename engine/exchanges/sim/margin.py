"""Marks, funding, cross equity and liquidation of the simulated account."""

from __future__ import annotations

import logging

import ccxt

from engine.clock import iso8601
from engine.exchanges.sim.markets import (
    MarketSpec,
)

log = logging.getLogger("engine.exchanges.sim.venue")


class MarginAndFunding:
    """A part of :class:`engine.exchanges.sim.venue.SimExchange` (see the module docstring)."""

    def _funding_after(self, ms: int) -> int:
        step = self.sim_config.funding_interval_h * 3_600_000
        return (ms // step + 1) * step

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
            paid = self.account.pay_funding(spec, mark, rate)
            if paid:
                self._dirty_account = True
                self._funding_history.append({
                    "info": {"symbol": spec.id, "rate": rate, "mark": mark}, "symbol": s, "code": spec.settle,
                    "timestamp": ts_ms, "datetime": iso8601(ts_ms), "id": f"{spec.id}-{ts_ms}", "amount": paid})

    def _funding_rate(self, symbol: str) -> float:
        rate = self.live_source.funding_rate(symbol) if self.live_source is not None else None
        if rate is not None:  # paper trading on live data: the exchange's own rate
            return rate
        base_rate = self.sim_config.funding_rate
        spec = self.specs[symbol]
        spot = f"{spec.base}/{spec.quote}"
        perp_mark, spot_mark = self._mark(symbol), self._mark(spot) if spot in self.specs else None
        if perp_mark is None or spot_mark is None:
            return base_rate
        premium = perp_mark / spot_mark - 1.0
        return max(-0.0075, min(0.0075, base_rate + premium / 3.0))

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

    def _contract(self, symbol: str | None, what: str) -> MarketSpec:
        if symbol is None:
            raise ccxt.ArgumentsRequired(f"sim {what} requires a symbol argument")
        spec = self._spec(symbol)
        if not spec.contract:
            raise ccxt.BadSymbol(f"sim {what}: {symbol} is a spot market; use a perpetual such as {symbol}:"
                                 f"{spec.quote}")
        return spec
