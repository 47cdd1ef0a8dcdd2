"""The faulty simulated drill (issue 14): the whole engine under faults, then its invariants."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from engine.soak import plan, render, run_soak

ROOT = Path(__file__).resolve().parents[2]


def test_six_faulty_minutes_keep_every_invariant(tmp_path):
    report = run_soak(hours=0.1, n_symbols=3, seed=5, workdir=str(tmp_path))
    failed = [c for c in report["checks"] if not c["ok"]]
    assert failed == [], render(report)
    faults = report["faults_injected"]
    assert faults["outage"] > 50 and faults["RequestTimeout"] > 50 and faults["NetworkError"] > 50
    assert report["fills"] > 50 and report["orders_placed"] > 300
    assert {"latency", "error_rate", "volatility"} <= set(report["breakers"])
    assert len(report["checks"]) == 10


def test_the_faults_shrink_with_a_short_run_and_keep_their_order():
    long, short = plan(3600), plan(360)
    assert [e["type"] for e in long["events"]] == ["latency_spike", "outage", "flash_crash"]
    assert long["events"][1]["duration_s"] == 300 and long["cooldown_s"] == 144
    assert short["events"][1]["duration_s"] == 60 and short["events"][0]["duration_s"] == 60
    assert long["faults"]["error_rates"] == {"*": 0.10} and long["faults"]["rate_limit_per_minute"] == 1200


def test_the_command_prints_the_invariants_and_exits_by_them(tmp_path):
    done = subprocess.run([sys.executable, "-m", "engine", "soak", "--hours", "0.05", "--seed", "2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "PASS  fills identical by trade id" in done.stdout and "all invariants hold" in done.stdout
    assert "Traceback" not in done.stderr
    bad = subprocess.run([sys.executable, "-m", "engine", "soak", "--hours", "0"], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert bad.returncode == 2 and "--hours must be > 0" in bad.stderr
