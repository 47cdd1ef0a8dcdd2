"""Bad files and arguments on the command line (issue 14): one line naming the thing and what to do, exit 2, no
traceback, and nothing written where it should not be."""

from __future__ import annotations

import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT.parent / "shared" / "data"
CAPTURE = DATA / "binance-l2" / "spot" / "btcusdt_20240808.gz"
CANDLES = DATA / "candles-1m" / "BNB_USDT-1m.csv.gz"


def run(*argv: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", *argv], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_each_bad_argument_ends_in_one_line_and_exit_2(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    cases = {
        "missing --config folder": (["run", "--config", str(tmp_path / "nonexistent"), "--duration", "1"],
                                    "no such folder"),
        "a --config folder without config.yaml": (["run", "--config", str(empty), "--duration", "1"],
                                                  "holds no config.yaml"),
        "a backtest on a config folder that is missing": (["backtest", "--data", "README.md", "--config",
                                                           str(tmp_path / "nope")], "no such folder"),
        "README.md as a capture": (["backtest", "--data", "README.md"], "not a Binance capture"),
        "a data file that is not there": (["backtest", "--data", str(tmp_path / "x.gz")], "no such file"),
        "soak for no time": (["soak", "--hours", "0"], "--hours must be > 0"),
    }
    if CAPTURE.is_file() and CANDLES.is_file():
        cases["a candle file beside a capture"] = (["backtest", "--data", str(CAPTURE), str(CANDLES)],
                                                   "mixes candle files and Binance captures")
    with ThreadPoolExecutor(2) as pool:
        done = dict(zip(cases, pool.map(lambda c: run(*c[0]), cases.values()), strict=True))
    for name, proc in done.items():
        says = cases[name][1]
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert proc.returncode == 2, (name, proc.returncode, proc.stderr[-500:])
        assert len(lines) == 1 and says in lines[0], (name, proc.stderr)
        assert "Traceback" not in proc.stderr + proc.stdout, name
    assert list(empty.iterdir()) == []  # nothing written into the folder given by mistake


@pytest.mark.skipif(not CANDLES.is_file(), reason="../shared/data is absent")
def test_a_candle_file_alone_is_a_candle_backtest(tmp_path):
    proc = run("backtest", "--data", str(CANDLES), "--hours", "0.1")
    assert proc.returncode == 0, proc.stderr[-500:]
    assert '"fills"' in proc.stdout
