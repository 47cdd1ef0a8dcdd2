"""Breakout (seed 004 "Cómo agregar nueva estrategia": ``BreakoutStrategy``)."""

from __future__ import annotations

import pandas as pd

from engine.strategies.directional import DirectionalStrategy, _whole_from
from engine.strategies.registry import register
from engine.strategies.signals import Signal, SignalType


@register("breakout")
class BreakoutStrategy(DirectionalStrategy):
    """BUY when the close goes above the highest high of the ``lookback`` candles before it, stop at the breakout
    candle's low; SELL when it goes below their lowest low, stop at its high. Confidence 70%, as in the seed."""

    own = {"lookback": 20, "confidence": 0.7}
    own_rules = {"lookback": _whole_from(2), "confidence": (lambda x: 0 <= x <= 1, "must be from 0 to 1")}

    def candles_needed(self) -> int:
        return max(int(self.params["lookback"]) + 1, super().candles_needed())

    def analyze(self, df: pd.DataFrame) -> Signal:
        n = int(self.params["lookback"])
        before = df.iloc[-n - 1:-1]
        last = df.iloc[-1]
        high, low, close = float(before["high"].max()), float(before["low"].min()), float(last["close"])
        conf = float(self.params["confidence"])
        if close > high:
            stop, tp = self.entry_exits(SignalType.BUY, close, df, stop=float(last["low"]))
            return Signal(SignalType.BUY, conf, close, stop, tp,
                          f"{n}-candle breakout: close {close:.6g} > high {high:.6g}")
        if close < low:
            stop, tp = self.entry_exits(SignalType.SELL, close, df, stop=float(last["high"]))
            return Signal(SignalType.SELL, conf, close, stop, tp,
                          f"{n}-candle breakdown: close {close:.6g} < low {low:.6g}")
        return Signal(SignalType.HOLD, 0.0, close, reasoning=f"inside the {n}-candle range {low:.6g}-{high:.6g}")
