"""The store's retention policy: raw metric rows for a day, one a minute for a week, one an hour after, then gone;
orders and trades kept; the file gives the space back."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import text

from engine.config import load_config
from engine.retention import prune
from engine.store import make_engine

DAY = 86_400_000
NOW = 1_750_000_000_000 // DAY * DAY  # a UTC midnight, so the buckets below are whole


def seed_rows(db, days: int) -> None:
    metrics = [{"ts": NOW - i * 5_000} for i in range(days * 17_280)]  # one every 5 s, like the metrics job
    balances = [{"ts": NOW - i * 60_000, "cur": c} for i in range(days * 1_440) for c in ("USDT", "BTC")]
    with db.begin() as conn:
        conn.execute(text("INSERT INTO system_metrics (ts, exchange, state, equity, peak_equity, drawdown_bps, "
                          "daily_pnl, realized_pnl, unrealized_pnl, fees, open_orders, fills, quote_cycle_ms) "
                          "VALUES (:ts, 'sim', 'RUNNING', 1, 1, 0, 0, 0, 0, 0, 0, 0, 0)"), metrics)
        conn.execute(text("INSERT INTO balance_snapshots (ts, exchange, currency, free, used, total, value_quote) "
                          "VALUES (:ts, 'sim', :cur, 1, 0, 1, 1)"), balances)
        conn.execute(text("INSERT INTO orders (exchange, symbol, client_order_id, side, type, level, amount, filled, "
                          "status, reason, created_ms, updated_ms) VALUES ('sim', 'BTC/USDT', :cid, 'buy', 'limit', 0, "
                          "1, 0, 'closed', '', :ts, :ts)"),
                     [{"cid": f"mm-old-{i}", "ts": NOW - i * 3_600_000} for i in range(days * 24)])


def count(db, table: str, lo: int, hi: int) -> int:
    with db.connect() as conn:
        return conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE ts >= :lo AND ts < :hi"),  # noqa: S608
                            {"lo": lo, "hi": hi}).scalar()


def test_metric_rows_are_thinned_by_age_and_orders_are_kept(tmp_path):
    db = make_engine(f"sqlite:///{tmp_path}/store.db")
    seed_rows(db, 10)
    size_before = (tmp_path / "store.db").stat().st_size + (tmp_path / "store.db-wal").stat().st_size
    settings = replace(load_config(env={}).retention, hour_days=9)
    done = prune(db, NOW + 1, settings)
    raw_cut, minute_cut, hour_cut = NOW + 1 - DAY, NOW + 1 - 7 * DAY, NOW + 1 - 9 * DAY
    seeded = [NOW - i * 5_000 for i in range(10 * 17_280)]

    def buckets(lo: int, hi: int, size: int) -> int:  # the policy, computed independently: one row per bucket
        return len({ts // size for ts in seeded if lo <= ts < hi})

    assert count(db, "system_metrics", raw_cut, NOW + 1) == 17_280  # the last day: every row
    assert count(db, "system_metrics", minute_cut, raw_cut) == buckets(minute_cut, raw_cut, 60_000) == 6 * 1_440 + 1
    assert count(db, "system_metrics", hour_cut, minute_cut) == buckets(hour_cut, minute_cut, 3_600_000) == 2 * 24 + 1
    assert count(db, "system_metrics", 0, hour_cut) == 0  # then gone
    assert count(db, "balance_snapshots", hour_cut, minute_cut) == 2 * (2 * 24 + 1)  # per currency
    with db.connect() as conn:
        orders = conn.execute(text("SELECT COUNT(*) FROM orders")).scalar()
        kept_last = conn.execute(text("SELECT MAX(ts) FROM system_metrics WHERE ts < :t"),
                                 {"t": NOW - 7 * DAY + 1}).scalar()
    assert orders == 240  # orders (and trades) are never pruned
    assert kept_last == NOW - 7 * DAY  # the last reading of its hour stands for it
    assert done["system_metrics"] == 10 * 17_280 - (17_280 + 6 * 1_440 + 1 + 2 * 24 + 1) and done["vacuumed"] > 0
    assert prune(db, NOW + 1, settings) == {t: 0 for t in ("system_metrics", "exchange_health",
                                                            "balance_snapshots", "vacuumed")}  # nothing more to do
    db.dispose()
    size_after = (tmp_path / "store.db").stat().st_size
    assert size_after < size_before / 3
