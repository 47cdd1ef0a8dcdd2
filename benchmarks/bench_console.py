"""Console speed with a big store: 1,000,000 trades. Dashboard and trade-history renders, CSV export of 100,000.

Run: PYTHONPATH=. python benchmarks/bench_console.py   (builds a scratch store, about 20 s, then times the pages)
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

from engine import service
from engine.registry import stop_all_engines
from engine.store import make_engine

ROOT = Path(__file__).resolve().parents[1]
N_TRADES = 1_000_000
# The trades end now (one every 2 s over 23 days), so the pages' default windows (last 24 h, last 30 days) hold
# real data: the history page's totals aggregate all 1,000,000 trades.
T0 = int(time.time() * 1000) - N_TRADES * 2_000
NEWLINE = b"\n"
SYMBOLS = ("BTC/USDT", "ETH/USDT", "SOL/USDT", "BNB/USDT", "XRP/USDT")


def build_store(path: Path) -> None:
    make_engine(f"sqlite:///{path}").dispose()  # the tables and indexes, as the engine creates them
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    rows = ((("sim", SYMBOLS[i % 5], f"t{i}", f"o{i}", f"mm-bench-{i}", "buy" if i % 2 else "sell",
              100.0 + i % 1000, 0.5, (100.0 + i % 1000) * 0.5, 0.01, "USDT", "maker", (i % 7 - 3) / 10,
              T0 + i * 2_000)) for i in range(N_TRADES))
    db.executemany("INSERT INTO trades (exchange, symbol, trade_id, order_id, client_order_id, side, price, amount, "
                   "cost, fee, fee_currency, liquidity, realized_pnl, ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    end = T0 + N_TRADES * 2_000
    metrics = ((end - (200_000 - i) * 5_000, "ALL", "RUNNING", 100_000 + i % 500, 100_500, 0, 0, 0, 0, 0, 6, i, 1.0)
               for i in range(200_000))
    db.executemany("INSERT INTO system_metrics (ts, exchange, state, equity, peak_equity, drawdown_bps, daily_pnl, "
                   "realized_pnl, unrealized_pnl, fees, open_orders, fills, quote_cycle_ms) "
                   "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", metrics)
    db.commit()
    db.close()


def time_page(script: str, runs: int = 5) -> float:
    at = AppTest.from_file(str(ROOT / "console.py"), default_timeout=60)
    at.run()
    at.text_input[0].input(os.environ["MM_CONSOLE_PASSWORD"])
    at.button[0].click().run()
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        at.switch_page(script).run()
        times.append(time.perf_counter() - t)
        assert not at.exception, at.exception
    return statistics.median(times)


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="mm-bench-console-"))
    try:
        store = tmp / "store.db"
        t = time.perf_counter()
        build_store(store)
        print(f"built a store of {N_TRADES:,} trades and 200,000 metrics in {time.perf_counter() - t:.1f} s "
              f"({store.stat().st_size / 1e6:.0f} MB)")
        cdir = tmp / "config"
        cdir.mkdir()
        shutil.copy(ROOT / "config" / "config.yaml", cdir / "config.yaml")
        (cdir / "config.json").write_text(json.dumps({
            "engine": {"autostart": False}, "database": {"url": f"sqlite:///{store}"},
            "sim": {"state_path": str(tmp / "sim_state.sqlite")}, "logging": {"dir": str(tmp / "logs")}}))
        os.environ["MM_CONFIG_DIR"] = str(cdir)
        os.environ["MM_CONSOLE_PASSWORD"] = "bench"
        print(f"dashboard page render (AppTest, median of 5): {time_page('pages/dashboard.py'):.2f} s")
        print(f"trade history page render, all 1,000,000 trades (AppTest, median of 5): "
              f"{time_page('pages/trades.py'):.2f} s")
        db = make_engine(f"sqlite:///{store}")
        flt = service.TradeFilter(since_ms=T0 + 500_000 * 2_000, until_ms=T0 + 600_000 * 2_000)
        t = time.perf_counter()
        data = service.trades_csv(db, flt)
        dt = time.perf_counter() - t
        rows = data.count(NEWLINE) - 1
        print(f"CSV export of {rows:,} trades: {dt:.2f} s ({len(data) / 1e6:.1f} MB)")
        t = time.perf_counter()
        service.trade_page(db, service.TradeFilter(), page=9_000, size=100)
        print(f"one page deep in the history (offset 900,000): {(time.perf_counter() - t) * 1000:.0f} ms")
    finally:
        stop_all_engines()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
