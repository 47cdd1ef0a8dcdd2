"""Each brake on the simulated exchange with a SimClock: trips on a market that deserves it, acts, is recorded,
alerts once, and lets trading resume only as designed. Caps clamp; a stalled risk job pauses quoting."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlmodel import Session, select

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.runtime import HALTED, RUNNING, Engine
from engine.store import Alert, CircuitBreakerEvent
from tests.engine.test_runtime import make_config_dir

ROOT = Path(__file__).resolve().parents[2]


def make_engine(tmp_path, events=(), balances=None, **overrides) -> tuple[Engine, SimClock]:
    sim = {"events": list(events), "seed": 5}
    if balances:
        sim["balances"] = balances
    cdir = make_config_dir(tmp_path, sim=sim, **overrides)
    cfg = load_config(cdir, env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    return engine, clock


def run(engine: Engine, clock: SimClock, seconds: float, watch=None) -> None:
    """The scheduler's cadences on simulated time (Engine.run_simulated)."""
    engine.run_simulated(seconds, on_cycle=watch)


def events(engine: Engine, breaker: str) -> list[CircuitBreakerEvent]:
    with Session(engine.db) as s:
        return list(s.exec(select(CircuitBreakerEvent).where(CircuitBreakerEvent.breaker == breaker)
                           .order_by(CircuitBreakerEvent.id)))


def alerts(engine: Engine, kind: str) -> list[Alert]:
    engine.alerts.flush()
    with Session(engine.db) as s:
        return [a for a in s.exec(select(Alert).where(Alert.kind == kind)) if a.status != "suppressed"]


def open_orders(engine: Engine, symbol: str | None = None) -> list[dict]:
    return engine.exchange.fetch_open_orders(symbol)


def test_latency_breaker_pauses_the_exchange_then_closes_after_cooldown(tmp_path):
    engine, clock = make_engine(tmp_path, events=[{"type": "latency_spike", "after_s": 20, "duration_s": 40,
                                                   "ms": 800}])
    run(engine, clock, 15)
    assert open_orders(engine)
    seen = {"orders_while_open": 0}

    def watch(e: Engine) -> None:
        if any(s.breaker == "latency" and s.state == "open" for s in e.risk.board.active()):
            seen["orders_while_open"] = max(seen["orders_while_open"], len(e.trader.orders))

    run(engine, clock, 60, watch)
    (opened,) = [e for e in events(engine, "latency") if e.state == "open"]
    assert opened.value >= 500 and opened.threshold == 500 and opened.exchange == "sim"
    assert opened.action == "pause_exchange"
    assert open_orders(engine) == [] and engine.trader.gate.exchange_block
    assert len(alerts(engine, "breaker opened")) == 1
    run(engine, clock, 400)
    states = [e.state for e in events(engine, "latency")]
    assert states[-1] == "closed" and "cooling_down" in states
    closed = events(engine, "latency")[-1]
    assert closed.ts - opened.ts >= 300_000  # not before its cooldown
    assert engine.trader.gate.exchange_block is None and open_orders(engine)  # quoting resumed
    assert len(alerts(engine, "breaker closed")) == 1


def test_spread_breaker_cancels_that_symbols_orders_only(tmp_path):
    engine, clock = make_engine(tmp_path, events=[{"type": "spread_blowout", "symbol": "ETH/USDT", "after_s": 20,
                                                   "duration_s": 30, "bps": 60}])
    run(engine, clock, 30)
    (opened,) = [e for e in events(engine, "spread") if e.state == "open"]
    assert opened.symbol == "ETH/USDT" and opened.value >= 20 and opened.action == "cancel_symbol"
    assert open_orders(engine, "ETH/USDT") == [] and len(open_orders(engine, "BTC/USDT")) == 2
    run(engine, clock, 340)
    assert events(engine, "spread")[-1].state == "closed" and len(open_orders(engine, "ETH/USDT")) == 2
    assert len(alerts(engine, "breaker opened")) == 1


def test_volatility_breaker_halves_order_sizes(tmp_path):
    engine, clock = make_engine(tmp_path, events=[{"type": "flash_crash", "symbol": "SOL/USDT", "after_s": 30,
                                                   "pct": 8, "duration_s": 40}],
                                strategy={"usd_per_order": 1000})  # sizes sit at the $500 maximum
    run(engine, clock, 25)
    before = [o["amount"] * o["price"] for o in open_orders(engine, "SOL/USDT")]
    assert before and min(before) > 450
    run(engine, clock, 60)
    (opened,) = [e for e in events(engine, "volatility") if e.state == "open" and e.symbol == "SOL/USDT"]
    assert opened.value >= 5 and opened.action == "reduce_size"
    assert engine.trader.gate.size_factors == {"SOL/USDT": 0.5}
    run(engine, clock, 100)  # age and drift replace the old orders
    after = [o["amount"] * o["price"] for o in open_orders(engine, "SOL/USDT")]
    assert after and max(after) < 260  # half of $500
    assert all(o["amount"] * o["price"] > 450 for o in open_orders(engine, "BTC/USDT"))


def test_error_rate_breaker_disables_the_exchange(tmp_path):
    engine, clock = make_engine(tmp_path, events=[{"type": "error_burst", "after_s": 20, "duration_s": 60,
                                                   "rate": 0.4}])
    run(engine, clock, 90)
    (opened,) = [e for e in events(engine, "error_rate") if e.state == "open"]
    assert opened.value >= 0.10 and opened.action == "disable_exchange"
    run(engine, clock, 20)
    assert open_orders(engine) == []
    run(engine, clock, 400)
    assert events(engine, "error_rate")[-1].state == "closed" and open_orders(engine)


