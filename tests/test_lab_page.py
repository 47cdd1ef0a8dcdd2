"""The Backtest lab page (AppTest): a backtest in a worker process with progress, its results, a sweep, a cancel,
runs compared and deleted, and a run's params taken live after a confirmation."""

from __future__ import annotations

import time

import pytest

from engine.lab import runs
from engine.store import make_engine
from tests.engine.test_backtest import moving_market
from tests.test_app import PASSWORD, console_config, logged_in


@pytest.fixture
def lab(tmp_path, monkeypatch):
    d = console_config(tmp_path)
    data = tmp_path / "lab-data"
    data.mkdir()
    moving_market(data)
    monkeypatch.setenv("MM_CONFIG_DIR", str(d))
    monkeypatch.setenv("MM_CONSOLE_PASSWORD", PASSWORD)
    monkeypatch.setenv("MM_LAB_DATA", str(data))
    yield make_engine(f"sqlite:///{tmp_path}/store.db"), str(data / "btcusdt_walk.gz")
    from engine.registry import stop_all_engines

    stop_all_engines()


def open_lab(at):
    at.switch_page("pages/lab.py").run()
    assert not at.exception, at.exception
    return at


def choose_data(at, path: str) -> None:
    box = [m for m in at.multiselect if m.label == "Data"][0]
    box.set_value([o for o in box.options if path.rsplit("/", 1)[-1] in o]).run()


def until_finished(at, seconds: float = 120) -> list[str]:
    """Rerun the page until the job's outcome is flashed; returns the progress texts seen on the way."""
    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        seen += [p.proto.text for p in at.get("progress")]
        if "lab_job" not in at.session_state:  # the outcome is on the page now
            return seen
        time.sleep(0.5)
        at.run()
        assert not at.exception, at.exception
    raise AssertionError("the lab job did not finish")


def test_a_backtest_runs_in_a_worker_with_progress_and_shows_its_results(lab):
    db, path = lab
    at = open_lab(logged_in())
    assert [m.label for m in at.multiselect][:2] == ["Data", "Symbols"]
    choose_data(at, path)
    [s for s in at.selectbox if s.label == "Queue model"][0].set_value("probabilistic").run()
    [t for t in at.text_input if t.label == "spread_bps"][0].input("7")
    [t for t in at.text_input if t.label == "Name (optional)"][0].input("lab test")
    [b for b in at.button if b.label == "Run"][0].click().run()
    assert not at.exception, at.exception
    seen = until_finished(at)
    assert any(text.startswith("Backtest:") for text in seen)
    kept = runs.list_runs(db)
    assert len(kept) == 1 and kept[0]["name"] == "lab test" and kept[0]["params"]["spread_bps"] == 7
    assert kept[0]["models"]["queue"].startswith("probabilistic")
    assert any("finished" in m.value and f"run {kept[0]['id']}" in m.value for m in at.success)
    labels = [m.label for m in at.metric]
    assert {"Net PnL", "Fills", "Markout 10 s", "Max drawdown", "Sharpe", "Quoted spread"} <= set(labels)
    assert len(at.get("plotly_chart")) == 4  # equity, inventory, price with quotes and fills, markouts
    assert at.dataframe[0].value.shape[0] == kept[0]["summary"]["fills"]


def test_a_sweep_from_the_page_keeps_every_point_and_compares_them(lab):
    db, path = lab
    at = open_lab(logged_in())
    choose_data(at, path)
    at.radio(key="lab_mode").set_value("Sweep").run()
    [t for t in at.text_input if t.label == "spread_bps"][0].input("2, 10")
    [t for t in at.text_input if t.label == "levels"][0].input("1, 3")
    [b for b in at.button if b.label == "Run"][0].click().run()
    until_finished(at, 240)
    kept = runs.list_runs(db)
    assert sorted((r["params"]["spread_bps"], r["params"]["levels"]) for r in kept) == [(2, 1), (2, 3), (10, 1),
                                                                                       (10, 3)]
    assert len({r["sweep"] for r in kept}) == 1
    assert any('"type":"heatmap"' in c.proto.spec.replace(" ", "") for c in at.get("plotly_chart"))


def test_a_bad_param_is_refused_before_anything_starts_and_cancel_stops_a_run(lab):
    db, path = lab
    at = open_lab(logged_in())
    choose_data(at, path)
    [t for t in at.text_input if t.label == "spread_bps"][0].input("-3")
    [b for b in at.button if b.label == "Run"][0].click().run()
    assert any("Not started" in e.value and "spread_bps" in e.value for e in at.error)
    assert "lab_job" not in at.session_state
    [t for t in at.text_input if t.label == "spread_bps"][0].input("5")
    at.number_input[0].set_value(50)  # quote every 50 ms: a longer run to cancel
    [b for b in at.button if b.label == "Run"][0].click().run()
    assert "lab_job" in at.session_state
    time.sleep(1.0)
    at.run()
    [b for b in at.button if b.label == "Cancel"][0].click().run()
    until_finished(at, 30)
    assert runs.list_runs(db) == []
    assert any("cancelled" in w.value for w in at.warning), [w.value for w in at.warning]


def test_use_these_settings_live_needs_a_confirmation(lab, tmp_path):
    db, path = lab
    request = runs.RunRequest([path], params={"spread_bps": 9, "levels": 2}, name="good one")
    runs.save_run(db, request, {"realized_pnl": 1.0, "unrealized_pnl": 0.0, "fees": 0.1, "symbols": ["BTC/USDT"]})
    at = open_lab(logged_in())
    button = [b for b in at.button if b.label == "Use these settings live"][0]
    assert button.disabled
    at.checkbox(key="lab_live_sure").check().run()
    [b for b in at.button if b.label == "Use these settings live"][0].click().run()
    assert not at.exception, at.exception
    assert any("saved and applied" in s.value for s in at.success)
    from engine.config import load_config

    sc = load_config(tmp_path / "config").symbols["sim"]["BTC/USDT"]
    assert sc.strategy == "market_making" and sc.params == {"spread_bps": 9, "levels": 2}
