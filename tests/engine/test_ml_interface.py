"""The ML interface: the state vector on a fixed series, actions as signals, and a policy strategy on the engine."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sqlmodel import Session, select

from engine.clock import SimClock
from engine.config import ConfigError, load_config
from engine.exchanges import create_exchange
from engine.indicators import atr, bollinger, frame, rsi
from engine.runtime import Engine
from engine.store import SignalRecord
from engine.strategies import SignalType
from engine.strategies.ml import action_to_order, correlation, state_vector
from tests.engine.test_runtime import make_config_dir

SERIES = [[i * 60_000, 100 + math.sin(i / 3), 101 + math.sin(i / 3), 99 + math.sin(i / 3), 100 + math.sin(i / 3 + 0.5),
           1.0] for i in range(40)]


def test_the_state_vector_on_a_fixed_series():
    v = state_vector(SERIES, exposure=0.25, daily_pnl=-12.5, correlation=0.8)
    df = frame(SERIES)
    assert v.shape == (6,) and v.dtype == np.float64
    assert v[0] == pytest.approx(rsi(df["close"], 14).iloc[-1]) and 0 < v[0] < 100
    assert v[1] == pytest.approx(bollinger(df["close"], 20).iloc[-1]["position"])
    assert v[2] == pytest.approx(atr(df, 14).iloc[-1]) == pytest.approx(2.0)  # every true range is high-low, 2
    assert list(v[3:]) == [0.25, -12.5, 0.8]
    assert round(v[0], 2) == 63.27 and round(v[1], 3) == 0.767  # the values themselves, on this series


def test_actions_and_correlation():
    assert [action_to_order(a) for a in (0, 1, 2, 7, np.int64(1))] == [SignalType.HOLD, SignalType.BUY, SignalType.SELL,
                                                                       SignalType.HOLD, SignalType.BUY]
    closes = [100 + math.sin(i / 2) for i in range(80)]
    assert correlation(closes, {"twin": closes}) == pytest.approx(1.0)
    assert correlation(closes, {"mirror": [200 - c for c in closes]}) < -0.99
    assert correlation(closes[:2], {"short": closes[:2]}) == 0.0


def always_buy(vector: np.ndarray) -> tuple[int, float]:
    """A tiny deterministic policy: buy (at 80%) whenever RSI is known."""
    return (1, 0.8) if not math.isnan(vector[0]) else (0, 0.0)


def test_a_policy_strategy_trades_on_the_engine(tmp_path):
    cdir = make_config_dir(tmp_path, symbols={"sim": {"ETH/USDT": {
        "enabled": True, "strategy": "policy", "params": {"model": "tests.engine.test_ml_interface:always_buy"}}}},
        sim={"balances": {"USDT": 100_000}}, risk={"max_exposure_fraction": 0.5})
    cfg = load_config(cdir, env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    engine.run_simulated(120)
    with Session(engine.db) as s:
        rows = list(s.exec(select(SignalRecord)))
    assert rows and rows[0].type == "BUY" and rows[0].confidence == 0.8 and rows[0].decision == "approved"
    assert rows[0].reasoning.startswith("policy: action 1 (rsi ")
    assert engine.trader.ledger.position("ETH/USDT").qty > 0
    vector = __import__("engine.strategies.ml", fromlist=["MLInterface"]).MLInterface(engine.trader) \
        .state_vector("ETH/USDT")
    assert vector.shape == (6,) and vector[3] > 0  # the position shows as exposure
    engine.stop()


def test_a_model_that_cannot_be_loaded_stops_start_up_in_one_line(tmp_path):
    cdir = make_config_dir(tmp_path, symbols={"sim": {"ETH/USDT": {"strategy": "policy",
                                                                   "params": {"model": "no/such/policy.py"}}}})
    with pytest.raises(ConfigError, match=r"symbols.sim.ETH/USDT.params.model = 'no/such/policy.py': cannot be "
                                          r"loaded \(FileNotFoundError"):
        load_config(cdir, env={})