def test_drawdown_kills_closes_positions_and_waits_for_rearm(tmp_path):
    engine, clock = make_engine(tmp_path, balances={"USDT": 100_000, "BTC": 2.0},
                                events=[{"type": "flash_crash", "symbol": "BTC/USDT", "after_s": 60, "pct": 6,
                                         "duration_s": 20}])
    run(engine, clock, 55)
    assert engine.trader.ledger.fills > 0 or open_orders(engine)
    run(engine, clock, 40)
    (opened,) = [e for e in events(engine, "drawdown") if e.state == "open"]
    assert opened.value >= 100 and opened.action == "kill"
    assert engine.state == HALTED and open_orders(engine) == []
    assert all(p.qty == 0 for p in engine.trader.ledger.positions.values())  # positions closed
    (critical,) = [a for a in alerts(engine, "breaker opened") if a.level == "critical"]
    assert "drawdown" in critical.message
    assert len(alerts(engine, "kill switch")) == 1
    run(engine, clock, 900)  # no automatic resume, whatever the market does
    assert engine.state == HALTED and open_orders(engine) == []
    assert events(engine, "drawdown")[-1].state == "open"
    engine.stop()
    engine.start(schedule=False)  # a restart keeps the halt
    assert engine.state == HALTED
    engine.rearm()
    assert engine.state == RUNNING and events(engine, "drawdown")[-1].state == "closed"
    run(engine, clock, 10)
    assert open_orders(engine)


def test_inventory_cap_clamps_the_growing_side_and_alerts_once(tmp_path):
    engine, clock = make_engine(tmp_path, symbols={"sim": {"BTC/USDT": {"max_position_usd": 300}}})
    engine.trader.market_order("BTC/USDT", "buy", 0.05)  # about $3,200 long
    run(engine, clock, 8)
    assert engine.trader.gate.side_blocks["BTC/USDT"] == {"buy"}
    btc = open_orders(engine, "BTC/USDT")
    assert btc and {o["side"] for o in btc} == {"sell"}  # only the reducing side is quoted
    assert {o["side"] for o in open_orders(engine, "ETH/USDT")} == {"buy", "sell"}
    (hit,) = [e for e in events(engine, "cap_symbol") if e.state == "open"]
    assert hit.symbol == "BTC/USDT" and hit.threshold == 300
    assert len(alerts(engine, "cap hit")) == 1


def test_order_cap_cancels_the_newest_and_limits_quoting(tmp_path):
    engine, clock = make_engine(tmp_path, strategy={"risk_mode": "AGGRESSIVE"},
                                risk={"caps": {"max_open_orders_per_symbol": 4}})
    run(engine, clock, 1)  # before the first risk run: the full 5-level ladder
    assert len(open_orders(engine, "BTC/USDT")) == 10
    run(engine, clock, 10)
    assert len(open_orders(engine, "BTC/USDT")) == 4
    levels = sorted(r.level for r in engine.trader.orders.values() if r.symbol == "BTC/USDT")
    assert levels == [0, 0, 1, 1]  # the levels nearest the mid stay


def test_a_stalled_risk_job_pauses_quoting(tmp_path):
    engine, clock = make_engine(tmp_path)
    run(engine, clock, 10)
    assert open_orders(engine)
    for _ in range(80):  # 20 s of quoting with no risk run: more than 3 intervals of 5 s
        clock.advance(0.25)
        engine.quote_cycle()
    assert open_orders(engine) == [] and engine.risk_stale
    assert len(alerts(engine, "risk checks stale")) == 1
    engine.risk_cycle()
    engine.quote_cycle()
    assert open_orders(engine) and not engine.risk_stale


def test_kill_switch_from_the_command_line(tmp_path):
    engine, clock = make_engine(tmp_path)
    engine.trader.market_order("BTC/USDT", "buy", 0.005)
    run(engine, clock, 10)
    cdir = tmp_path / "config"
    proc = subprocess.run([sys.executable, "-m", "engine", "kill", "--config", str(cdir), "--close-positions",
                           "--reason", "operator drill", "--wait", "0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "requested" in proc.stdout
    run(engine, clock, 5)  # the running engine picks the request up in its risk cycle
    assert engine.state == HALTED and "operator drill" in engine.reason
    assert open_orders(engine) == [] and engine.trader.ledger.position("BTC/USDT").qty == 0
    proc = subprocess.run([sys.executable, "-m", "engine", "rearm", "--config", str(cdir), "--wait", "0"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    run(engine, clock, 5)
    assert engine.state == RUNNING


def test_kill_with_no_engine_running_acts_directly(tmp_path):
    engine, clock = make_engine(tmp_path)
    run(engine, clock, 10)
    engine._trading_lock.release()  # the console crashed: nothing is running, but orders rest on the venue
    engine.exchange.close()
    started = len(alerts(engine, "engine started"))
    cdir = tmp_path / "config"
    proc = subprocess.run([sys.executable, "-m", "engine", "kill", "--config", str(cdir)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["state"] == "HALTED" and summary["orders_left"] == 0
    assert len(alerts(engine, "engine started")) == started  # it cancelled without starting a whole engine
    assert len(alerts(engine, "kill switch")) == 1
