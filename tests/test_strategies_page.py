"""The Strategies page (AppTest) on a mixed safe list: BTC market making, ETH momentum, SOL mean reversion."""

from __future__ import annotations

import json

import pytest

from engine import service
from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.registry import register_engine, stop_all_engines
from engine.runtime import Engine
from tests.test_app import PASSWORD, console_config, logged_in

MIXED = {"sim": {
    "BTC/USDT": {"enabled": True, "tier": "STABLE"},
    "ETH/USDT": {"enabled": True, "tier": "STABLE", "strategy": "momentum",
                 "params": {"ma_fast": 3, "ma_slow": 8, "min_confidence": 0.5}},
    "SOL/USDT": {"enabled": True, "tier": "VOLATILE", "strategy": "mean_reversion",
                 "params": {"bb_std": 1.5, "rsi_low": 40, "rsi_high": 60}},
}}


@pytest.fixture
def mixed(tmp_path, monkeypatch):
    d = console_config(tmp_path)
    cfg = json.loads((d / "config.json").read_text())
    cfg["symbols"] = MIXED
    cfg["sim"]["balances"] = {"USDT": 100_000, "SOL": 20}
    (d / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setenv("MM_CONFIG_DIR", str(d))
    monkeypatch.setenv("MM_CONSOLE_PASSWORD", PASSWORD)
    cfg_ = load_config(d)
    clock = SimClock()
    engine = register_engine(d, Engine(cfg_, exchange=create_exchange("sim", cfg_.sim, clock=clock), clock=clock))
    engine.start(schedule=False)
    engine.run_simulated(1800)  # half an hour of simulated trading: signals on both directional symbols
    yield d, engine
    stop_all_engines()


def page(at):
    at.switch_page("pages/strategies.py").run()
    assert not at.exception, at.exception
    return at


def test_the_page_shows_every_symbol_its_strategy_and_its_signals(mixed):
    d, engine = mixed
    at = page(logged_in())
    table = at.dataframe[0].value
    assert list(table["Symbol"]) == ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDT:USDT"]  # config.yaml's perp too
    assert list(table["Strategy"]) == ["market_making", "momentum", "mean_reversion", "market_making"]
    assert table.loc[table["Symbol"] == "BTC/USDT:USDT", "State"].item() == "disabled"
    assert table.loc[table["Symbol"] == "BTC/USDT", "State"].item() == "quoting"
    assert "None" not in table.to_numpy().ravel()
    history = at.dataframe[1].value
    stored = service.signal_history(engine.db, limit=300)
    assert stored and len(history) == len(stored)  # every signal is visible
    assert set(history["Symbol"]) <= {"ETH/USDT", "SOL/USDT"} and set(history["Decision"]) <= {
        "approved", "refused", "executed"}
    at.selectbox[0].select("ETH/USDT on sim").run()
    (chart,) = at.get("plotly_chart")
    assert "MA3" in chart.proto.spec and "MA8" in chart.proto.spec  # the strategy's indicators on its chart


def test_a_param_is_validated_saved_and_applied(mixed):
    d, engine = mixed
    at = page(logged_in())
    at.selectbox[0].select("ETH/USDT on sim").run()
    [n for n in at.text_input if n.label == "rsi_period"][0].input("abc")
    [b for b in at.button if b.label == "Save and apply"][0].click().run()
    assert [e.value for e in at.error] == ["Not saved: rsi_period: 'abc' is not a number"]  # named, not re-saved
    [n for n in at.text_input if n.label == "rsi_period"][0].input("1")
    [b for b in at.button if b.label == "Save and apply"][0].click().run()
    (error,) = at.error
    assert error.value.startswith("Not saved: ") and error.value.endswith(
        "config.json: symbols.sim.ETH/USDT.params.rsi_period = 1: must be a whole number >= 2")
    assert engine.trader.strategies["ETH/USDT"].params["rsi_period"] == 14  # nothing applied
    at = page(at)
    at.selectbox[0].select("ETH/USDT on sim").run()
    [n for n in at.text_input if n.label == "rsi_period"][0].input("9")
    [b for b in at.button if b.label == "Save and apply"][0].click().run()
    assert engine.trader.strategies["ETH/USDT"].params["rsi_period"] == 9
    assert load_config(d).symbol_config("ETH/USDT").params["rsi_period"] == 9
    assert load_config(d).symbol_config("ETH/USDT").params["ma_fast"] == 3  # the others kept


def test_disabling_a_symbol_cancels_its_orders_at_once(mixed):
    d, engine = mixed
    assert any(o.symbol == "BTC/USDT" for o in engine.trader.orders.values())
    at = page(logged_in())
    at.toggle[0].set_value(False).run()  # BTC/USDT, the first row
    assert "BTC/USDT" not in engine.trader.symbols
    assert not any(o.symbol == "BTC/USDT" for o in engine.trader.orders.values())
    assert load_config(d).symbols["sim"]["BTC/USDT"].enabled is False
    engine.quote_cycle()
    assert not any(o.symbol == "BTC/USDT" for o in engine.trader.orders.values())
