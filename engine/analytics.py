"""What a run did, in the numbers market makers judge it by: pure functions over its fills, orders, equity and
inventory series, and a mid-price series (a backtest's, or the live store's), no I/O.

- :func:`markouts`: every fill's mid move after 1 s, 10 s and 60 s, in bps, positive in the fill's favour (a buy
  followed by a rising mid) and negative against it: adverse selection;
- :func:`sharpe` and :func:`sortino`: from an equity series sampled every ``interval_s``, annualised by
  ``sqrt(seconds per year / interval_s)`` (the interval is stated with the result);
- :func:`max_drawdown`, :func:`return_over_trade`, :func:`fill_ratio`, :func:`inventory_stats`,
  :func:`time_in_market`; :func:`summary` puts them together.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

SECONDS_PER_YEAR = 365 * 24 * 3600
HORIZONS_S = (1, 10, 60)


@dataclass(frozen=True)
class Fill:
    """One fill: time (ms), side, price, amount (base), fee (quote)."""

    ts: int
    side: str
    price: float
    amount: float
    fee: float = 0.0


def mid_at(mids: Sequence[tuple[int, float]], ts: int) -> float | None:
    """The last mid at or before ``ts`` in a series sorted by time; None before the first."""
    i = bisect_right(mids, (ts, math.inf)) - 1
    return mids[i][1] if i >= 0 else None


def markout_bps(fill: Fill, later_mid: float) -> float:
    """The mid move after a fill, in bps of its price: positive when it went the fill's way."""
    move = (later_mid - fill.price) if fill.side == "buy" else (fill.price - later_mid)
    return move / fill.price * 1e4


def markouts(fills: Sequence[Fill], mids: Sequence[tuple[int, float]],
             horizons_s: Sequence[int] = HORIZONS_S) -> dict[int, list[float | None]]:
    """Per horizon, each fill's markout in bps (None where the series ends before the horizon)."""
    end = mids[-1][0] if mids else -1
    out: dict[int, list[float | None]] = {}
    for h in horizons_s:
        row: list[float | None] = []
        for f in fills:
            t = f.ts + h * 1000
            later = mid_at(mids, t) if t <= end else None
            row.append(markout_bps(f, later) if later is not None else None)
        out[h] = row
    return out


def mean_markouts(fills: Sequence[Fill], mids: Sequence[tuple[int, float]],
                  horizons_s: Sequence[int] = HORIZONS_S) -> dict[int, float | None]:
    """The average markout per horizon, weighted by each fill's notional (None without a measurable fill)."""
    table = markouts(fills, mids, horizons_s)
    out: dict[int, float | None] = {}
    for h, values in table.items():
        pairs = [(v, f.price * f.amount) for v, f in zip(values, fills, strict=True) if v is not None]
        weight = sum(w for _, w in pairs)
        out[h] = sum(v * w for v, w in pairs) / weight if weight else None
    return out


def _returns(equity: Sequence[float]) -> list[float]:
    return [(b - a) / a for a, b in zip(equity, equity[1:], strict=False) if a]


def sharpe(equity: Sequence[float], interval_s: float) -> float | None:
    """Mean over standard deviation of the per-interval returns, annualised; None with under 3 points or no
    variation."""
    r = _returns(equity)
    if len(r) < 2:
        return None
    mean = sum(r) / len(r)
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / (len(r) - 1))
    return mean / sd * math.sqrt(SECONDS_PER_YEAR / interval_s) if sd > 0 else None


def sortino(equity: Sequence[float], interval_s: float) -> float | None:
    """Mean over the downside deviation (returns below zero), annualised; None without a losing interval."""
    r = _returns(equity)
    if len(r) < 2:
        return None
    mean = sum(r) / len(r)
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / len(r))
    return mean / downside * math.sqrt(SECONDS_PER_YEAR / interval_s) if downside > 0 else None


def max_drawdown(equity: Sequence[float]) -> tuple[float, float]:
    """The largest fall from a running peak: (amount, bps of that peak)."""
    peak, worst, worst_bps = -math.inf, 0.0, 0.0
    for e in equity:
        peak = max(peak, e)
        if peak > 0 and peak - e > worst:
            worst, worst_bps = peak - e, (peak - e) / peak * 1e4
    return worst, worst_bps


def return_over_trade(net_pnl: float, volume: float) -> float | None:
    """Net PnL per traded notional, in bps (what each dollar traded earned)."""
    return net_pnl / volume * 1e4 if volume else None


def fill_ratio(orders_placed: int, orders_filled: int) -> float | None:
    """Orders that got at least one fill over orders placed."""
    return orders_filled / orders_placed if orders_placed else None


def inventory_stats(series: Sequence[tuple[int, float]], cap_usd: float | None = None) -> dict[str, float]:
    """Inventory in USD over time (ms, value), time-weighted: max and mean absolute, and the share of time at the
    cap (within 1%)."""
    if not series:
        return {"max_abs": 0.0, "mean_abs": 0.0, "time_at_cap": 0.0}
    total = weighted = at_cap = 0.0
    for (t, v), (t_next, _) in zip(series, series[1:], strict=False):
        dt = t_next - t
        total += dt
        weighted += abs(v) * dt
        if cap_usd and abs(v) >= cap_usd * 0.99:
            at_cap += dt
    return {"max_abs": max(abs(v) for _, v in series),
            "mean_abs": weighted / total if total else abs(series[0][1]),
            "time_at_cap": at_cap / total if total else 0.0}


def time_in_market(quoted: Sequence[tuple[int, bool]]) -> float:
    """The share of time with quotes resting (samples (ms, quoting?), each holding until the next)."""
    total = on = 0.0
    for (t, q), (t_next, _) in zip(quoted, quoted[1:], strict=False):
        total += t_next - t
        on += (t_next - t) if q else 0.0
    return on / total if total else 0.0


def summary(fills: Sequence[Fill], mids: Sequence[tuple[int, float]], equity: Sequence[float], interval_s: float,
            orders_placed: int, orders_filled: int, net_pnl: float) -> dict:
    """The run's metrics in one mapping (what the lab shows and stores)."""
    volume = sum(f.price * f.amount for f in fills)
    dd, dd_bps = max_drawdown(equity)
    return {
        "fills": len(fills), "volume": volume, "fees": sum(f.fee for f in fills),
        "fill_ratio": fill_ratio(orders_placed, orders_filled),
        "sharpe": sharpe(equity, interval_s), "sortino": sortino(equity, interval_s),
        "ratio_interval_s": interval_s, "max_drawdown": dd, "max_drawdown_bps": dd_bps,
        "return_over_trade_bps": return_over_trade(net_pnl, volume),
        **{f"markout_{h}s_bps": v for h, v in mean_markouts(fills, mids).items()},
    }
