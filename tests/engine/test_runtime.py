"""The engine runtime: restart reconciliation, one engine per process, one trader per database, stop cancels."""

from __future__ import annotations

import importlib
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlmodel import Session, select

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.registry import ensure_engine
from engine.runtime import RUNNING, STOPPED, Engine
from engine.store import ExchangeHealth, OrderRecord, SystemMetric, TradeRecord, TradingLockError

ROOT = Path(__file__).resolve().parents[2]


def make_config_dir(tmp_path: Path, **overrides) -> Path:
    d = tmp_path / "config"
    d.mkdir(exist_ok=True)
    shutil.copy(ROOT / "config" / "config.yaml", d / "config.yaml")
    base = {"database": {"url": f"sqlite:///{tmp_path}/store.db"},
            "sim": {"state_path": str(tmp_path / "sim_state.sqlite"), "seed": 8},
            "logging": {"dir": str(tmp_path / "logs")}, "engine": {"autostart": False}}
    for k, v in overrides.items():
        base.setdefault(k, {}).update(v)
    (d / "config.json").write_text(json.dumps(base))
    return d


def run_cycles(engine: Engine, clock: SimClock, seconds: float) -> None:
    """The scheduler's cadences on simulated time (Engine.run_simulated)."""
    engine.run_simulated(seconds)


def test_restart_reconciles_orders_and_fills(tmp_path):
    cdir = make_config_dir(tmp_path, strategy={"risk_mode": "AGGRESSIVE"})
    cfg = load_config(cdir, env={})
    clock = SimClock()
    venue1 = create_exchange("sim", cfg.sim, clock=clock)
    first = Engine(cfg, exchange=venue1, clock=clock)
    first.start(schedule=False)
    run_cycles(first, clock, 120)
    assert first.trader.ledger.fills > 5
    # The process dies: no stop, no cancel. The OS drops its lock; its paper venue keeps trading for a while,
    # and an order of ours that the store never heard of rests on the venue.
    first._trading_lock.release()
    price = venue1.fetch_order_book("SOL/USDT")["bids"][15][0]
    stray = venue1.create_order("SOL/USDT", "limit", "buy", 1, price, {"clientOrderId": "mm-old-run-7"})
    clock.advance(90)
    venue1.fetch_time()  # fills happen while the engine is down
    venue_trades = {t["id"] for t in venue1.fetch_my_trades()}  # all of them are the engine's
    with Session(first.db) as s:
        stored_before = {t.trade_id for t in s.exec(select(TradeRecord))}
        s.add(OrderRecord(exchange="sim", symbol="BTC/USDT", client_order_id="mm-ghost-1", exchange_order_id="424242",
                          side="buy", amount=0.001, price=1.0, status="open", created_ms=clock.now_ms()))
        s.commit()
    assert venue_trades - stored_before  # some fills were missed while down
    venue1.close()
    del first

    venue2 = create_exchange("sim", cfg.sim, clock=clock)  # the paper account comes back from its state file
    second = Engine(cfg, exchange=venue2, clock=clock)
    second.start(schedule=False)
    venue_open = {o["clientOrderId"] for o in venue2.fetch_open_orders()}
    with Session(second.db) as s:
        stored_open = {r.client_order_id for r in s.exec(select(OrderRecord).where(OrderRecord.status == "open"))}
        stored_trades = [t.trade_id for t in s.exec(select(TradeRecord))]
        ghost = s.exec(select(OrderRecord).where(OrderRecord.client_order_id == "mm-ghost-1")).one()
    assert stored_open == venue_open  # the store and the exchange agree
    assert "mm-old-run-7" not in venue_open and venue2.fetch_order(stray["id"])["status"] == "canceled"
    assert ghost.status == "closed" and "no longer known" in ghost.reason
    assert sorted(stored_trades) == sorted(set(stored_trades))  # no fill doubled
    assert set(stored_trades) == venue_trades  # no fill lost
    second.stop()
    assert venue2.fetch_open_orders() == []


