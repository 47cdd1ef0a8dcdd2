"""Log noise (engine/logs.py): APScheduler's echo of a skipped or missed run is dropped; the engine says it once."""

from __future__ import annotations

import logging

from engine.logs import SchedulerEchoes


def record(name: str, msg: str) -> logging.LogRecord:
    return logging.LogRecord(name, logging.WARNING, __file__, 1, msg, (), None)


def test_the_schedulers_own_skip_and_miss_lines_are_dropped_and_nothing_else():
    f = SchedulerEchoes()
    assert not f.filter(record("apscheduler.scheduler", 'Execution of job "quote_job" skipped: maximum number of '
                                                        "running instances reached (1)"))
    assert not f.filter(record("apscheduler.executors.default", 'Run time of job "risk_job" was missed by 0:00:02'))
    assert f.filter(record("apscheduler.scheduler", "Scheduler started"))
    assert f.filter(record("engine.jobs", "job quote skipped: the previous run is still going"))
