"""Backtests and sweeps in a worker process, so the console stays responsive and the live engine is untouched.


:func:`start` spawns a process (``spawn``, never ``fork``: the console's process runs threads) that runs the
request, keeps the result in the store (:mod:`engine.lab.runs`) and reports progress through shared memory;
:class:`LabJob` is the console's handle: its progress, its outcome, and a cancel that the run sees within a simulated
second (a sweep stops between points and its running points are ended)."""

from __future__ import annotations

import atexit
import itertools
import multiprocessing as mp
import time
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

from engine.lab.runs import RunRequest

_CTX = mp.get_context("spawn")
_JOBS: dict[str, LabJob] = {}  # this process's jobs, by id (the console keeps one per browser session's request)
_COUNTER = itertools.count(1)


@dataclass
class JobState:
    """What the console shows of a job."""

    kind: str  # backtest | sweep
    status: str  # starting | running | done | cancelled | failed
    progress: float
    detail: str = ""
    run_ids: list[int] = field(default_factory=list)
    sweep: str | None = None
    elapsed_s: float = 0.0


class LabJob:
    """A backtest or a sweep running in its own process."""

    def __init__(self, kind: str, process: Any, progress: Any, cancel: Any, results: Any, sweep: str | None,
                 total: int) -> None:
        self.id = f"lab-{next(_COUNTER)}"
        self.kind, self.sweep, self.total = kind, sweep, total
        self._process, self._progress, self._cancel, self._results = process, progress, cancel, results
        self._started = time.monotonic()
        self._final: dict | None = None
        self._run_ids: list[int] = []

    def _drain(self) -> None:
        while not self._results.empty():
            msg = self._results.get_nowait()
            if "run_id" in msg:
                self._run_ids.append(msg["run_id"])
            if msg.get("final"):
                self._final = msg

    def state(self) -> JobState:
        """Progress and outcome as of now (never blocks)."""
        self._drain()
        elapsed = round(time.monotonic() - self._started, 1)
        if self._final is None and not self._process.is_alive():
            self._drain()
            if self._final is None:
                self._final = {"status": "cancelled" if self._cancel.is_set() else "failed",
                               "detail": "the worker process ended before reporting"
                               if not self._cancel.is_set() else "cancelled"}
        if self._final is not None:
            status = self._final["status"]
            share = 1.0 if status == "done" else self._progress.value
            return JobState(self.kind, status, share, self._final.get("detail", ""), list(self._run_ids),
                            self.sweep, elapsed)
        return JobState(self.kind, "running", self._progress.value, "", list(self._run_ids), self.sweep, elapsed)

    @property
    def finished(self) -> bool:
        return self.state().status in ("done", "cancelled", "failed")

    def cancel(self, grace_s: float = 3.0) -> None:
        """Ask the run to stop; a worker that has not stopped after ``grace_s`` is terminated."""
        self._cancel.set()
        deadline = time.monotonic() + grace_s
        while self._process.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._process.is_alive():
            self._process.terminate()
            self._process.join(2)

    def wait(self, timeout_s: float) -> JobState:
        """Block until the job ends or ``timeout_s`` passes (for tests and the command line)."""
        self._process.join(timeout_s)
        return self.state()


def start(kind: str, request: RunRequest, db_url: str, grid: list[dict] | None = None, workers: int = 1) -> LabJob:
    """Start a ``backtest`` of ``request`` or a ``sweep`` of it over ``grid`` (points of params) in a new process."""
    if kind not in ("backtest", "sweep"):
        raise ValueError(f"lab job kind {kind!r}: use 'backtest' or 'sweep'")
    if kind == "sweep" and not grid:
        raise ValueError("a sweep needs at least one point")
    progress, cancel, results = _CTX.Value("d", 0.0), _CTX.Event(), _CTX.Queue()
    sweep = f"sweep-{uuid.uuid4().hex[:8]}" if kind == "sweep" else None
    process = _CTX.Process(target=_work, args=(kind, asdict(request), db_url, grid, workers, sweep, progress, cancel,
                                                results), daemon=False, name=f"lab-{kind}")
    process.start()
    job = LabJob(kind, process, progress, cancel, results, sweep, len(grid or [1]))
    _JOBS[job.id] = job
    return job


def job(job_id: str) -> LabJob | None:
    return _JOBS.get(job_id)


@atexit.register
def _end_jobs() -> None:
    """The console is exiting: running jobs end with it (a sweep's worker may not be daemonic: it has children)."""
    for j in _JOBS.values():
        if j._process.is_alive():
            j._process.terminate()
            j._process.join(2)


def _work(kind: str, request: dict, db_url: str, grid: list[dict] | None, workers: int, sweep: str | None,
          progress: Any, cancel: Any, results: Any) -> None:
    """The worker process: run, keep, report. Every failure ends as a one-line ``failed`` message."""
    import logging

    from engine.backtest import BacktestCancelled, run_backtest
    from engine.clock import WallClock
    from engine.lab.runs import save_run
    from engine.store import make_engine

    logging.basicConfig(level=logging.ERROR, format="%(levelname)s lab worker %(name)s: %(message)s")
    req = RunRequest(**request)
    db = make_engine(db_url)

    def told(share: float) -> None:
        progress.value = share

    try:
        if kind == "backtest":
            series: dict = {}
            summary = run_backtest(req.files, **req.backtest_kwargs(), progress=told, cancelled=cancel.is_set,
                                   series=series)
            run_id = save_run(db, req, summary, series, now_ms=WallClock().now_ms())
            results.put({"run_id": run_id})
        else:
            from engine.lab.sweeps import run_grid

            for run_id in run_grid(req, grid or [], workers, db, sweep, told, cancel.is_set):
                results.put({"run_id": run_id})
            if cancel.is_set():
                raise BacktestCancelled("cancelled between points")
        results.put({"final": True, "status": "done"})
    except BacktestCancelled as exc:
        results.put({"final": True, "status": "cancelled", "detail": str(exc)})
    except Exception as exc:  # noqa: BLE001 - the page shows one line, never a traceback
        results.put({"final": True, "status": "failed", "detail": f"{type(exc).__name__}: {exc}"
                     if not isinstance(exc, ValueError) else str(exc)})
