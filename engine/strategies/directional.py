"""Directional strategies (seed 004): a signal on each new closed one-minute candle instead of resting quotes.

A :class:`DirectionalStrategy` only says BUY, SELL, CLOSE or HOLD with its confidence, entry, stop loss, take profit
and reasoning. The engine then checks the signal (a valid stop, enough confidence, the portfolio's exposure and
correlation limits), sizes it by ATR (``max_risk_usd / (ATR x atr_multiplier)``, capped by the symbol's
``max_position_size_usd``, the exchange's limits and the inventory caps), executes it and holds its exits
(``engine/execution/directional.py``).

Every directional strategy has these params besides its own:

- ``min_confidence`` (0.6): signals below it are refused;
- ``max_risk_usd`` (5): what one position may lose over ``atr_multiplier`` ATRs, sizing it;
- ``atr_period`` (14) and ``atr_multiplier`` (from the symbol's tier: STABLE 1.5, VOLATILE 2, MEME 3);
- ``stop_atr`` (2): the stop's distance from entry in ATRs, where the strategy has no stop of its own;
- ``take_profit_r`` (2): take profit at this multiple of the stop distance (0: none);
- ``entry`` (``market`` | ``limit``) and ``entry_timeout_s`` (30): a post-only limit at the touch, then market for
  what is left after the timeout.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import Any, ClassVar

import pandas as pd

from engine.indicators import atr, frame
from engine.strategies.base import Intent, MarketState, Strategy
from engine.strategies.signals import Signal, SignalType

COMMON: dict[str, Any] = {"min_confidence": 0.6, "max_risk_usd": 5.0, "atr_period": 14, "atr_multiplier": 2.0,
                          "stop_atr": 2.0, "take_profit_r": 2.0, "entry": "market", "entry_timeout_s": 30.0}


def _between(lo: float, hi: float) -> tuple[Any, str]:
    return (lambda x: lo <= x <= hi, f"must be from {lo:g} to {hi:g}")


def _positive() -> tuple[Any, str]:
    return (lambda x: x > 0, "must be greater than 0")


def _whole_from(lo: int) -> tuple[Any, str]:
    return (lambda x: float(x).is_integer() and x >= lo, f"must be a whole number >= {lo}")


COMMON_RULES: dict[str, tuple[Any, str]] = {
    "min_confidence": _between(0, 1), "max_risk_usd": _positive(), "atr_period": _whole_from(2),
    "atr_multiplier": _positive(), "stop_atr": _positive(), "take_profit_r": _between(0, 100),
    "entry": (lambda x: x in ("market", "limit"), "must be market or limit"), "entry_timeout_s": _positive(),
}


class DirectionalStrategy(Strategy):
    """Base of momentum, mean reversion, breakout and policy: ``own`` params and :meth:`analyze`."""

    directional: ClassVar[bool] = True
    own: ClassVar[dict[str, Any]] = {}
    own_rules: ClassVar[dict[str, tuple[Any, str]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.defaults = {**COMMON, **cls.own}
        cls.rules = {**COMMON_RULES, **cls.own_rules}

    def candles_needed(self) -> int:
        """Closed candles the longest indicator needs."""
        return int(self.params["atr_period"]) + 1

    def decide(self, state: MarketState) -> Intent:
        """The signal on the latest closed candle (HOLD with the reason while data is short); a signal against the
        held position becomes CLOSE, one with it HOLD."""
        signal = self.signal(state)
        return Intent(signal=signal, reason=signal.reasoning)

    def signal(self, state: MarketState) -> Signal:
        """As :meth:`decide`, the signal alone."""
        need = self.candles_needed()
        if len(state.candles) < need:
            return Signal(SignalType.HOLD, reasoning=f"insufficient data: {len(state.candles)} of {need} closed "
                                                      "candles", candle_ms=int(state.candles[-1][0]) if state.candles
                          else 0)
        df = frame(state.candles)
        last_ms = int(df["ts"].iloc[-1])
        sig = self.analyze(df)
        held = state.position
        if sig.type in (SignalType.BUY, SignalType.SELL) and held:
            with_it = (held > 0) == (sig.type is SignalType.BUY)
            sig = Signal(SignalType.HOLD, sig.confidence, reasoning=f"already {'long' if held > 0 else 'short'}: "
                         + sig.reasoning) if with_it else Signal(
                SignalType.CLOSE, sig.confidence, sig.entry, reasoning="opposite signal: " + sig.reasoning)
        return Signal(sig.type, round(sig.confidence, 4), sig.entry, sig.stop_loss, sig.take_profit, sig.reasoning,
                      last_ms)

    def atr(self, df: pd.DataFrame) -> float:
        """The latest ATR (price units)."""
        value = atr(df, int(self.params["atr_period"])).iloc[-1]
        return float(value) if not math.isnan(value) else math.nan

    def entry_exits(self, side: SignalType, entry: float, df: pd.DataFrame,
                    stop: float | None = None) -> tuple[float, float | None]:
        """The stop (``stop_atr`` ATRs away unless given) and take profit (``take_profit_r`` stop distances away)."""
        if stop is None:
            distance = self.params["stop_atr"] * self.atr(df)
            stop = entry - distance if side is SignalType.BUY else entry + distance
        r = self.params["take_profit_r"]
        tp = entry + r * (entry - stop) if r else None
        return stop, tp

    @abstractmethod
    def analyze(self, df: pd.DataFrame) -> Signal:
        """The signal on ``df`` (closed candles, oldest first, enough of them); pure."""


def crossed(fast: pd.Series, slow: pd.Series) -> int:
    """+1 if ``fast`` crossed above ``slow`` on the last value, -1 if below, else 0."""
    if len(fast) < 2 or fast.iloc[-2:].isna().any() or slow.iloc[-2:].isna().any():
        return 0
    before, now = fast.iloc[-2] - slow.iloc[-2], fast.iloc[-1] - slow.iloc[-1]
    return 1 if before <= 0 < now else -1 if before >= 0 > now else 0


__all__ = ["COMMON", "DirectionalStrategy", "crossed"]
