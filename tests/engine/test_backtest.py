"""``python -m engine backtest``: the engine on the replay venue, as fast as it runs, with a JSON summary."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.backtest import run_backtest
from tests.conftest import shared_file
from tests.exchanges.capture import simple_book

ROOT = Path(__file__).resolve().parents[2]


def moving_market(tmp_path: Path) -> str:
    """Two minutes of a book that walks up then down, with prints at the touch."""
    cap = simple_book()
    price = 100.0
    for i in range(1, 240):
        t = i * 500
        step = 0.01 if i < 120 else -0.01
        old, price = price, round(price + step, 2)
        cap.diff(t, bids=[(f"{old:.2f}", "0"), (f"{price:.2f}", "5")],
                 asks=[(f"{old + 0.01:.2f}", "0"), (f"{price + 0.01:.2f}", "5")])
        cap.trade(t, f"{price + (0.01 if step > 0 else 0):.2f}", "3", buyer_is_maker=step < 0)
    return cap.write(tmp_path / "btcusdt_walk.gz")


def test_backtest_summary_on_a_small_capture(tmp_path):
    s = run_backtest([moving_market(tmp_path)], balances={"USDT": 100_000, "BTC": 100})
    assert s["symbols"] == ["BTC/USDT"]
    # 120 s every 250 ms is 480 cycles; a cycle that sends orders takes 20 ms more per order (10 ms each way)
    assert s["simulated_seconds"] >= 119 and 420 <= s["cycles"] <= 480
    assert s["models"]["latency"].startswith("entry 10 ms, response 10 ms") and s["models"]["queue"] == "risk_averse"
    for key in ("quoted_spread_bps", "time_in_market", "mean_abs_inventory_usd", "time_at_inventory_cap", "funding"):
        assert key in s
    assert s["orders"] > 0 and s["fills"] > 0 and s["volume_usd"] > 0 and s["fees"] > 0
    for key in ("realized_pnl", "unrealized_pnl", "max_inventory_usd", "max_drawdown_bps", "wall_seconds",
                "speed_x_real_time", "sequence_gaps"):
        assert key in s
    assert s["sequence_gaps"] == {"BTC/USDT": 0}
    assert 0 < s["fill_ratio"] <= 1 and s["ratio_interval_s"] == 5.0
    assert s["return_over_trade_bps"] == pytest.approx(
        (s["realized_pnl"] + s["unrealized_pnl"] - s["fees"]) / s["volume_usd"] * 1e4, abs=0.01)
    assert {"markout_1s_bps", "markout_10s_bps", "markout_60s_bps"} <= set(s)


def test_backtest_command_line_on_the_recorded_capture():
    files = [shared_file("binance-l2/spot/btcusdt_20240808.gz"), shared_file("binance-l2/spot/btcusdt_20240809.gz")]
    proc = subprocess.run([sys.executable, "-m", "engine", "backtest", "--data", *files, "--symbol", "BTC/USDT"],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    s = json.loads(proc.stdout)
    assert s["cycles"] > 2500 and s["fills"] > 0 and s["simulated_seconds"] > 600
    # 100k USDT + 0.05 BTC valued at the first replayed quote (about 61,800); ETH and SOL have no market here
    assert 100_000 + 0.05 * 61_000 < s["equity_start"] < 100_000 + 0.05 * 62_500


def test_backtest_rejects_a_missing_file_or_symbol(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "engine", "backtest", "--data", str(tmp_path / "nope.gz")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "no such file" in proc.stderr
    try:
        run_backtest([moving_market(tmp_path)], symbols=["ETH/USDT"])
    except ValueError as exc:
        assert "the data has no ETH/USDT; it holds BTC/USDT" in str(exc)
    else:
        raise AssertionError("expected a clear error")


def test_a_capture_backtest_takes_a_start_and_a_length(tmp_path):
    from tests.exchanges.capture import T0

    data = [moving_market(tmp_path)]
    s = run_backtest(data, balances={"USDT": 100_000, "BTC": 100}, start="2024-08-09T00:01:00Z", hours=30 / 3600)
    assert s["start"] == "2024-08-09T00:01:00.000Z" and 29.5 <= s["simulated_seconds"] <= 30.5
    assert T0 == 1_723_161_600_000  # 2024-08-09T00:00:00Z: the capture runs two minutes from there
    with pytest.raises(ValueError, match="outside the capture"):
        run_backtest(data, start="2024-08-10T00:00:00Z")


def test_a_backtest_tunes_the_garbage_collector_only_while_it_runs(tmp_path):
    """Inside a run the youngest generation is collected less often and what was alive before is frozen; after it
    (and after one that failed), the thresholds and freezes are as they were, a caller's own freeze included."""
    import gc

    from engine.backtest import batch_gc

    before = gc.get_threshold()
    with batch_gc(young=12_345):
        assert gc.get_threshold()[0] == 12_345 and gc.get_freeze_count() > 0
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError, match="a run failed"), batch_gc():
        raise RuntimeError("a run failed")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
    gc.freeze()  # the caller's own
    try:
        frozen = gc.get_freeze_count()
        with batch_gc():
            pass
        assert gc.get_freeze_count() == frozen and gc.get_threshold() == before
    finally:
        gc.unfreeze()
