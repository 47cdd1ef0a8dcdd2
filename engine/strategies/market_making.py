"""The ladder market maker (seed 000) as a strategy: the configured ladder with inventory skew, sizing and caps,
priced from the book's mid; the risk gate's verdict removes closed sides and scales sizes."""

from __future__ import annotations

import math
from dataclasses import fields, replace

from engine.quoting import QuoteParams, build_ladder
from engine.strategies.base import Intent, MarketState, Strategy
from engine.strategies.harvest import HARVEST_DEFAULTS, Harvester, HarvestParams, WickWatch
from engine.strategies.registry import register

_QUOTE_PARAMS = {f.name: f.default for f in fields(QuoteParams) if f.name not in ("capital_usd", "size_factor")}
_PARAMS = {**_QUOTE_PARAMS, **HARVEST_DEFAULTS}


def _positive(x: float) -> bool:
    return x > 0


def _moved(quotes: list, m: object, lean_bps: float) -> list:
    """Every quote moved ``lean_bps`` of the mid (to the tick, never crossing the book: a buy stays under the best
    ask, a sell over the best bid)."""
    shift = m.mid * lean_bps / 1e4
    out = []
    for q in quotes:
        if q.side == "buy":
            price = min(math.floor((q.price + shift) / m.tick + 1e-9) * m.tick, m.best_ask - m.tick)
        else:
            price = max(math.ceil((q.price + shift) / m.tick - 1e-9) * m.tick, m.best_bid + m.tick)
        out.append(replace(q, price=round(price, 12)))
    return out


@register("market_making")
class MarketMakingStrategy(Strategy):
    """Two-sided ladder quoting; its params are :class:`engine.quoting.QuoteParams`' (levels, spread_bps, ...).

    The engine fills them from ``strategy.*``, the risk mode and the symbol's leverage and position cap; a symbol's
    own ``params`` override them for that symbol (``params: {spread_bps: 12}``)."""

    defaults = _PARAMS
    rules = {**{k: (_positive, "must be greater than 0") for k in ("spread_bps", "usd_per_order", "min_order_usd",
                                                                     "max_order_usd", "max_inventory_usd", "leverage",
                                                                     "volume_factor", "levels", "tp_requote_s",
                                                                     "wick_window_s")},
             **{k: (lambda v: v >= 0, "must be 0 or more") for k in ("harvest_bps", "widen_on_wick_bps", "wick_bps",
                                                                     "wick_widen_s")}}

    def __init__(self, params: dict | None = None) -> None:
        super().__init__(params)
        self.quote_params = QuoteParams(**{k: v for k, v in self.params.items() if k in _QUOTE_PARAMS})
        harvest = HarvestParams(**{k: v for k, v in self.params.items() if k in HARVEST_DEFAULTS})
        self.harvester, self.wicks = Harvester(harvest), WickWatch(harvest)
        self._params_key: tuple | None = None
        self._params = self.quote_params
        self._ladder_key: tuple | None = None  # the last ladder's inputs, and the ladder (see _ladder_of)
        self._ladder: list = []

    def _params_for(self, capital_usd: float, size_factor: float | None, widen: float) -> QuoteParams:
        """The ladder's params for this capital, the gate's size factor and a wick's widening (the last ones kept:
        they change a few times a minute, the cycle runs every quarter second)."""
        key = (capital_usd, size_factor, widen)
        if self._params_key == key:
            return self._params
        p = replace(self.quote_params, capital_usd=capital_usd if capital_usd > 0 else math.inf)
        if size_factor is not None:
            p = replace(p, size_factor=size_factor)
        if widen:  # after a wick: wider for a while
            p = replace(p, spread_bps=max(p.spread_bps, p.min_spread_bps) + widen)
        self._params_key, self._params = key, p
        return p

    def _ladder_of(self, view: object, inventory: float, volatility_bps: float, p: QuoteParams) -> list:
        """:func:`build_ladder`, or the last cycle's ladder when its inputs are the same (a pure function of them; in
        three cycles of four the book's best bid and ask have not moved a quarter second later). Not to be changed:
        the caller filters it into a list of its own."""
        key = (view, inventory, volatility_bps, p)
        last = self._ladder_key
        if last is None or last[3] is not p or last != key:
            self._ladder = build_ladder(view, inventory, volatility_bps, p)
            self._ladder_key = key
        return self._ladder

    def decide(self, state: MarketState) -> Intent:
        if state.risk.blocked:
            return Intent(reason=state.risk.blocked)
        widen = self.wicks.widen_bps(state.now_ms, state.view.mid)
        p = self._params_for(state.capital_usd, state.risk.size_factor, widen)
        quotes = [q for q in self._ladder_of(state.view, state.position - state.inventory_target,
                                             state.volatility_bps, p) if q.side not in state.risk.blocked_sides]
        if state.inventory_target:  # the ladder leans around the target; the cap still binds on the real position
            held_usd = state.position * state.view.mid * state.view.contract_size
            quotes = [q for q in quotes if not (q.side == "buy" and held_usd >= p.max_inventory_usd)
                      and not (q.side == "sell" and held_usd <= -p.max_inventory_usd)]
        if state.lean_bps:
            quotes = _moved(quotes, state.view, state.lean_bps)
        reasons = ["ladder"]
        if state.inventory_target:
            reasons.append(f"leaning {'short' if state.inventory_target < 0 else 'long'} (funding)")
        if widen:
            reasons.append(f"{widen:g} bps wider after a wick")
        own, net = state.own_position, state.position  # the exposure netted across exchanges is what is harvested
        exposed = math.copysign(min(abs(own), abs(net)), own) if own * net > 0 else 0.0
        tp = self.harvester.quote(state.view, exposed, state.entry_price, state.now_ms)
        if tp is not None and tp.side not in state.risk.blocked_sides:
            quotes.append(tp)
            reasons.append(f"take profit {tp.side} {tp.amount:g} at {tp.price:g}")
        return Intent(quotes=tuple(quotes), reason=", ".join(reasons))
