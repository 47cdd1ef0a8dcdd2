"""The ladder market maker (seed 000) as a strategy: the configured ladder with inventory skew, sizing and caps,
priced from the book's mid; the risk gate's verdict removes closed sides and scales sizes."""

from __future__ import annotations

import math
from dataclasses import fields, replace

from engine.quoting import QuoteParams, build_ladder
from engine.strategies.base import Intent, MarketState, Strategy
from engine.strategies.registry import register

_PARAMS = {f.name: f.default for f in fields(QuoteParams) if f.name not in ("capital_usd", "size_factor")}


def _positive(x: float) -> bool:
    return x > 0


@register("market_making")
class MarketMakingStrategy(Strategy):
    """Two-sided ladder quoting; its params are :class:`engine.quoting.QuoteParams`' (levels, spread_bps, ...).

    The engine fills them from ``strategy.*``, the risk mode and the symbol's leverage and position cap; a symbol's
    own ``params`` override them for that symbol (``params: {spread_bps: 12}``)."""

    defaults = _PARAMS
    rules = {k: (_positive, "must be greater than 0") for k in ("spread_bps", "usd_per_order", "min_order_usd",
                                                                  "max_order_usd", "max_inventory_usd", "leverage",
                                                                  "volume_factor", "levels")}

    def __init__(self, params: dict | None = None) -> None:
        super().__init__(params)
        self.quote_params = QuoteParams(**self.params)

    def decide(self, state: MarketState) -> Intent:
        if state.risk.blocked:
            return Intent(reason=state.risk.blocked)
        p = replace(self.quote_params, capital_usd=state.capital_usd if state.capital_usd > 0 else math.inf)
        if state.risk.size_factor is not None:
            p = replace(p, size_factor=state.risk.size_factor)
        quotes = [q for q in build_ladder(state.view, state.position, state.volatility_bps, p)
                  if q.side not in state.risk.blocked_sides]
        return Intent(quotes=tuple(quotes), reason="ladder")
