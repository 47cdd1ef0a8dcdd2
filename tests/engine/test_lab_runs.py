"""Kept runs (engine/lab/runs.py, python -m engine runs): stored with their series, listed, compared, exported and
deleted; the optimiser mode searches the space it is given."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.backtest import run_backtest
from engine.lab import runs
from engine.lab.optimize import Dimension, dimension, optimize
from engine.store import make_engine
from tests.engine.test_backtest import moving_market

ROOT = Path(__file__).resolve().parents[2]
BALANCES = {"USDT": 100_000, "BTC": 100}


def test_a_run_is_stored_listed_compared_exported_and_deleted(tmp_path):
    db = make_engine(f"sqlite:///{tmp_path / 'lab.db'}")
    data = [moving_market(tmp_path)]
    ids = []
    for spread in (2, 10):
        request = runs.RunRequest(data, params={"spread_bps": spread}, venue={"queue": {"model": "probabilistic"}},
                                  name=f"spread {spread}", balances=BALANCES)
        series: dict = {}
        summary = run_backtest(data, series=series, **request.backtest_kwargs())
        ids.append(runs.save_run(db, request, summary, series, now_ms=1_000 + spread))
    listed = runs.list_runs(db)
    assert [r["id"] for r in listed] == ids[::-1]  # newest first
    one = runs.get_run(db, ids[0])
    assert one["params"] == {"spread_bps": 2} and one["models"]["queue"].startswith("probabilistic")
    assert one["net_pnl"] == pytest.approx(one["summary"]["realized_pnl"] + one["summary"]["unrealized_pnl"]
                                           - one["summary"]["fees"], abs=1e-6)
    assert set(one["series"]) == {"equity", "inventory", "quotes", "mids", "fills"}
    assert len(one["series"]["equity"]) >= 100 and len(one["series"]["fills"]) == one["summary"]["fills"]
    again = runs.request_of(one)
    assert again.params == {"spread_bps": 2} and again.venue == {"queue": {"model": "probabilistic"}}
    assert again.balances == BALANCES

    table = runs.compare([runs.get_run(db, i, with_series=False) for i in ids])
    assert [r["param.spread_bps"] for r in table] == [2, 10]
    assert table[0]["fills"] != table[1]["fills"] or table[0]["net_pnl"] != table[1]["net_pnl"]
    csv_text = runs.to_csv(table)
    assert csv_text.splitlines()[0].startswith("id,name,status,strategy,param.spread_bps,net_pnl")
    assert json.loads(runs.to_json(one))["series"]["equity"][0][1] > 0

    assert runs.delete_runs(db, [ids[0]]) == 1
    assert [r["id"] for r in runs.list_runs(db)] == [ids[1]] and runs.get_run(db, ids[0]) is None


def test_the_command_line_saves_lists_compares_exports_and_deletes(tmp_path):
    cfg = tmp_path / "config"
    cfg.mkdir()
    text = (ROOT / "config" / "config.yaml").read_text()
    (cfg / "config.yaml").write_text(text.replace("sqlite:///data/marketmaker.db", f"sqlite:///{tmp_path / 'cli.db'}"))
    data = moving_market(tmp_path)

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "engine", *args], cwd=ROOT, capture_output=True, text=True,
                              timeout=300)

    saved = cli("backtest", "--data", data, "--config", str(cfg), "--save", "--name", "first", "--queue",
                "probabilistic", "--latency-ms", "25")
    assert saved.returncode == 0, saved.stderr
    summary = json.loads(saved.stdout)
    run_id = summary["run_id"]
    assert summary["models"]["latency"].startswith("entry 25 ms, response 25 ms")
    listed = cli("runs", "list", "--config", str(cfg))
    assert f"{run_id:>5}  done" in listed.stdout and "first" in listed.stdout and "1 run(s)" in listed.stdout
    exported = cli("runs", "export", str(run_id), "--format", "json", "--config", str(cfg))
    assert json.loads(exported.stdout)["id"] == run_id
    assert cli("runs", "compare", str(run_id), "--config", str(cfg)).stdout.startswith("id,name,status")
    missing = cli("runs", "show", "999", "--config", str(cfg))
    assert missing.returncode == 2 and "no kept run 999" in missing.stderr
    assert cli("runs", "delete", str(run_id), "--config", str(cfg)).stdout.strip() == "deleted 1 run(s)"
    assert "0 run(s)" in cli("runs", "list", "--config", str(cfg)).stdout


def test_the_optimiser_searches_the_given_space_and_refuses_a_bad_range(tmp_path):
    data = [moving_market(tmp_path)]
    space = [dimension("spread_bps", "2:12", json.loads), Dimension("levels", choices=(1, 3))]
    assert space[0].integer and (space[0].low, space[0].high) == (2, 12)
    rows = optimize(data, space, 3, {"balances": BALANCES}, workers=1)
    assert [r["trial"] for r in rows] == [0, 1, 2]
    assert all(2 <= r["spread_bps"] <= 12 and r["levels"] in (1, 3) for r in rows)
    single = run_backtest(data, params={"spread_bps": rows[1]["spread_bps"], "levels": rows[1]["levels"]},
                          balances=BALANCES)
    assert rows[1]["fills"] == single["fills"] and rows[1]["fees"] == single["fees"]
    with pytest.raises(ValueError, match="low end must be below"):
        dimension("spread_bps", "8:2", json.loads)
