"""A sweep the console's lab runs: every point of a grid through the backtest (local processes or Ray), each kept
as a run of one sweep (summary only: a sweep's points keep no series)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from engine.lab.cluster import run_all
from engine.lab.runs import RunRequest, save_run


def run_grid(request: RunRequest, grid: list[dict], workers: int, db: Any, sweep: str | None,
             told: Callable[[float], None], cancelled: Callable[[], bool]) -> Iterator[int]:
    """Run ``request`` once per point of ``grid`` (each point's params over the request's); yields each kept run's
    id as its point finishes and reports the share done through ``told``."""
    from engine.clock import WallClock
    from engine.sweep import check_points, point_summary

    check_points([{**request.params, **p} for p in grid], request.strategy)
    kwargs = request.backtest_kwargs()
    calls = [(request.files, point, kwargs) for point in grid]
    for done, (i, summary) in enumerate(run_all(point_summary, calls, workers, cancelled), 1):
        point_request = RunRequest(**{**request.__dict__, "params": {**request.params, **grid[i]},
                                      "name": request.name or sweep or ""})
        yield save_run(db, point_request, summary, None, sweep=sweep, now_ms=WallClock().now_ms())
        told(done / len(grid))
