"""Strategies as plug-ins: pure deciders registered by name (see :mod:`engine.strategies.base`)."""

from engine.strategies import market_making  # noqa: F401 - registers market_making
from engine.strategies.base import Intent, MarketState, OrderIntent, RiskVerdict, Strategy, StrategyParamError
from engine.strategies.registry import STRATEGIES, create, register, strategy_class

__all__ = ["STRATEGIES", "Intent", "MarketState", "OrderIntent", "RiskVerdict", "Strategy", "StrategyParamError",
           "create", "register", "strategy_class"]
