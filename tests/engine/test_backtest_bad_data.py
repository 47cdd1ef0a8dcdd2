"""A data file the replay venue cannot model ends a backtest with one line naming the file and the problem."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.exchanges.capture import Capture, simple_book

ROOT = Path(__file__).resolve().parents[2]


def backtest(*files: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "engine", "backtest", "--data", *files], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def kline_capture(path: Path) -> str:
    with gzip.open(path, "wt") as fh:
        msg = {"stream": "btcusdt@kline_1m", "data": {"e": "kline", "E": 1, "s": "BTCUSDT", "k": {}}}
        fh.write(f"1723161600000000000 {json.dumps(msg)}\n")
    return str(path)


def inverse_capture(path: Path) -> str:
    return Capture(symbol="btcusd_perp", futures=True).diff(0, bids=[("100.0", "1")]).write(path)


def truncated_capture(path: Path) -> str:
    whole = Path(simple_book().trade(10, "100.00", "1", True).write(path.with_name("whole.gz"))).read_bytes()
    path.write_bytes(whole[: len(whole) - 12])  # the gzip trailer and some data cut off
    return str(path)


@pytest.mark.parametrize(("make", "says"), [
    (kline_capture, "stream 'btcusdt@kline_1m' is not one the venue can replay"),
    (inverse_capture, "BTCUSD_PERP is a coin-margined (inverse) contract"),
    (truncated_capture, "the gzip file is truncated"),
    (lambda p: str(ROOT / "README.md"), "is not '<receive time ns> <json>': not a Binance capture"),
])
def test_a_bad_data_file_gives_one_line_naming_it(tmp_path, make, says):
    path = make(tmp_path / "btcusdt_bad.gz")
    proc = backtest(path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
    assert path in lines[0] and says in lines[0]
