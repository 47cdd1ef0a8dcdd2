"""A store that cannot write (issue 14), for real rather than through a fake: a full disk (a 2 MB filesystem of
its own, filled: SQLite's "database or disk is full") and a read-only store (``query_only``: "attempt to write a
readonly database"). Quoting stops safely (orders cancelled, the exchange being reachable), the alert says
what to free or fix, and the console shows it instead of a traceback."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import event

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.runtime import PAUSED, Engine
from engine.store.writes import advice
from tests.engine.test_runtime import make_config_dir
from tests.engine.test_runtime_money_safety import venue_open
from tests.test_app import cdir  # noqa: F401 - the console fixture


def read_only(db) -> None:
    """Every connection from now on is read-only (SQLite's ``query_only``: "attempt to write a readonly database")."""
    def limit(dbapi_conn, _record) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA query_only=ON")
        cur.close()

    event.listen(db, "connect", limit)
    db.dispose()  # pooled connections are replaced by ones that cannot write


@pytest.fixture
def small_disk(tmp_path):
    """A 2 MB filesystem of its own (tmpfs): filling it gives SQLite a real "database or disk is full"."""
    disk = tmp_path / "disk"
    disk.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(disk)], capture_output=True,
                          text=True, check=False)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small filesystem here ({done.stderr.strip()[:80]})")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


def fill(disk: Path) -> None:
    with open(disk / "filler", "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def engine_on(tmp_path, db_url: str | None = None):
    cfg = load_config(make_config_dir(tmp_path, strategy={"risk_mode": "AGGRESSIVE"}), env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock, db_url=db_url)
    engine.start(schedule=False)
    return engine


def stops_safely(engine, caplog, says: str) -> None:
    with caplog.at_level(logging.WARNING):
        engine.run_simulated(60)
    assert engine.state == PAUSED and "store unavailable" in engine.reason
    assert venue_open(engine) == []  # every order cancelled while the exchange answers
    alert = [r.getMessage() for r in caplog.records if "ALERT CRITICAL store unavailable" in r.getMessage()]
    assert alert and says in alert[0]
    assert not any(r.exc_info for r in caplog.records)


def test_a_full_disk_stops_quoting_safely_and_says_what_to_free(tmp_path, small_disk, caplog):
    engine = engine_on(tmp_path, f"sqlite:///{small_disk}/store.db")
    engine.run_simulated(30)
    assert len(venue_open(engine)) >= 10
    fill(small_disk)
    stops_safely(engine, caplog, "the disk holding the store is full: free space there")
    engine.stop()
    engine.db.dispose()


def test_a_read_only_store_stops_quoting_safely_and_says_what_to_fix(tmp_path, caplog):
    engine = engine_on(tmp_path)
    engine.run_simulated(30)
    assert len(venue_open(engine)) >= 10
    read_only(engine.db)
    stops_safely(engine, caplog, "read-only: make data/")
    engine.stop()


def test_the_console_shows_a_store_that_cannot_write(cdir):  # noqa: F811 - the console fixture
    from engine.registry import ensure_engine
    from tests.test_app import logged_in

    engine = ensure_engine(cdir)
    engine.start(schedule=False)
    engine.run_simulated(10)
    read_only(engine.db)
    engine.run_simulated(30)
    assert engine.state == PAUSED
    at = logged_in()
    assert not at.exception
    shown = " ".join(w.value for w in at.warning)
    assert "store unavailable" in shown and "make data/" in shown


def test_the_advice_follows_the_databases_words():
    assert "free space" in advice("database or disk is full")
    assert "writable" in advice("attempt to write a readonly database")
    assert "locked" in advice("database is locked")
    assert "PostgreSQL" in advice("server closed the connection unexpectedly")
