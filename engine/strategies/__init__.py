"""Strategies as plug-ins: pure deciders registered by name (see :mod:`engine.strategies.base`)."""

from engine.strategies import breakout, market_making, mean_reversion, ml, momentum  # noqa: F401 - registers them
from engine.strategies.base import Intent, MarketState, OrderIntent, RiskVerdict, Strategy, StrategyParamError
from engine.strategies.registry import STRATEGIES, create, register, strategy_class
from engine.strategies.signals import Signal, SignalType

__all__ = ["STRATEGIES", "Intent", "MarketState", "OrderIntent", "RiskVerdict", "Strategy", "StrategyParamError",
           "create", "register", "strategy_class", "Signal", "SignalType"]
