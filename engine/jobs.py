"""The engine's jobs: one table drives APScheduler (live) and ``run_simulated`` (backtests, rehearsals, tests).

Each job runs wrapped: errors are logged and counted, never raised; a store that keeps failing trips the store
fail-safe (cancel every order, pause, alert)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC
from typing import Any

import ccxt
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import Session

from engine.alert_summary import summary_message
from engine.clock import Clock
from engine.retention import prune
from engine.states import HALTED, KILL_REQUEST_KEY, PAUSED, REARM_REQUEST_KEY, RUNNING, STOPPED
from engine.store import EngineState as EngineStateRow
from engine.store import (
    SQLAlchemyError,
    StoreUnavailable,
    get_state,
)
from engine.universe.keeper import UNIVERSE_TICK_S

log = logging.getLogger("engine.runtime")
Job = tuple[str, Callable[[], None], float]  # name, what it runs, every how many seconds
STORE_OUTAGE_MS = 15_000  # the store failing this long pauses the engine (cancelling its orders) with an alert


class Jobs:
    """Scheduling and the job wrapper of :class:`engine.runtime.Engine`."""

    def job_table(self) -> list[Job]:
        """The engine's one list of jobs: (name, what it runs, every how many seconds), in the order a simulated step
        runs them (quoting last). The scheduler and :meth:`run_simulated` both read it."""
        e = self.config.engine
        return [("risk", self.risk_cycle, e.risk_interval_s), ("hygiene", self.hygiene_cycle, e.hygiene_interval_s),
                ("health", self.health_cycle, e.health_interval_s),
                ("metrics", self.metrics_cycle, e.metrics_interval_s),
                ("funding", self.funding_cycle, self.config.funding.funding_check_interval),
                ("universe", self.universe_cycle, UNIVERSE_TICK_S),
                ("arbitrage", self.arbitrage_cycle, self.config.cross_exchange_arbitrage.check_interval_s),
                ("retention", self.retention_cycle, self.config.retention.every_min * 60),
                ("summary", self.summary_cycle, self.config.alerts.summary_every_min * 60 or 3600),
                ("quote", self.quote_cycle, e.quote_interval_ms / 1000)]

    def _make_scheduler(self) -> BackgroundScheduler:
        sched = BackgroundScheduler(
            executors={"quote": ThreadPoolExecutor(1), "default": ThreadPoolExecutor(3)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 5},
            timezone=UTC,
        )
        sched.add_listener(self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        for name, fn, every_s in self.job_table():  # quoting on its own one-thread executor: never starved
            sched.add_job(self._job(name, fn), "interval", seconds=every_s, id=name,
                          executor="quote" if name == "quote" else "default")
        return sched

    def _job(self, name: str, fn: Any) -> Any:
        def run() -> None:
            self.job_runs[name] += 1
            try:
                fn()
            except (StoreUnavailable, SQLAlchemyError) as exc:
                self.job_errors[name] += 1
                self._note_store_failure(exc if isinstance(exc, StoreUnavailable) else StoreUnavailable(name, exc),
                                         own=not isinstance(exc, StoreUnavailable))
                return
            except ccxt.NetworkError as exc:  # transient: counted, logged briefly, retried next run
                self.job_errors[name] += 1
                log.warning("job %s: %s: %s", name, type(exc).__name__, exc)
                return
            except Exception:
                self.job_errors[name] += 1
                self.job_crashes[name] += 1
                log.exception("job %s failed", name)
                return
            finally:
                self._watch_store()
            if name in ("metrics", "health"):  # they write every run: the engine's own writes work again
                self._store_down_since = None
            self.last_success[name] = self.clock.now_ms()

        run.__name__ = f"{name}_job"
        return run

    def _on_job_event(self, event: JobExecutionEvent) -> None:
        self.job_errors[f"{event.job_id}:scheduler"] += 1
        if event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("job %s skipped: the previous run is still going", event.job_id)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run time", event.job_id)
        else:
            log.error("job %s raised %r", event.job_id, event.exception)

    def run_simulated(self, seconds: float, quote_ms: int | None = None,
                      on_cycle: Callable[[Any], None] | None = None) -> None:
        """Drive the jobs on a simulated clock at the scheduler's cadences (backtests, rehearsals, tests).

        Each job is wrapped as the scheduler wraps it: errors are logged and counted, never raised. Jobs are due by
        the clock, so simulated latency that makes requests slow makes the cycles come late, as it would live.
        """
        table = self.job_table()
        step_s = (quote_ms / 1000) if quote_ms else next(every for name, _, every in table if name == "quote")
        jobs: list[Job] = [(name, self._job(name, fn), step_s if name == "quote" else every)
                           for name, fn, every in table]
        if on_cycle is not None:
            jobs.append(("on_cycle", lambda: on_cycle(self), 0.0))
        end = self.clock.now_ms() + seconds * 1000
        drive(self.clock, jobs, step_s, lambda: self.clock.now_ms() >= end)

    def _note_store_failure(self, exc: StoreUnavailable, own: bool = True) -> None:
        """A write failed; logged once a minute at most (the queued changes are kept and written later)."""
        now = self.clock.now_ms()
        if own and self._store_down_since is None:
            self._store_down_since = now
        self._store_error = str(exc)
        if now - self._store_logged_ms >= 60_000:
            self._store_logged_ms = now
            log.error("%s", exc)

    def store_down_since(self) -> int | None:
        """Since when the store has been failing (the engine's own writes or any venue's), or None."""
        down = [t.store_down_since for t in self.traders if t.store_down_since is not None]
        if self._store_down_since is not None:
            down.append(self._store_down_since)
        return min(down) if down else None

    def _watch_store(self) -> None:
        """The store fail-safe: failing for ``STORE_OUTAGE_MS`` pauses the engine (cancelling its orders) with an
        alert; its coming back is announced (the operator resumes)."""
        since = self.store_down_since()
        now = self.clock.now_ms()
        if since is None:
            if self.store_paused:
                self.store_paused = False
                self.alert("warning", "store back", "the store is writable again and every queued change is written; "
                           "resume the engine when ready", key=f"store-back:{now}")
            return
        if self.state == RUNNING and now - since >= STORE_OUTAGE_MS:
            error = next((t.store_error for t in self.traders if t.store_error), "") or self._store_error
            self.store_paused = True
            self.alert("critical", "store unavailable", f"the store has failed for {(now - since) / 1000:.0f} s "
                       f"({error}): cancelling every order and pausing; nothing is lost, changes are kept in memory "
                       "until it is writable", key="store-down")
            try:
                self.pause(f"store unavailable: {error}"[:300])
            except Exception:  # noqa: BLE001 - the sweep job carries on cancelling
                log.exception("store fail-safe: pausing failed")

    def retention_cycle(self) -> None:
        """The store's retention policy (:mod:`engine.retention`): metric rows thinned, then deleted."""
        if self.config.retention.enabled:
            prune(self.db, self.clock.now_ms(), self.config.retention)

    def summary_cycle(self) -> None:
        """The periodic summary alert: fills and PnL per symbol since the last one (none without a fill)."""
        every = self.config.alerts.summary_every_min * 60_000
        now = self.clock.now_ms()
        since = getattr(self, "_summary_since", None) or now - int(every)
        self._summary_since = now
        if every and self.state != "STOPPED":
            text = summary_message(self.db, since, now)
            if text:
                self.alert("info", "summary", text, key=f"summary:{now}")

    def quote_cycle(self) -> None:
        """One quoting cycle on every venue (each quotes the symbols routed to it)."""
        if self.state != RUNNING:
            return
        now = self.clock.now_ms()
        if self.risk.stale(now):  # fail safe: no fresh risk checks, no quotes
            if not self.risk_stale:
                self.risk_stale = True
                with self.work:
                    for t in self.traders:
                        t.cancel_all()
                self.alert("error", "risk checks stale", "no successful risk run for "
                           f"{self.config.risk.stale_after_intervals} intervals: quoting paused and orders cancelled "
                           "until the risk job runs again", key="risk-stale")
            return
        if self.risk_stale:
            self.risk_stale = False
            self.alert("info", "risk checks back", "the risk job runs again: quoting resumes", key="risk-back")
        with self.work:
            for t in self.traders:
                t.quote_cycle()

    def hygiene_cycle(self) -> None:
        """Reconcile each venue with the store (less often where order updates are streamed). While not quoting
        (paused, halted, risk checks stale), keep cancelling whatever of ours is not confirmed cancelled yet."""
        with self.work:
            for t in self.traders:
                t.reconcile_due()
            if self.state in (PAUSED, HALTED) or self.risk_stale:
                left = sum(t.cancel_all() for t in self.traders if t.cancels_pending or t.orders)
                if left:
                    self.alert("error", "orders still live", f"{self.state.lower()}, but {left} orders are not "
                               "confirmed cancelled yet; still cancelling", key="orders-left")

    def risk_cycle(self) -> None:
        """Requests from the command line, then the risk checks (engine/risk/manager.py)."""
        self._requests()
        if self.state == STOPPED:
            return
        self.risk.run()
        self.route()

    def _requests(self) -> None:
        """Kill and re-arm requests written to the store by ``python -m engine kill | rearm``."""
        with Session(self.db) as s:
            kill = get_state(s, KILL_REQUEST_KEY)
            rearm = get_state(s, REARM_REQUEST_KEY)
            for key in (KILL_REQUEST_KEY, REARM_REQUEST_KEY):
                row = s.get(EngineStateRow, key)
                if row is not None:
                    s.delete(row)
            s.commit()
        if kill:
            req = json.loads(kill)
            self.kill(req["reason"], close_positions=req["close_positions"], source="command line")
        if rearm:
            self.rearm()


def drive(clock: Clock, table: list[Job], step_s: float, done: Callable[[], bool]) -> None:
    """Run a job table on a simulated clock until ``done()``: each step moves ``clock`` on by ``step_s`` and runs, in
    table order, every job whose time has come (a job due every ``step_s`` or less runs every step). A job that ran
    is due again ``every`` seconds after the step it ran in, so cycles made slow by simulated latency come late.

    The one driver of :meth:`Jobs.run_simulated` (the engine's table) and :func:`engine.backtest.run_backtest`."""
    due = [clock.now_ms() + int(every * 1000) for _, _, every in table]
    while not done():
        clock.sleep(step_s)
        now = clock.now_ms()
        for i, (_, fn, every) in enumerate(table):
            if every <= step_s or now >= due[i]:
                fn()
                due[i] = now + int(every * 1000)
