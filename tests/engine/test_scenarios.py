"""Rehearsals: each named scenario trips what it should, on the simulated exchange and on the recorded sell-off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.scenarios import SCENARIOS, run_scenario
from tests.conftest import shared_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_scenario_trips_what_it_should(name):
    report = run_scenario(name)
    assert report["missing"] == [], report["timeline"]
    assert set(SCENARIOS[name].expect) <= set(report["fired"])
    opened = [t for t in report["timeline"] if t["state"] == "open"]
    assert opened and all(t["action"] for t in opened)
    assert any(a["kind"] in ("breaker opened", "cap hit") for a in report["alerts"])
    if name == "flash_crash":  # the drawdown breaker is the kill switch: halted, waiting for a re-arm
        assert report["final_state"] == "HALTED"
        assert any(a["kind"] == "kill switch" and a["level"] == "critical" for a in report["alerts"])


def test_recorded_sell_off_trips_the_volatility_breaker():
    candles = shared_file("candles-1m/BTC-PERP_FTX-1m_2022-01.csv.gz")
    report = run_scenario("flash_crash", data=[candles], start="2022-01-21T20:45:00Z", hours=1.25)
    assert report["fired"] == ["volatility"] and report["fills"] > 100
    (opened,) = [t for t in report["timeline"] if t["state"] == "open"]
    assert opened["scope"] == "sim:BTC/USDT:USDT" and opened["value"] >= 5.0
    assert opened["at"].startswith("2022-01-21T21:")


def test_scenario_command_line():
    proc = subprocess.run([sys.executable, "-m", "engine", "backtest", "--scenario", "spread_blowout"], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["fired"] == ["spread"] and report["timeline"][0]["scope"] == "sim:ETH/USDT"
    bad = subprocess.run([sys.executable, "-m", "engine", "backtest", "--scenario", "meteor"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "invalid choice: 'meteor'" in bad.stderr
