"""Strategy-lab speed: a backtest cold (captures parsed) and warm (columns from the cache), and grid sweeps.

Run: PYTHONPATH=. python benchmarks/bench_lab.py [--no-sweep] [--no-console]   (needs ../shared/data beside it)

- backtest of the two BTCUSDT spot captures, quoting every 250 ms simulated (10 ms order latency each way, the
  replay's default): wall time and speed against real time, cold (an empty cache) then warm (best of 3);
- the 32-point grid of the README (spread_bps x levels x step_bps x gamma) on 2 workers, and 4 of its points on 1
  and on 2 workers (the scaling);
- the console while the lab runs a 4-point sweep on 2 workers: the dashboard page's render time (AppTest).
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

    def timed() -> tuple[float, dict]:  # the wall time around the call (the summary's own starts inside it)
        t = time.perf_counter()
        s = run_backtest(FILES, quote_ms=250)
        return time.perf_counter() - t, s

    wall, s = timed()  # cold: the cache folder is empty
    market = s["simulated_seconds"]
    print(f"backtest cold: {wall:.2f} s for {market:.0f} s of market, {market / wall:.0f}x real time "
          f"({s['fills']} fills)")
    wall, warm = min((timed() for _ in range(3)), key=lambda r: r[0])
    print(f"backtest warm: {wall:.2f} s, {market / wall:.0f}x real time "
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


def console_during_a_sweep() -> None:
    import json
    import shutil
    import statistics

    from bench_console import time_page

    from engine.lab import worker
    from engine.lab.runs import RunRequest
    from engine.registry import stop_all_engines

    root = Path(__file__).resolve().parents[1]
    tmp = Path(tempfile.mkdtemp(prefix="bench-lab-console-"))
    cdir = tmp / "config"
    cdir.mkdir()
    shutil.copy(root / "config" / "config.yaml", cdir / "config.yaml")
    url = f"sqlite:///{tmp / 'store.db'}"
    (cdir / "config.json").write_text(json.dumps({
        "engine": {"autostart": False}, "database": {"url": url},
        "sim": {"state_path": str(tmp / "sim_state.sqlite")}, "logging": {"dir": str(tmp / "logs")}}))
    os.environ["MM_CONFIG_DIR"] = str(cdir)
    os.environ["MM_CONSOLE_PASSWORD"] = "bench"
    from engine import sweep
    from engine.store import make_engine

    make_engine(url).dispose()
    idle = time_page("pages/dashboard.py")
    job = worker.start("sweep", RunRequest(FILES, quote_ms=250), url, sweep.grid(GRID)[:4], workers=2)
    time.sleep(3)  # the workers are past their imports and replaying
    busy = []
    while not job.finished and len(busy) < 5:
        busy.append(time_page("pages/dashboard.py", runs=1))
    job.wait(300)
    stop_all_engines()
    print(f"dashboard render: {idle:.2f} s idle, median {statistics.median(busy):.2f} s (max {max(busy):.2f} s) "
          f"while a 4-point sweep ran on 2 workers ({job.state().status} in {job.state().elapsed_s:.0f} s)")
    shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    if not all(Path(f).is_file() for f in FILES):
        print("skipped: ../shared/data/binance-l2/spot is absent")
        sys.exit(0)
    import logging

    logging.basicConfig(level=logging.ERROR)  # the engine's warnings (e.g. a side short of funds) are not numbers
    os.environ["MM_CACHE_DIR"] = tempfile.mkdtemp(prefix="bench-lab-cache-")
    backtests()
    if "--no-sweep" not in sys.argv:
        sweeps()
    if "--no-console" not in sys.argv:
        console_during_a_sweep()
