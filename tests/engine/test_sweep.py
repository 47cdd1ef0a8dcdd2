"""Parameter sweeps (engine/sweep.py, python -m engine sweep): a grid in parallel processes gives exactly the single
runs' results; bad params are refused before anything runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine import sweep
from engine.backtest import run_backtest
from tests.engine.test_backtest import moving_market

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = {"balances": {"USDT": 100_000, "BTC": 100}}


def test_the_grid_is_every_combination_in_a_stable_order():
    assert sweep.grid({"spread_bps": [4, 8], "levels": [1, 3]}) == [
        {"spread_bps": 4, "levels": 1}, {"spread_bps": 4, "levels": 3},
        {"spread_bps": 8, "levels": 1}, {"spread_bps": 8, "levels": 3}]


def test_a_sweep_over_four_points_matches_four_single_runs(tmp_path):
    data = [moving_market(tmp_path)]
    points = sweep.grid({"spread_bps": [2, 10], "levels": [1, 3]})
    seen = []
    rows = sweep.sweep(data, points, workers=2, options=OPTIONS, progress=lambda done, total: seen.append(done))
    assert sorted(seen) == [1, 2, 3, 4]
    for point, row in zip(points, rows, strict=True):
        single = run_backtest(data, params=point, **OPTIONS)
        assert {k: row[k] for k in point} == point
        assert (row["fills"], row["realized_pnl"], row["fees"]) == (single["fills"], single["realized_pnl"],
                                                                    single["fees"])
    assert len({(r["fills"], r["fees"]) for r in rows}) > 1  # the params change the outcome
    assert sweep.best(rows)["net_pnl"] == max(r["net_pnl"] for r in rows)


@pytest.mark.parametrize("point, says", [
    ({"spred_bps": 4}, "--param spred_bps: market_making has no such param"),
    ({"spread_bps": -4}, "spread_bps = -4: must be greater than 0"),
])
def test_a_bad_param_is_refused_before_any_run(point, says):
    with pytest.raises(ValueError, match=says):
        sweep.check_points([{"spread_bps": 4}, point], None)


def test_the_command_line_prints_a_row_per_point_and_the_best(tmp_path):
    data = moving_market(tmp_path)
    out = tmp_path / "rows.csv"
    proc = subprocess.run([sys.executable, "-m", "engine", "sweep", "--data", data, "--param", "spread_bps=2,10",
                           "--workers", "1", "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split()[:2] == ["spread_bps", "net_pnl"] and len([ln for ln in lines[1:3]]) == 2
    assert lines[3].startswith("best: spread_bps=")
    assert out.read_text().splitlines()[0].startswith("spread_bps,fills,")
    bad = subprocess.run([sys.executable, "-m", "engine", "sweep", "--data", data, "--param", "levels=0"], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.startswith("error: --param") and "Traceback" not in bad.stderr
