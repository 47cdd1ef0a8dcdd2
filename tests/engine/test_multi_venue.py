"""Two simulated venues in one engine: settings, fail-safes and metrics reach every venue, not only the first."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import Session, select

from engine import service
from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.runtime import Engine
from engine.store import SystemMetric
from tests.engine.test_runtime import make_config_dir


def two_venues(tmp_path, second: dict | None = None) -> tuple[Engine, SimClock, object, object]:
    cdir = make_config_dir(tmp_path, engine={"venues": ["sim-b"], "selection": "LOAD_BALANCE"},
                           symbols={"sim-b": second or {"ETH/USDT": {"enabled": True}}})
    cfg = load_config(cdir, env={})
    clock = SimClock()
    a = create_exchange("sim", {"seed": 1}, clock=clock)
    b = create_exchange("sim", {"seed": 2}, clock=clock)
    engine = Engine(cfg, exchange=a, clock=clock, extra_exchanges={"sim-b": b})
    engine.start(schedule=False)
    return engine, clock, a, b


def test_a_risk_mode_change_reaches_every_venue(tmp_path):
    engine, clock, a, b = two_venues(tmp_path)
    engine.run_simulated(10)
    assert len(b.fetch_open_orders("ETH/USDT")) == 2  # CONSERVATIVE: one level a side
    engine.apply_config(replace(engine.config, strategy=replace(engine.config.strategy, risk_mode="AGGRESSIVE")))
    engine.run_simulated(10)
    assert len(b.fetch_open_orders("ETH/USDT")) == 10  # five levels a side on the second venue too
    engine.stop()


def test_stale_risk_checks_cancel_on_every_venue(tmp_path):
    engine, clock, a, b = two_venues(tmp_path)
    engine.run_simulated(10)
    assert a.fetch_open_orders() and b.fetch_open_orders()
    engine.risk.last_success_ms = clock.now_ms() - 3_600_000  # the risk job stalled an hour ago
    engine.quote_cycle()
    assert engine.risk_stale
    assert a.fetch_open_orders() == [] and b.fetch_open_orders() == []
    engine.stop()


def test_metrics_record_the_total_of_every_venue_like_the_risk_snapshot(tmp_path):
    engine, clock, a, b = two_venues(tmp_path)
    engine.run_simulated(30)
    engine.metrics_cycle()
    snap = engine.risk.snapshot(clock.now_ms())
    with Session(engine.db) as s:
        rows = s.exec(select(SystemMetric).where(SystemMetric.ts == clock.now_ms())).all()
    by = {r.exchange: r for r in rows}
    assert set(by) == {"sim", "sim-b", "ALL"}
    total = a.account_summary()["equity"] + b.account_summary()["equity"]
    assert by["ALL"].equity == pytest.approx(total, rel=1e-6)
    assert by["sim"].equity + by["sim-b"].equity == pytest.approx(by["ALL"].equity)
    assert snap.equity == pytest.approx(by["ALL"].equity, rel=1e-6)  # no flip between one venue and all
    assert engine.start_balances("sim-b")  # each venue's starting balances are kept
    engine.stop()


def test_an_engine_restarted_halted_quotes_on_no_venue(tmp_path):
    engine, clock, a, b = two_venues(tmp_path)
    engine.run_simulated(10)
    engine.kill("drill")
    engine.stop()
    cfg = engine.config
    a2 = create_exchange("sim", {"seed": 1}, clock=clock)
    b2 = create_exchange("sim", {"seed": 2}, clock=clock)
    again = Engine(cfg, exchange=a2, clock=clock, db_url=engine.db_url, extra_exchanges={"sim-b": b2})
    again.start(schedule=False)
    assert again.state == "HALTED"
    again.run_simulated(10)
    assert a2.fetch_open_orders() == [] and b2.fetch_open_orders() == []  # the second venue stays halted too
    again.stop()


def test_the_summary_counts_every_venue(tmp_path):
    engine, clock, a, b = two_venues(tmp_path)
    engine.run_simulated(10)
    summary = engine.summary()
    assert summary["orders_placed"] == sum(t.stats.placed for t in engine.traders) > engine.traders[0].stats.placed
    assert summary["exchange"] == "sim, sim-b"
    assert summary["symbols"] == [*engine.traders[0].symbols, "ETH/USDT"]  # sim-b trades ETH/USDT only
    engine.stop()


def test_the_console_lists_every_venue_and_sets_leverage_on_each(tmp_path):
    engine, clock, a, b = two_venues(tmp_path, second={"ETH/USDT:USDT": {"enabled": True, "leverage": 3}})
    assert service.exchanges(engine) == ["sim", "sim-b"]  # the trades page's exchange filter
    limits = service.leverage_limits(engine)  # the risk page's leverage field
    assert limits["perps"]["sim-b"] == ["ETH/USDT:USDT"]
    first = [engine.config.symbol_config(s).leverage for s in limits["perps"].get("sim", [])]
    assert limits["leverage"] == max([3, *first])
    assert limits["market_max"] == min(t.ex.markets[s]["limits"]["leverage"]["max"] or 1
                                       for t in engine.traders for s in limits["perps"].get(t.name, []))
    engine.stop()
