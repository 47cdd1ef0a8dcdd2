"""Technical indicators on one-minute candles as small vectorised pandas functions (seed 004's strategies).

Each takes pandas Series (or a candle frame with ``open, high, low, close, volume`` columns) and returns a Series
aligned with its input; the first values, before the window is full, are NaN. RSI and ATR use Wilder's smoothing
(an exponential average with ``alpha = 1 / period``, seeded by the plain average of the first ``period`` values),
as TradingView and TA-Lib compute them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

COLUMNS = ("ts", "open", "high", "low", "close", "volume")


def frame(candles: Sequence[Sequence[float]]) -> pd.DataFrame:
    """Candles ``[ts, open, high, low, close, volume]`` (oldest first) as a frame with those columns."""
    return pd.DataFrame(np.asarray(candles, dtype=float).reshape(-1, 6), columns=list(COLUMNS))


def sma(values: pd.Series, period: int) -> pd.Series:
    """Simple moving average over ``period`` values."""
    return values.rolling(period, min_periods=period).mean()


def _wilder(values: pd.Series, period: int) -> pd.Series:
    """Wilder's smoothing: the first value is the mean of the first ``period``; then ``prev + (x - prev) / period``."""
    out = pd.Series(np.nan, index=values.index)
    valid = values.dropna()
    if len(valid) < period:
        return out
    seed_at = valid.index[period - 1]
    seeded = valid.loc[:seed_at].mean()
    rest = valid.loc[seed_at:].iloc[1:]
    smoothed = pd.concat([pd.Series([seeded], index=[seed_at]), rest]).ewm(alpha=1 / period, adjust=False).mean()
    out.loc[smoothed.index] = smoothed.to_numpy()
    return out


def rsi(close: pd.Series, period: int = 14) -> pd.Series:
    """Relative strength index (0-100, Wilder)."""
    delta = close.diff()
    gain = _wilder(delta.clip(lower=0), period)
    loss = _wilder((-delta).clip(lower=0), period)
    with np.errstate(divide="ignore", invalid="ignore"):
        rs = gain / loss
    out = 100 - 100 / (1 + rs)
    return out.where(loss != 0, np.where(gain > 0, 100.0, 50.0)).where(gain.notna())


def bollinger(close: pd.Series, period: int = 20, std: float = 2.0) -> pd.DataFrame:
    """Bollinger bands: ``mid`` (SMA), ``upper`` and ``lower`` (``std`` population standard deviations away) and
    ``position`` (where the close sits: 0 at the lower band, 1 at the upper)."""
    mid = sma(close, period)
    dev = close.rolling(period, min_periods=period).std(ddof=0)
    upper, lower = mid + std * dev, mid - std * dev
    width = (upper - lower).replace(0, np.nan)
    return pd.DataFrame({"mid": mid, "upper": upper, "lower": lower, "position": (close - lower) / width})


def true_range(candles: pd.DataFrame) -> pd.Series:
    """The larger of high - low and the gaps from the previous close."""
    prev = candles["close"].shift()
    ranges = pd.concat([candles["high"] - candles["low"], (candles["high"] - prev).abs(),
                        (candles["low"] - prev).abs()], axis=1)
    return ranges.max(axis=1, skipna=True).where(prev.notna(), candles["high"] - candles["low"])


def atr(candles: pd.DataFrame, period: int = 14) -> pd.Series:
    """Average true range (Wilder), in price units; the first true range is the first candle's high - low."""
    return _wilder(true_range(candles), period)


__all__ = ["COLUMNS", "atr", "bollinger", "frame", "rsi", "sma", "true_range"]
