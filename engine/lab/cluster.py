"""Where a sweep's points run: local processes by default, a Ray cluster when one is configured.

``RAY_ADDRESS`` set (``ray://head:10001``, ``auto``, or ``local`` for a Ray started in this process) sends every
point to Ray as a task; without it a :class:`concurrent.futures.ProcessPoolExecutor` runs them. The same function and
arguments run either way, so pointing a sweep at a cluster changes no code. ``ray`` is an optional extra
(``pip install -r requirements-ray.txt``)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any


def backend() -> str:
    """``ray`` when ``RAY_ADDRESS`` is set, else ``processes``."""
    return "ray" if os.environ.get("RAY_ADDRESS") else "processes"


def run_all(fn: Callable[..., Any], calls: list[tuple], workers: int,
            cancelled: Callable[[], bool] | None = None) -> Iterator[tuple[int, Any]]:
    """``fn(*call)`` for every call; yields (index, result) as each finishes. ``workers`` <= 1 runs them here, one
    by one; a cancel (``cancelled()`` True) stops before the next point and drops the ones not started."""
    if backend() == "ray":
        yield from _on_ray(fn, calls, cancelled)
        return
    if workers <= 1 or len(calls) == 1:
        for i, call in enumerate(calls):
            if cancelled is not None and cancelled():
                return
            yield i, fn(*call)
        return
    pool = ProcessPoolExecutor(max_workers=min(workers, len(calls)))
    try:
        futures = {pool.submit(fn, *call): i for i, call in enumerate(calls)}
        for future in as_completed(futures):
            yield futures[future], future.result()
            if cancelled is not None and cancelled():
                return
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _on_ray(fn: Callable[..., Any], calls: list[tuple], cancelled: Callable[[], bool] | None) -> Iterator[tuple]:
    try:
        import ray
    except ImportError:
        raise ValueError("RAY_ADDRESS is set but ray is not installed: pip install -r requirements-ray.txt, or "
                         "unset RAY_ADDRESS to run the sweep in local processes") from None
    if not ray.is_initialized():
        address = os.environ["RAY_ADDRESS"]
        if address == "local":  # a Ray started here, on this machine's cores
            ray.init(ignore_reinit_error=True, log_to_driver=False)
        else:  # a cluster: ship this checkout's code (not its data/ or git history) to the workers
            root = str(Path(__file__).resolve().parents[2])
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False,
                     runtime_env={"working_dir": root, "excludes": ["data/", ".git/", "*.gz"]})
    task = ray.remote(fn)
    pending = {task.remote(*call): i for i, call in enumerate(calls)}
    while pending:
        done, _ = ray.wait(list(pending), num_returns=1)
        for ref in done:
            yield pending.pop(ref), ray.get(ref)
        if cancelled is not None and cancelled():
            for ref in pending:
                ray.cancel(ref, force=True)
            return
