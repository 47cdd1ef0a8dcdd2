"""The console page (Streamlit AppTest) on a config of its own, with the engine stopped."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")


def console_config(tmp_path: Path, **engine: object) -> Path:
    d = tmp_path / "config"
    d.mkdir()
    shutil.copy(ROOT / "config" / "config.yaml", d / "config.yaml")
    (d / "config.json").write_text(json.dumps({
        "engine": {"autostart": False, **engine}, "database": {"url": f"sqlite:///{tmp_path}/store.db"},
        "sim": {"state_path": str(tmp_path / "sim_state.sqlite")}, "logging": {"dir": str(tmp_path / "logs")}}))
    return d


@pytest.fixture
def app(tmp_path, monkeypatch):
    monkeypatch.setenv("MM_CONFIG_DIR", str(console_config(tmp_path)))
    at = AppTest.from_file(APP, default_timeout=30)
    yield at
    from engine.runtime import stop_all_engines

    stop_all_engines()


def test_console_shows_the_engine_and_its_market(app):
    app.run()
    assert not app.exception
    assert app.title[0].value == "Market maker"
    labels = [m.label for m in app.metric]
    assert labels[:6] == ["Engine", "Equity", "Open orders", "Fills", "Realized PnL", "Fees"]
    assert app.metric[0].value == "STOPPED"
    assert "Press Start to quote" in app.info[0].value
    assert [m.label for m in app.metric][6:] == ["Last", "Bid", "Ask", "Spread", "24h change"]
    assert app.selectbox[0].options == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]


def test_start_pause_stop_from_the_page(app):
    app.run()
    app.button[0].click().run()  # Start
    assert app.metric[0].value == "RUNNING"
    app.button[1].click().run()  # Pause
    assert app.metric[0].value == "PAUSED"
    app.button[3].click().run()  # Stop
    assert app.metric[0].value == "STOPPED"
    assert not app.exception


def test_a_bad_config_is_shown_not_raised(tmp_path, monkeypatch):
    d = console_config(tmp_path)
    (d / "config.json").write_text(json.dumps({"strategy": {"spread_bps": -1}}))
    monkeypatch.setenv("MM_CONFIG_DIR", str(d))
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert "strategy.spread_bps = -1: must be greater than 0" in at.error[0].value


def test_kill_switch_needs_confirmation_then_halts_until_rearmed(app):
    app.run()
    app.button[0].click().run()  # Start
    kill = [b for b in app.button if b.label == "KILL"][0]
    assert kill.disabled  # not without the confirmation box
    app.checkbox[1].check().run()
    [b for b in app.button if b.label == "KILL"][0].click().run()
    assert app.metric[0].value == "HALTED"
    assert "HALTED: kill switch from the console" in app.error[0].value
    [b for b in app.button if b.label == "Re-arm (resume trading)"][0].click().run()
    assert app.metric[0].value == "RUNNING"
    assert not app.exception
