"""The store after a simulated week, with and without the retention policy.

One simulated hour of the default engine (3 symbols, every job) is run for real; its rows are then laid out over a
week (each table's hour repeated 168 times, an hour apart, with fresh ids) — a week of the same trading without
running it 168 times — and the store is measured as it is and after the retention job (metric rows thinned, pages
given back). Orders and trades are kept by the policy, so they set the store's long-run growth.

Run: PYTHONPATH=. python benchmarks/bench_store.py
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from sqlalchemy import inspect, text

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.retention import prune
from engine.runtime import Engine

HOUR_MS = 3_600_000
WEEK_HOURS = 168
SPREAD = {"orders": ("created_ms", "client_order_id"), "trades": ("ts", "trade_id"), "system_metrics": ("ts", None),
          "exchange_health": ("ts", None), "balance_snapshots": ("ts", None)}


def size_mb(db_path: Path) -> float:
    return sum(p.stat().st_size for p in (db_path, Path(f"{db_path}-wal")) if p.exists()) / 1e6


def rows(db, table: str) -> int:
    with db.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar()  # noqa: S608


def week_of(db) -> None:
    """Each table's rows repeated ``WEEK_HOURS - 1`` more times, each copy an hour earlier, unique keys suffixed."""
    with db.begin() as conn:
        for table, (ts, unique) in SPREAD.items():
            cols = [c["name"] for c in inspect(conn).get_columns(table) if c["name"] != "id"]
            last = conn.execute(text(f"SELECT MAX(id) FROM {table}")).scalar() or 0  # noqa: S608
            for k in range(1, WEEK_HOURS):
                picked = [f"{c} - {k * HOUR_MS}" if c == ts or (table == "orders" and c in ("updated_ms", "closed_ms"))
                          else f"{c} || '-w{k}'" if c == unique else c for c in cols]
                conn.execute(text(f"INSERT INTO {table} ({', '.join(cols)}) SELECT {', '.join(picked)} "  # noqa: S608
                                  f"FROM {table} WHERE id <= {last}"))


def main() -> None:
    cfg = load_config(env={})
    clock = SimClock()
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "week.db"
        venue = create_exchange("sim", {"seed": 3, "state_path": f"{tmp}/sim_state.sqlite"}, clock=clock)
        engine = Engine(cfg, exchange=venue, clock=clock, db_url=f"sqlite:///{db_path}")
        engine.start(schedule=False)
        t = time.perf_counter()
        engine.run_simulated(3600)
        engine.stop()
        hour_s = time.perf_counter() - t
        db = engine.db
        hour = size_mb(db_path)
        counts_hour = {tb: rows(db, tb) for tb in SPREAD}
        week_of(db)
        with db.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        raw_week = size_mb(db_path)
        counts_week = {tb: rows(db, tb) for tb in SPREAD}
        t = time.perf_counter()
        done = prune(db, clock.now_ms(), cfg.retention)
        prune_s = time.perf_counter() - t
        with db.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        kept = size_mb(db_path)
        counts_kept = {tb: rows(db, tb) for tb in SPREAD}
    print(f"one simulated hour (3 symbols, default config, every job): {hour_s:.0f} s wall, store {hour:.1f} MB; rows "
          + ", ".join(f"{k} {v:,}" for k, v in counts_hour.items()))
    print(f"the same trading over a week: store {raw_week:.0f} MB without retention; rows "
          + ", ".join(f"{k} {v:,}" for k, v in counts_week.items()))
    print(f"after the retention job ({prune_s:.1f} s; {', '.join(f'{k} {v:,}' for k, v in done.items())}): store "
          f"{kept:.0f} MB; rows " + ", ".join(f"{k} {v:,}" for k, v in counts_kept.items()))
    per_week_orders = kept  # at steady state the metric rows stop growing; orders and trades keep coming
    print(f"a year at this pace: about {per_week_orders * 52 / 1000:.1f} GB, almost all of it orders and trades "
          "(kept by design; export and archive them to go lower)")


if __name__ == "__main__":
    main()
