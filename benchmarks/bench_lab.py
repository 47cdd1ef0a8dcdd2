"""Strategy-lab speed: a backtest cold (captures parsed) and warm (columns from the cache), and grid sweeps.

Run: PYTHONPATH=. python benchmarks/bench_lab.py [--no-sweep]     (needs ../shared/data beside the checkout)

- backtest of the two BTCUSDT spot captures, quoting every 250 ms simulated (10 ms order latency each way, the
  replay's default): wall time and speed against real time, cold (an empty cache) then warm (best of 3);
- the 32-point grid of the README (spread_bps x levels x step_bps x gamma) on 2 workers, and 4 of its points on 1
  and on 2 workers (the scaling).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance-l2" / "spot"
FILES = [str(DATA / "btcusdt_20240808.gz"), str(DATA / "btcusdt_20240809.gz")]
GRID = {"spread_bps": [3, 4, 6, 8], "levels": [1, 3], "step_bps": [1, 2], "gamma": [0.05, 0.2]}


def backtests() -> None:
    from engine.backtest import run_backtest

    s = run_backtest(FILES, quote_ms=250)  # cold: the cache folder is empty
    print(f"backtest cold: {s['wall_seconds']:.2f} s for {s['simulated_seconds']:.0f} s of market, "
          f"{s['speed_x_real_time']:.0f}x real time ({s['fills']} fills)")
    warm = min((run_backtest(FILES, quote_ms=250) for _ in range(3)), key=lambda r: r["wall_seconds"])
    print(f"backtest warm: {warm['wall_seconds']:.2f} s, {warm['speed_x_real_time']:.0f}x real time "
          f"({warm['fills']} fills, realized {warm['realized_pnl']}, same as cold: "
          f"{(warm['fills'], warm['realized_pnl']) == (s['fills'], s['realized_pnl'])})")


def sweeps() -> None:
    from engine import sweep

    points = sweep.grid(GRID)
    t = time.perf_counter()
    rows = sweep.sweep(FILES, points, workers=2, options={"quote_ms": 250})
    wall = time.perf_counter() - t
    per_run = sum(r["wall_seconds"] for r in rows) / len(rows)
    top = sweep.best(rows)
    print(f"sweep {len(points)} points, 2 workers: {wall:.1f} s wall, {per_run:.2f} s a run; best "
          + ", ".join(f"{k}={top[k]}" for k in GRID) + f" net {top['net_pnl']}")
    for workers in (1, 2):
        t = time.perf_counter()
        sweep.sweep(FILES, points[:4], workers=workers, options={"quote_ms": 250})
        print(f"sweep 4 points, {workers} worker(s): {time.perf_counter() - t:.1f} s wall")


if __name__ == "__main__":
    if not all(Path(f).is_file() for f in FILES):
        print("skipped: ../shared/data/binance-l2/spot is absent")
        sys.exit(0)
    os.environ["MM_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-lab-cache-")
    backtests()
    if "--no-sweep" not in sys.argv:
        sweeps()
