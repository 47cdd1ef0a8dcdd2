"""The placeholder console page renders the simulated market (Streamlit AppTest)."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parents[1] / "app.py")


def test_app_shows_the_simulated_market(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # the paper account's state file goes to this test's own data/
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert not at.exception
    assert at.title[0].value == "Simulated exchange"
    labels = [m.label for m in at.metric]
    assert labels == ["Last", "Bid", "Ask", "Spread", "24h change"]
    assert at.metric[0].value.endswith("USDT")
    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDT:USDT"} <= set(at.selectbox[0].options)
    at.selectbox[0].select("ETH/USDT:USDT").run()
    assert not at.exception
    assert (tmp_path / "data" / "sim_state.sqlite").exists()
