"""Indicators against values computed independently, by plain loops over the textbook definitions."""

from __future__ import annotations

import math
import random
import statistics

import pytest

from engine.indicators import atr, bollinger, frame, rsi, sma


def candles(n: int = 80, seed: int = 3) -> list[list[float]]:
    rng = random.Random(seed)
    out, price = [], 100.0
    for i in range(n):
        o = price
        c = o * (1 + rng.gauss(0, 0.004))
        h, lo = max(o, c) * (1 + abs(rng.gauss(0, 0.002))), min(o, c) * (1 - abs(rng.gauss(0, 0.002)))
        out.append([i * 60_000, o, h, lo, c, 1.0])
        price = c
    return out


def wilder_loop(values: list[float], period: int) -> list[float | None]:
    out: list[float | None] = [None] * len(values)
    avg = sum(values[:period]) / period
    out[period - 1] = avg
    for i in range(period, len(values)):
        avg = (avg * (period - 1) + values[i]) / period
        out[i] = avg
    return out


def test_rsi_matches_wilders_definition():
    rows = candles()
    closes = [r[4] for r in rows]
    gains = [max(b - a, 0.0) for a, b in zip(closes, closes[1:], strict=False)]
    losses = [max(a - b, 0.0) for a, b in zip(closes, closes[1:], strict=False)]
    ag, al = wilder_loop(gains, 14), wilder_loop(losses, 14)
    expected = [None] + [None if g is None else 100 - 100 / (1 + g / lo) for g, lo in zip(ag, al, strict=True)]
    got = rsi(frame(rows)["close"], 14).tolist()
    for e, g in zip(expected, got, strict=True):
        assert (e is None and math.isnan(g)) or g == pytest.approx(e, rel=1e-9)
    assert sum(e is not None for e in expected) == len(rows) - 14


def test_rsi_is_100_when_prices_only_rise_and_50_when_flat():
    up = [[i * 60_000, 1, 1, 1, 100 + i, 1] for i in range(30)]
    flat = [[i * 60_000, 1, 1, 1, 100, 1] for i in range(30)]
    assert rsi(frame(up)["close"], 14).iloc[-1] == 100.0
    assert rsi(frame(flat)["close"], 14).iloc[-1] == 50.0


def test_atr_matches_the_true_range_loop():
    rows = candles()
    pairs = zip(rows, rows[1:], strict=False)
    trs = [rows[0][2] - rows[0][3]] + [max(h - lo, abs(h - pc), abs(lo - pc))
                                       for (_, _, _, _, pc, _), (_, _, h, lo, _, _) in pairs]
    expected = wilder_loop(trs, 14)
    got = atr(frame(rows), 14).tolist()
    for e, g in zip(expected, got, strict=True):
        assert (e is None and math.isnan(g)) or g == pytest.approx(e, rel=1e-9)


def test_bollinger_and_sma_match_statistics():
    rows = candles()
    closes = [r[4] for r in rows]
    bands = bollinger(frame(rows)["close"], 20, 2.0)
    window = closes[-20:]
    mid, dev = statistics.fmean(window), statistics.pstdev(window)
    last = bands.iloc[-1]
    assert last["mid"] == pytest.approx(mid) and sma(frame(rows)["close"], 20).iloc[-1] == pytest.approx(mid)
    assert last["upper"] == pytest.approx(mid + 2 * dev) and last["lower"] == pytest.approx(mid - 2 * dev)
    assert last["position"] == pytest.approx((closes[-1] - (mid - 2 * dev)) / (4 * dev))
    assert math.isnan(bands["mid"].iloc[18]) and not math.isnan(bands["mid"].iloc[19])
