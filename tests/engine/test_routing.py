"""Failover moves quoting: two simulated exchanges, the primary turns slow, BTC/USDT moves and comes back."""

from __future__ import annotations

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.runtime import Engine
from tests.engine.test_runtime import make_config_dir


def two_venue_engine(tmp_path, selection: str):
    cdir = make_config_dir(tmp_path, engine={"venues": ["sim-b"], "selection": selection},
                           symbols={"sim-b": {"BTC/USDT": {"enabled": True}}})
    cfg = load_config(cdir, env={})
    clock = SimClock()
    slow_primary = create_exchange("sim", {"seed": 1, "events": [
        {"type": "latency_spike", "after_s": 30, "duration_s": 40, "ms": 900}]}, clock=clock)
    backup = create_exchange("sim", {"seed": 2}, clock=clock)
    engine = Engine(cfg, exchange=slow_primary, clock=clock, extra_exchanges={"sim-b": backup})
    engine.start(schedule=False)
    return engine, clock, slow_primary, backup


def test_failover_moves_quoting_away_from_an_unhealthy_exchange_and_back(tmp_path):
    engine, clock, primary, backup = two_venue_engine(tmp_path, "FAILOVER")
    assert [t.name for t in engine.traders] == ["sim", "sim-b"]
    engine.run_simulated(20)
    assert len(primary.fetch_open_orders("BTC/USDT")) == 2 and backup.fetch_open_orders("BTC/USDT") == []
    assert engine.routes["BTC/USDT"] == "sim"
    engine.run_simulated(70)  # the primary turns slow: the latency breaker opens and quoting moves
    assert engine.routes["BTC/USDT"] == "sim-b"
    assert primary.fetch_open_orders() == []  # cancelled there (ETH and SOL only trade on the primary: paused)
    assert len(backup.fetch_open_orders("BTC/USDT")) == 2  # quoted here
    engine.alerts.flush()
    from sqlmodel import Session, select

    from engine.store import Alert

    with Session(engine.db) as s:
        moves = [a.message for a in s.exec(select(Alert).where(Alert.kind == "routing"))]
    assert sorted(moves) == ["BTC/USDT moves from sim to sim-b (FAILOVER)",  # only BTC is listed on both
                             "ETH/USDT moves from sim to no exchange (FAILOVER)",
                             "SOL/USDT moves from sim to no exchange (FAILOVER)"]
    engine.run_simulated(400)  # the breaker closes after its cooldown: back to the primary
    assert engine.routes["BTC/USDT"] == "sim"
    assert len(primary.fetch_open_orders("BTC/USDT")) == 2 and backup.fetch_open_orders("BTC/USDT") == []
    engine.stop()
    assert primary.fetch_open_orders() == [] and backup.fetch_open_orders() == []


def test_single_stays_on_the_primary_and_pauses_the_symbol_when_it_is_unhealthy(tmp_path):
    engine, clock, primary, backup = two_venue_engine(tmp_path, "SINGLE")
    engine.run_simulated(20)
    assert engine.routes["BTC/USDT"] == "sim" and backup.fetch_open_orders() == []
    engine.run_simulated(70)
    assert engine.routes["BTC/USDT"] is None
    assert primary.fetch_open_orders("BTC/USDT") == [] and backup.fetch_open_orders() == []
    engine.stop()
