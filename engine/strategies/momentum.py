"""Momentum (seed 004 ``MomentumStrategy``): a fast moving average crossing a slow one, confirmed by RSI."""

from __future__ import annotations

import pandas as pd

from engine.indicators import rsi, sma
from engine.strategies.directional import DirectionalStrategy, _whole_from, crossed
from engine.strategies.registry import register
from engine.strategies.signals import Signal, SignalType


@register("momentum")
class MomentumStrategy(DirectionalStrategy):
    """BUY when the ``ma_fast`` SMA crosses above the ``ma_slow`` one with RSI between 50 and ``overbought``; SELL
    when it crosses below with RSI between ``oversold`` and 50. Confidence grows from 55% with RSI's distance from
    50 (95% at 20 points)."""

    own = {"rsi_period": 14, "ma_fast": 9, "ma_slow": 21, "overbought": 70.0, "oversold": 30.0}
    own_rules = {"rsi_period": _whole_from(2), "ma_fast": _whole_from(1), "ma_slow": _whole_from(2),
                 "overbought": (lambda x: 50 < x <= 100, "must be above 50 and at most 100"),
                 "oversold": (lambda x: 0 <= x < 50, "must be at least 0 and below 50")}

    def candles_needed(self) -> int:
        p = self.params
        return max(int(p["ma_slow"]) + 1, int(p["rsi_period"]) + 1, super().candles_needed())

    def analyze(self, df: pd.DataFrame) -> Signal:
        p = self.params
        close = df["close"]
        fast, slow = sma(close, int(p["ma_fast"])), sma(close, int(p["ma_slow"]))
        r = float(rsi(close, int(p["rsi_period"])).iloc[-1])
        cross = crossed(fast, slow)
        entry = float(close.iloc[-1])
        said = f"MA{p['ma_fast']} {fast.iloc[-1]:.6g} vs MA{p['ma_slow']} {slow.iloc[-1]:.6g}, RSI {r:.1f}"
        confidence = min(0.95, 0.55 + 0.4 * min(1.0, abs(r - 50) / 20))
        if cross > 0 and 50 < r < p["overbought"]:
            stop, tp = self.entry_exits(SignalType.BUY, entry, df)
            return Signal(SignalType.BUY, confidence, entry, stop, tp, f"bullish crossover: {said}")
        if cross < 0 and p["oversold"] < r < 50:
            stop, tp = self.entry_exits(SignalType.SELL, entry, df)
            return Signal(SignalType.SELL, confidence, entry, stop, tp, f"bearish crossover: {said}")
        why = "no crossover" if not cross else "crossover without RSI confirmation"
        return Signal(SignalType.HOLD, 0.0, entry, reasoning=f"{why}: {said}")
