"""The strategy seam: a strategy turns a market state into intent, and nothing else.

A strategy is pure: it reads the :class:`MarketState` it is given (book view, closed candles, own position and
orders, the risk gate's verdict, the time) and returns an :class:`Intent`: the resting quotes it wants now and/or
orders to send once, each with its reason. It does no I/O, reads no clock and touches no store. The execution core
(``engine/trader.py`` and ``engine/execution/``) turns intent into orders: client ids, write-ahead, hygiene, fills,
reconciliation; the risk gate sits between them and may clamp or refuse.

A new strategy is one class, registered with one line::

    @register("my_strategy")
    class MyStrategy(Strategy):
        defaults = {"lookback": 20}
        def decide(self, state: MarketState) -> Intent: ...

and a symbol names it in the config: ``symbols.sim."BTC/USDT": {strategy: my_strategy, params: {lookback: 30}}``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from engine.hygiene import LiveOrder
from engine.quoting import MarketView, Quote
from engine.strategies.signals import Signal


@dataclass(frozen=True)
class RiskVerdict:
    """What the risk gate says about one symbol before the strategy decides."""

    blocked: str | None = None  # why nothing may be quoted now (breaker, routing, operator), or None
    blocked_sides: frozenset[str] = frozenset()  # sides an inventory cap has closed
    size_factor: float | None = None  # the volatility breaker's size multiplier


@dataclass(frozen=True)
class MarketState:
    """Everything a strategy may look at, as plain values."""

    symbol: str
    now_ms: int
    view: MarketView
    candles: tuple[tuple[float, ...], ...]  # closed 1-minute candles [ts, open, high, low, close, volume], oldest first
    volatility_bps: float  # per-minute volatility of the recent closes (bps)
    position: float  # signed: + long, - short (base units, or contracts on perpetuals)
    orders: tuple[LiveOrder, ...]  # our live orders on this symbol
    risk: RiskVerdict
    capital_usd: float = math.inf  # the account's equity in the quote currency
    exposure_fraction: float = 0.0  # the portfolio's gross exposure over capital (0-1+)
    daily_pnl: float = 0.0  # the portfolio's PnL since the UTC day began
    correlation: float = 0.0  # the strongest correlation of this symbol's returns with another traded symbol's
    inventory_target: float = 0.0  # the signed position to lean toward (amount units): the funding job's, else flat
    lean_bps: float = 0.0  # move the quotes this far (bps of the mid; - down, toward selling): the funding job's
    entry_price: float = 0.0  # the average entry price of this exchange's position
    own_position: float = 0.0  # this exchange's own position (``position`` is netted across exchanges when asked)


@dataclass(frozen=True)
class OrderIntent:
    """An order to send once (a directional entry or exit)."""

    side: str  # buy | sell
    amount: float
    type: str = "market"  # market | limit
    price: float | None = None
    reduce_only: bool = False
    reason: str = ""


@dataclass(frozen=True)
class Intent:
    """What a strategy wants: resting ``quotes`` (diffed against our live orders) and ``orders`` to send once."""

    quotes: tuple[Quote, ...] = ()
    orders: tuple[OrderIntent, ...] = ()
    reason: str = ""
    signal: Signal | None = None  # a directional strategy's call (engine/strategies/directional.py)


class StrategyParamError(ValueError):
    """A strategy parameter is unknown or out of its range; the message names the key, the value and the rule."""


class Strategy(ABC):
    """Base class: ``defaults`` lists every parameter with its default; ``rules`` may check their values."""

    name: ClassVar[str] = ""
    defaults: ClassVar[Mapping[str, Any]] = {}
    rules: ClassVar[Mapping[str, tuple[Callable[[Any], bool], str]]] = {}  # key -> (check, what it must be)

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        self.params = {**self.defaults, **self.check(params or {})}

    @classmethod
    def check(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        """``params`` validated: a key the strategy does not have, or a value its rule refuses, raises
        :class:`StrategyParamError`."""
        for key, value in params.items():
            if key not in cls.defaults:
                raise StrategyParamError(f"params.{key} = {value!r}: unknown for strategy {cls.name}; allowed: "
                                         f"{', '.join(cls.defaults) or 'none'}")
            default = cls.defaults[key]
            if isinstance(default, bool) != isinstance(value, bool) or (
                    isinstance(default, (int, float)) and not isinstance(value, (int, float))):
                raise StrategyParamError(f"params.{key} = {value!r}: must be a {type(default).__name__}")
            rule = cls.rules.get(key)
            if rule is not None and not rule[0](value):
                raise StrategyParamError(f"params.{key} = {value!r}: {rule[1]}")
        return dict(params)

    @abstractmethod
    def decide(self, state: MarketState) -> Intent:
        """The intent for ``state``; pure."""
