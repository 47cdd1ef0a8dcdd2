"""The engine's money safety under faults, seeded: a kill, a pause and a stop cancel until the exchange lists none
of ours; a store that stays down cancels and pauses with an alert; a start survives passing errors; a simulated hour
under faults never holds two orders in one ladder slot."""

from __future__ import annotations

import logging
from collections import Counter

import ccxt
import pytest
from sqlmodel import Session, select

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.runtime import HALTED, PAUSED, RUNNING, Engine
from engine.store import OrderRecord
from tests.engine.test_runtime import make_config_dir
from tests.fakes.store import FailingStore

FAULTS = {"error_rates": {"*": 0.10}, "error_types": ["RequestTimeout", "NetworkError", "ExchangeNotAvailable"],
          "timeout_after_accept": 0.5}
NO_ERROR_BREAKER = {"breakers": {"error_rate": {"enabled": False, "threshold": 0.1, "cooldown_s": 300}}}


def faulty_engine(tmp_path, seed: int, faults: dict | None = FAULTS, start: bool = True) -> tuple[Engine, SimClock]:
    sim = {"seed": seed, "faults": faults or {}}
    (tmp_path / f"s{seed}").mkdir(exist_ok=True)
    cdir = make_config_dir(tmp_path / f"s{seed}", sim=sim, risk=NO_ERROR_BREAKER, strategy={"risk_mode": "AGGRESSIVE"})
    cfg = load_config(cdir, env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    if start:
        engine.start(schedule=False)
    return engine, clock


def ask(fn, *args):
    """A venue call, asked until the faulty network answers."""
    for _ in range(50):
        try:
            return fn(*args)
        except ccxt.NetworkError:
            continue
    raise AssertionError("the venue never answered")


def venue_open(engine: Engine) -> list[dict]:
    return ask(engine.exchange.fetch_open_orders)


@pytest.mark.parametrize("seed", range(10))
def test_a_kill_under_request_errors_leaves_no_order_live_within_30s(tmp_path, seed):
    engine, clock = faulty_engine(tmp_path, seed)
    engine.run_simulated(60)
    assert len(venue_open(engine)) >= 10  # a full ladder was quoting
    killed_ms = clock.now_ms()
    engine.kill("drill")
    engine.run_simulated(30 - (clock.now_ms() - killed_ms) / 1000)  # halted: the sweep job carries on
    assert engine.state == HALTED
    assert venue_open(engine) == []
    assert not any(t.orders for t in engine.traders)
    engine.run_simulated(300)  # five minutes later nothing of ours rests or trades
    assert venue_open(engine) == []
    assert ask(engine.exchange.fetch_my_trades, None, killed_ms + 30_000) == []


@pytest.mark.parametrize("seed", range(8))
def test_stop_under_request_errors_leaves_no_order_live(tmp_path, seed):
    engine, clock = faulty_engine(tmp_path, 100 + seed)
    engine.run_simulated(60)
    assert venue_open(engine)
    engine.stop()
    assert venue_open(engine) == []


def test_pause_under_request_errors_cancels_everything_and_resume_quotes(tmp_path):
    engine, clock = faulty_engine(tmp_path, 3)
    engine.run_simulated(60)
    engine.pause("drill")
    engine.run_simulated(20)
    assert engine.state == PAUSED and venue_open(engine) == []
    engine.resume()
    engine.run_simulated(10)
    assert venue_open(engine)


def test_a_store_that_stays_down_cancels_pauses_and_alerts_and_nothing_is_lost(tmp_path, caplog):
    engine, clock = faulty_engine(tmp_path, 4, faults=None)
    store = FailingStore(engine.db)
    engine.run_simulated(30)
    assert len(venue_open(engine)) >= 10
    store.fail()  # the disk is full
    with caplog.at_level(logging.WARNING):
        engine.run_simulated(40)
    assert engine.state == PAUSED and "store unavailable" in engine.reason
    assert venue_open(engine) == []
    assert any("ALERT CRITICAL store unavailable" in r.getMessage() for r in caplog.records)
    assert not any(r.exc_info for r in caplog.records)  # one line each, no traceback
    store.heal()
    engine.run_simulated(15)
    assert not engine.store_paused  # "store back" announced
    with Session(engine.db) as s:
        live = s.exec(select(OrderRecord).where(OrderRecord.status.in_(("pending", "open", "unknown")))).all()
    assert live == []  # every cancel made while the store was down is written now
    trades = {t["id"] for t in ask(engine.exchange.fetch_my_trades)}
    assert engine.trader.ledger.fills == len(trades)
    engine.resume()
    engine.run_simulated(10)
    assert engine.state == RUNNING and venue_open(engine)


def test_a_failed_commit_does_not_break_the_jobs_and_stop_still_cancels(tmp_path):
    engine, clock = faulty_engine(tmp_path, 6, faults=None)
    store = FailingStore(engine.db)
    engine.run_simulated(20)
    store.fail(3)  # a few writes fail (a locked SQLite past its busy timeout), then it works again
    engine.run_simulated(20)
    assert engine.state == RUNNING and engine.store_down_since() is None
    engine.stop()
    assert venue_open(engine) == []


def test_starts_survive_passing_request_errors(tmp_path):
    failures = []
    for seed in range(30):
        engine, _ = faulty_engine(tmp_path, 200 + seed, start=False)
        try:
            engine.start(schedule=False)
        except Exception as exc:  # noqa: BLE001 - counted
            failures.append(f"{type(exc).__name__}: {exc}")
        else:
            engine.stop()
    assert failures == []


def test_a_postponed_startup_reconciliation_does_not_log_as_a_clean_one(tmp_path, caplog):
    faults = {"error_rates": {"fetch_open_orders": 1.0}, "error_types": ["ExchangeNotAvailable"]}
    engine, _ = faulty_engine(tmp_path, 9, faults=faults, start=False)
    with caplog.at_level(logging.INFO):
        engine.start(schedule=False)
    started = [r.getMessage() for r in caplog.records if r.getMessage().startswith("engine started")]
    assert started and "postponed" in started[0] and "closed_out" not in started[0]
    assert not engine.trader.reconciled


def test_a_simulated_hour_under_faults_never_holds_two_orders_in_a_slot(tmp_path):
    engine, clock = faulty_engine(tmp_path, 11)
    overlaps = []

    def watch(e: Engine) -> None:
        for t in e.traders:
            slots = Counter((o.symbol, o.side, o.level) for o in t.orders.values())
            overlaps.extend(k for k, n in slots.items() if n > 1)

    engine.run_simulated(3600, on_cycle=watch)
    assert engine.trader.stats.replaced > 1000
    assert overlaps == []


def test_a_second_engine_on_another_store_but_the_same_paper_account_is_refused(tmp_path):
    first, clock = faulty_engine(tmp_path, 12, faults=None)
    first.run_simulated(10)
    ours = {o["clientOrderId"] for o in venue_open(first)}
    assert ours
    (tmp_path / "other").mkdir()
    cdir = make_config_dir(tmp_path / "other", sim={"state_path": first.config.sim["state_path"]})
    cfg = load_config(cdir, env={})
    assert cfg.database_url != first.config.database_url
    second = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    with pytest.raises(ccxt.ExchangeError, match="paper account .* is in use by another engine .*own sim.state_path"):
        second.start(schedule=False)
    assert second.state == "STOPPED"
    first.run_simulated(1)
    assert ours & {o["clientOrderId"] for o in venue_open(first)}  # nothing of the first engine's was cancelled
    second.exchange.close()
    first.stop()
    first.exchange.close()  # the first engine's process ends
    third = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    third.start(schedule=False)  # once the first engine has stopped, the account is free
    third.stop()
