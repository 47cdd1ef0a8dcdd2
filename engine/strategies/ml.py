"""The ML interface (seed 004 "ML Interface para RL"): the market as a state vector, a model's action as a signal, and
the ``policy`` strategy that trades any callable or model file.

- :func:`state_vector` = ``[RSI, Bollinger position, ATR, exposure, daily PnL, correlation]`` as a numpy array;
  :meth:`MLInterface.state_vector` builds it for a symbol the engine trades.
- :func:`action_to_order`: 0 HOLD, 1 BUY, 2 SELL (anything else HOLD).
- ``strategy: policy`` with ``params: {model: "package.module:function"}`` or ``{model: "path/to/policy.py"}`` (a
  file defining ``policy(vector) -> int``, or ``-> (int, confidence)``). The model is loaded once, when the
  config is read, so a wrong path or a broken file stops start-up with one line. Any callable works: a function,
  a wrapped scikit-learn or torch model (``lambda v: int(model.predict([v])[0])``); nothing is downloaded.
"""

from __future__ import annotations

import importlib
import importlib.util
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from engine.indicators import atr, bollinger, frame, rsi
from engine.strategies.base import MarketState, StrategyParamError
from engine.strategies.directional import DirectionalStrategy, _between
from engine.strategies.registry import register
from engine.strategies.signals import Signal, SignalType

FEATURES = ("rsi", "bb_position", "atr", "exposure", "daily_pnl", "correlation")
ACTIONS = {0: SignalType.HOLD, 1: SignalType.BUY, 2: SignalType.SELL}


def state_vector(candles: Sequence[Sequence[float]], exposure: float = 0.0, daily_pnl: float = 0.0,
                 correlation: float = 0.0, rsi_period: int = 14, bb_period: int = 20, atr_period: int = 14,
                 bb_std: float = 2.0) -> np.ndarray:
    """``[RSI, Bollinger position, ATR, exposure, daily PnL, correlation]`` on closed candles (NaN where the candles
    are too few for an indicator)."""
    df = frame(candles)
    close = df["close"]

    def last(series: pd.Series) -> float:
        return float(series.iloc[-1]) if len(series) else math.nan

    return np.array([last(rsi(close, rsi_period)), last(bollinger(close, bb_period, bb_std)["position"]),
                     last(atr(df, atr_period)), exposure, daily_pnl, correlation], dtype=float)


def action_to_order(action: int) -> SignalType:
    """A model's action as a signal type: 0 HOLD, 1 BUY, 2 SELL; anything else HOLD."""
    return ACTIONS.get(int(action), SignalType.HOLD) if isinstance(action, (int, np.integer)) else SignalType.HOLD


def correlation(closes: Sequence[float], others: Mapping[str, Sequence[float]], window: int = 60) -> float:
    """The strongest correlation (by absolute value, sign kept) of the last ``window`` one-minute returns of
    ``closes`` with those of any series in ``others``; 0 when there is too little data."""
    mine = pd.Series(list(closes)[-(window + 1):]).pct_change().dropna()
    best = 0.0
    for series in others.values():
        theirs = pd.Series(list(series)[-(window + 1):]).pct_change().dropna()
        n = min(len(mine), len(theirs))
        if n < 3:
            continue
        c = float(np.corrcoef(mine.iloc[-n:], theirs.iloc[-n:])[0, 1])
        if math.isfinite(c) and abs(c) > abs(best):
            best = c
    return best


def load_model(spec: str) -> Callable[[np.ndarray], Any]:
    """``package.module:function`` or a ``.py`` file defining ``policy``; raises :class:`StrategyParamError`."""
    try:
        if spec.endswith(".py"):
            path = Path(spec)
            loader = importlib.util.spec_from_file_location(f"mm_policy_{path.stem}", path)
            if loader is None or loader.loader is None or not path.is_file():
                raise FileNotFoundError(f"no such file {path}")
            module = importlib.util.module_from_spec(loader)
            loader.loader.exec_module(module)
            fn = getattr(module, "policy", None)
            if fn is None:
                raise AttributeError(f"{path} defines no policy(vector) function")
        else:
            name, sep, attr = spec.partition(":")
            if not sep:
                raise ValueError("write package.module:function or a path ending in .py")
            fn = getattr(importlib.import_module(name), attr)
    except Exception as exc:  # noqa: BLE001 - any failure to load is the operator's to fix, in one line
        raise StrategyParamError(f"params.model = {spec!r}: cannot be loaded ({type(exc).__name__}: {exc})") from None
    if not callable(fn):
        raise StrategyParamError(f"params.model = {spec!r}: is not callable")
    return fn


class MLInterface:
    """State vectors for the symbols a trader runs (seed 004 ``MLInterface``)."""

    def __init__(self, trader: Any) -> None:
        self.trader = trader

    def state_vector(self, symbol: str) -> np.ndarray:
        """The symbol's state vector now, from the closed candles the trader keeps and its portfolio view."""
        t = self.trader
        candles = t._closed.get(symbol) or tuple(tuple(r) for r in t.candles.get(symbol, ()))
        return state_vector(candles, t.exposure_fraction(), t.daily_pnl(), t.correlation_of(symbol))


@register("policy")
class PolicyStrategy(DirectionalStrategy):
    """Trades what a model says: its action (0 HOLD, 1 BUY, 2 SELL) on the state vector of each closed candle, at
    the model's confidence when it gives one (``(action, confidence)``), else ``confidence``; stop and take profit
    by ATR like the other directional strategies."""

    own = {"model": "", "confidence": 0.7, "rsi_period": 14, "bb_period": 20}
    own_rules = {"confidence": _between(0, 1)}

    def __init__(self, params: Mapping[str, Any] | None = None) -> None:
        super().__init__(params)
        self.model = load_model(str(self.params["model"]))

    @classmethod
    def check(cls, params: Mapping[str, Any]) -> dict[str, Any]:
        out = super().check(params)
        model = params.get("model", "")
        if not model:
            raise StrategyParamError("params.model = '': a policy needs a model: package.module:function or a .py "
                                     "file defining policy(vector)")
        load_model(str(model))
        return out

    def candles_needed(self) -> int:
        return max(int(self.params["bb_period"]), int(self.params["rsi_period"]) + 1, super().candles_needed())

    def signal(self, state: MarketState) -> Signal:
        self._state = state
        return super().signal(state)

    def analyze(self, df: pd.DataFrame) -> Signal:
        s = self._state
        vector = state_vector(s.candles, s.exposure_fraction, s.daily_pnl, s.correlation,
                              int(self.params["rsi_period"]), int(self.params["bb_period"]),
                              int(self.params["atr_period"]))
        answer = self.model(vector)
        action, confidence = (answer if isinstance(answer, tuple) else (answer, self.params["confidence"]))
        kind = action_to_order(action)
        entry = float(df["close"].iloc[-1])
        said = ", ".join(f"{k} {v:.4g}" for k, v in zip(FEATURES, vector, strict=True))
        if kind is SignalType.HOLD:
            return Signal(SignalType.HOLD, 0.0, entry, reasoning=f"policy: hold ({said})")
        stop, tp = self.entry_exits(kind, entry, df)
        return Signal(kind, float(confidence), entry, stop, tp, f"policy: action {int(action)} ({said})")
