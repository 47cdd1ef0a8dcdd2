"""Mean reversion (seed 004 ``MeanReversionStrategy``): a close outside a Bollinger band with RSI stretched."""

from __future__ import annotations

import pandas as pd

from engine.indicators import bollinger, rsi
from engine.strategies.directional import DirectionalStrategy, _positive, _whole_from
from engine.strategies.registry import register
from engine.strategies.signals import Signal, SignalType


@register("mean_reversion")
class MeanReversionStrategy(DirectionalStrategy):
    """BUY when the close is at or below the lower band (``bb_period``, ``bb_std``) and RSI at or below ``rsi_low``;
    SELL at the upper band with RSI at or above ``rsi_high``. Take profit at the middle band (the mean). Confidence
    60% plus how far RSI and the close go past their thresholds."""

    own = {"bb_period": 20, "bb_std": 2.0, "rsi_period": 14, "rsi_low": 30.0, "rsi_high": 70.0}
    own_rules = {"bb_period": _whole_from(2), "bb_std": _positive(), "rsi_period": _whole_from(2),
                 "rsi_low": (lambda x: 0 <= x < 50, "must be at least 0 and below 50"),
                 "rsi_high": (lambda x: 50 < x <= 100, "must be above 50 and at most 100")}

    def candles_needed(self) -> int:
        p = self.params
        return max(int(p["bb_period"]), int(p["rsi_period"]) + 1, super().candles_needed())

    def analyze(self, df: pd.DataFrame) -> Signal:
        p = self.params
        close = df["close"]
        bands = bollinger(close, int(p["bb_period"]), float(p["bb_std"])).iloc[-1]
        r = float(rsi(close, int(p["rsi_period"])).iloc[-1])
        entry = float(close.iloc[-1])
        pos = float(bands["position"])
        said = (f"close {entry:.6g}, bands {bands['lower']:.6g}/{bands['mid']:.6g}/{bands['upper']:.6g} "
                f"(position {pos:.2f}), RSI {r:.1f}")
        if entry <= bands["lower"] and r <= p["rsi_low"]:
            confidence = min(0.95, 0.6 + (p["rsi_low"] - r) / 50 + max(0.0, -pos) * 0.5)
            stop, _ = self.entry_exits(SignalType.BUY, entry, df)
            return Signal(SignalType.BUY, confidence, entry, stop, float(bands["mid"]), f"below the lower band: {said}")
        if entry >= bands["upper"] and r >= p["rsi_high"]:
            confidence = min(0.95, 0.6 + (r - p["rsi_high"]) / 50 + max(0.0, pos - 1) * 0.5)
            stop, _ = self.entry_exits(SignalType.SELL, entry, df)
            return Signal(SignalType.SELL, confidence, entry, stop, float(bands["mid"]),
                          f"above the upper band: {said}")
        return Signal(SignalType.HOLD, 0.0, entry, reasoning=f"inside the bands: {said}")
