"""Parameter sweeps: the same backtest over a grid of a strategy's params, in parallel local processes.

``python -m engine sweep --data FILES --param spread_bps=4,6,8 --param levels=1,5 [--workers N] [--out CSV]``
runs every point of the grid (here 3 x 2 = 6) through :func:`engine.backtest.run_backtest`, prints one row per point
and the best by net PnL, and writes the rows as CSV. Every point is checked against the strategy's rules before any
run starts, so a bad param name or value costs nothing. The points run in local processes, or on a Ray cluster when
``RAY_ADDRESS`` is set (:mod:`engine.lab.cluster`); ``--optimize N`` searches with Optuna instead
(:mod:`engine.lab.optimize`).
"""

from __future__ import annotations

import csv
import io
import itertools
import os
import sys
from collections.abc import Callable
from typing import Any

from engine.lab.cluster import run_all

COLUMNS = ("fills", "orders", "volume_usd", "fees", "realized_pnl", "unrealized_pnl", "net_pnl", "max_inventory_usd",
           "max_drawdown_bps", "fill_ratio", "return_over_trade_bps", "sharpe", "markout_10s_bps", "wall_seconds")


def grid(values: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``values`` (param -> the values to try), in a stable order."""
    names = list(values)
    return [dict(zip(names, combo, strict=True)) for combo in itertools.product(*(values[n] for n in names))]


def check_points(points: list[dict[str, Any]], strategy: str | None) -> None:
    """Refuse the sweep before it starts when a point names an unknown param or breaks a rule (ValueError naming
    the param, the value and the rule)."""
    from engine.strategies.registry import strategy_class

    cls = strategy_class(strategy or "market_making")
    for point in points:
        unknown = sorted(set(point) - set(cls.defaults))
        if unknown:
            raise ValueError(f"--param {unknown[0]}: {cls.name} has no such param; it has {', '.join(cls.defaults)}")
        try:
            cls.check(point)
        except Exception as exc:  # noqa: BLE001 - the strategy's own message names the rule
            raise ValueError(f"--param {point}: {exc}") from None


def run_point(files: list[str], point: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """One backtest of the grid (runs in a worker process): the point's params and the summary's numbers."""
    return row_of(point, point_summary(files, point, options))


def point_summary(files: list[str], point: dict[str, Any], options: dict[str, Any]) -> dict[str, Any]:
    """One point's whole backtest summary (what the lab keeps)."""
    from engine.backtest import run_backtest

    params = {**(options.get("params") or {}), **point}
    return run_backtest(files, **{k: v for k, v in options.items() if k != "params"}, params=params)


def row_of(point: dict[str, Any], s: dict[str, Any]) -> dict[str, Any]:
    row = {**point, **{k: s.get(k) for k in COLUMNS if k != "net_pnl"}}
    row["net_pnl"] = round(s["realized_pnl"] + s["unrealized_pnl"] - s["fees"] + s.get("funding", 0.0), 6)
    return row


def sweep(files: list[str], points: list[dict[str, Any]], workers: int = 1, options: dict[str, Any] | None = None,
          progress: Callable[[int, int], None] | None = None) -> list[dict[str, Any]]:
    """Every point's row, in the grid's order; ``workers`` local processes (1: in this process), or Ray."""
    rows: list[dict[str, Any] | None] = [None] * len(points)
    calls = [(files, point, options or {}) for point in points]
    for done, (i, row) in enumerate(run_all(run_point, calls, workers), 1):
        rows[i] = row
        if progress:
            progress(done, len(points))
    return rows  # type: ignore[return-value]


def best(rows: list[dict[str, Any]], key: str = "net_pnl") -> dict[str, Any]:
    """The row with the highest ``key`` (the first of equals; rows without it are passed over unless all lack it)."""
    return max((r for r in rows if r.get(key) is not None), key=lambda r: r[key], default=rows[0])


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    w = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def table(rows: list[dict[str, Any]], params: list[str]) -> str:
    """The rows as aligned text: the params, then net PnL, fills, fees, drawdown, markout."""
    shown = [*params, "net_pnl", "fills", "fees", "max_drawdown_bps", "markout_10s_bps", "wall_seconds"]
    cells = [[str(r.get(c)) for c in shown] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(shown)]
    lines = ["  ".join(c.rjust(w) for c, w in zip(shown, widths, strict=True))]
    lines += ["  ".join(v.rjust(w) for v, w in zip(row, widths, strict=True)) for row in cells]
    return "\n".join(lines)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


class Progress:
    """A tqdm bar on stderr (``sweep: 3/6 [00:12<00:24]``), fed with (done, total)."""

    def __init__(self, label: str = "sweep") -> None:
        self.label = label
        self._bar: Any = None

    def __call__(self, done: int, total: int) -> None:
        from tqdm import tqdm

        if self._bar is None:
            self._bar = tqdm(total=total, desc=self.label, unit="point", file=sys.stderr, leave=True)
        self._bar.update(done - self._bar.n)
        if done >= total:
            self._bar.close()