def test_stop_cancels_the_engines_orders(tmp_path):
    cfg = load_config(make_config_dir(tmp_path), env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    run_cycles(engine, clock, 2)
    assert len(engine.exchange.fetch_open_orders()) == 6
    summary = engine.stop()
    assert engine.state == STOPPED and summary["open_orders"] == 0
    assert engine.exchange.fetch_open_orders() == []


def test_pause_cancels_and_resume_quotes_again(tmp_path):
    cfg = load_config(make_config_dir(tmp_path), env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    run_cycles(engine, clock, 1)
    engine.pause()
    run_cycles(engine, clock, 1)
    assert engine.exchange.fetch_open_orders() == []
    engine.resume()
    run_cycles(engine, clock, 1)
    assert len(engine.exchange.fetch_open_orders()) == 6
    engine.halt("drill")
    run_cycles(engine, clock, 1)
    assert engine.state == "HALTED" and engine.exchange.fetch_open_orders() == []
    engine.rearm()
    assert engine.state == RUNNING
    engine.stop()


def test_scheduled_jobs_run_and_write_metrics_and_health(tmp_path):
    cfg = load_config(make_config_dir(tmp_path, engine={"metrics_interval_s": 1, "health_interval_s": 1}), env={})
    engine = Engine(cfg)  # the wall clock and the scheduler, as in the console
    engine.start()
    try:
        time.sleep(3.2)
        assert engine.job_runs["quote"] >= 8 and engine.job_runs["metrics"] >= 2
        assert not engine.job_errors
    finally:
        engine.stop()
    with Session(engine.db) as s:
        metrics = s.exec(select(SystemMetric).where(SystemMetric.exchange == "ALL")).all()
        health = s.exec(select(ExchangeHealth)).all()
    assert metrics and metrics[-1].equity > 0 and metrics[-1].peak_equity >= metrics[-1].equity
    assert health and health[0].connected and health[0].latency_ms is not None
    assert engine.exchange.fetch_open_orders() == []


def test_one_engine_per_process_under_concurrent_ensure_calls(tmp_path):
    cdir = make_config_dir(tmp_path)
    results: list[Engine] = []
    barrier = threading.Barrier(8)

    def call() -> None:
        barrier.wait()
        for _ in range(20):
            results.append(ensure_engine(cdir))

    threads = [threading.Thread(target=call) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 160 and len({id(e) for e in results}) == 1
    import engine.registry as registry_module
    import engine.runtime as runtime_module

    importlib.reload(runtime_module)  # what a hot reload does
    reloaded = importlib.reload(registry_module)
    assert reloaded.ensure_engine(cdir) is results[0]


def test_a_second_trader_on_the_same_database_is_refused(tmp_path):
    cdir = make_config_dir(tmp_path)
    cfg = load_config(cdir, env={})
    first = Engine(cfg)
    first.start(schedule=False)
    try:
        second = Engine(cfg)
        with pytest.raises(TradingLockError, match="already trading"):
            second.start(schedule=False)
        proc = subprocess.run([sys.executable, "-m", "engine", "run", "--config", str(cdir), "--duration", "1"],
                              cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert proc.returncode == 3
        assert "another engine (pid" in proc.stderr and "already trading" in proc.stderr
    finally:
        first.stop()


def test_cli_run_for_a_duration_prints_a_summary_and_cancels(tmp_path):
    cdir = make_config_dir(tmp_path)
    proc = subprocess.run([sys.executable, "-m", "engine", "run", "--config", str(cdir), "--duration", "4"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"PATH": "/usr/bin:/bin", "BINANCE_API_KEY": "68da47b0deadbeefcafe97a4",
                               "BINANCE_API_SECRET": "s3cr3t-s3cr3t-s3cr3t"})
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert summary["state"] == "STOPPED" and summary["cycles"] >= 10 and summary["open_orders"] == 0
    assert "| INFO     | engine.runtime" in proc.stderr  # readable console lines
    lines = (tmp_path / "logs" / "engine.jsonl").read_text().splitlines()
    assert any(json.loads(line)["message"].startswith("engine started") for line in lines)
    everything = proc.stdout + proc.stderr + "\n".join(lines)
    assert "deadbeef" not in everything and "s3cr3t" not in everything


def test_cli_help_explains_every_option():
    for cmd in (["run", "--help"], ["backtest", "--help"]):
        out = subprocess.run([sys.executable, "-m", "engine", *cmd], cwd=ROOT, capture_output=True, text=True).stdout
        for option in (["--config", "--duration"] if cmd[0] == "run" else ["--data", "--symbol", "--quote-ms"]):
            assert option in out


def test_cli_bad_config_gives_one_clear_message(tmp_path):
    cdir = make_config_dir(tmp_path, strategy={"spread_bps": -6})
    proc = subprocess.run([sys.executable, "-m", "engine", "run", "--config", str(cdir), "--duration", "1"],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"configuration error: {cdir / 'config.json'}: strategy.spread_bps = -6: must be greater than 0"]


def test_readers_in_other_threads_see_frozen_snapshots_while_the_engine_quotes(tmp_path):
    from engine import service

    cfg = load_config(make_config_dir(tmp_path, strategy={"risk_mode": "AGGRESSIVE"}), env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    engine.quote_cycle()
    snap = engine.trader.snapshot
    assert len(snap.orders) == 30
    engine.trader.orders.clear()  # the live state changes...
    assert len(snap.orders) == 30  # ...a published snapshot does not
    engine.trader.publish()
    errors: list[BaseException] = []
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            try:
                service.open_orders(engine)
                service.positions(engine)
                service.market_rows(engine)
                engine.risk.snapshot(clock.now_ms())
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)
                return

    reader = threading.Thread(target=read)
    reader.start()
    try:
        engine.run_simulated(120)
    finally:
        done.set()
        reader.join(timeout=30)
    assert errors == []
    engine.stop()
