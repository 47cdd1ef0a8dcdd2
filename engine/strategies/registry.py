"""Strategies by name: ``@register("name")`` on the class is the one line that makes a symbol able to name it."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from engine.strategies.base import Strategy, StrategyParamError

STRATEGIES: dict[str, type[Strategy]] = {}


def register(name: str) -> Callable[[type[Strategy]], type[Strategy]]:
    """Class decorator: the strategy is known as ``name`` in ``symbols.<exchange>.<symbol>.strategy``."""

    def add(cls: type[Strategy]) -> type[Strategy]:
        if name in STRATEGIES and STRATEGIES[name] is not cls:
            raise ValueError(f"a strategy named {name!r} is already registered ({STRATEGIES[name].__name__})")
        cls.name = name
        STRATEGIES[name] = cls
        return cls

    return add


def strategy_class(name: str) -> type[Strategy]:
    """The class registered as ``name``; an unknown name raises :class:`StrategyParamError` listing the known ones."""
    if name not in STRATEGIES:
        raise StrategyParamError(f"strategy = {name!r}: unknown; registered: {', '.join(sorted(STRATEGIES))}")
    return STRATEGIES[name]


def create(name: str, params: Mapping[str, Any] | None = None, base: Mapping[str, Any] | None = None) -> Strategy:
    """A strategy by name; ``base`` (defaults from the engine's config) under the symbol's own ``params``."""
    cls = strategy_class(name)
    cls.check(params or {})
    return cls({k: v for k, v in (base or {}).items() if k in cls.defaults} | dict(params or {}))
