"""The store's retention policy (``retention.*``): the metric tables do not grow forever.

Rows of ``system_metrics``, ``exchange_health`` and ``balance_snapshots`` are kept raw for ``raw_hours``; older ones
are thinned to the last row of each minute (per exchange, and per currency for balances) until ``minute_days``,
then to the last row of each hour until ``hour_days``, then deleted. These tables hold point-in-time readings
(equity, latency, balances), so the last reading of a bucket stands for it. Orders, trades, funding payments,
alerts and breaker events are kept. On SQLite the freed pages are returned to the disk a batch at a time
(``PRAGMA incremental_vacuum``); a store made before auto-vacuum was on is converted once with a ``VACUUM``.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import text

log = logging.getLogger("engine.retention")
TABLES = {"system_metrics": ("exchange",), "exchange_health": ("exchange",),
          "balance_snapshots": ("exchange", "currency")}
HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
VACUUM_PAGES = 5_000  # pages returned to the disk per run at most (about 20 MB)


def _thin(conn: Any, table: str, keys: tuple[str, ...], lo: int, hi: int, bucket_ms: int) -> int:
    """Keep the last row of each ``bucket_ms`` (per ``keys``) among rows with ``lo <= ts < hi``; returns deleted."""
    group = ", ".join((*keys, f"ts / {bucket_ms}"))
    sql = (f"DELETE FROM {table} WHERE ts >= :lo AND ts < :hi AND id NOT IN "  # noqa: S608 - our own table names
           f"(SELECT MAX(id) FROM {table} WHERE ts >= :lo AND ts < :hi GROUP BY {group})")
    return conn.execute(text(sql), {"lo": lo, "hi": hi}).rowcount or 0


def prune(db: Any, now_ms: int, settings: Any) -> dict[str, int]:
    """Apply the policy at ``now_ms``; returns the rows deleted per table (and ``vacuumed`` pages on SQLite)."""
    raw_cut = now_ms - int(settings.raw_hours * HOUR_MS)
    minute_cut = min(raw_cut, now_ms - int(settings.minute_days * DAY_MS))
    hour_cut = min(minute_cut, now_ms - int(settings.hour_days * DAY_MS))
    out: dict[str, int] = {}
    with db.begin() as conn:
        for table, keys in TABLES.items():
            n = _thin(conn, table, keys, minute_cut, raw_cut, 60_000)
            n += _thin(conn, table, keys, hour_cut, minute_cut, HOUR_MS)
            n += conn.execute(text(f"DELETE FROM {table} WHERE ts < :cut"),  # noqa: S608
                              {"cut": hour_cut}).rowcount or 0
            out[table] = n
    if db.dialect.name == "sqlite":
        out["vacuumed"] = _vacuum(db)
    if any(out.values()):
        log.info("retention: %s", ", ".join(f"{k} {v:,}" for k, v in out.items()))
    return out


def _vacuum(db: Any) -> int:
    with db.connect() as conn:
        mode = conn.execute(text("PRAGMA auto_vacuum")).scalar()
        free = conn.execute(text("PRAGMA freelist_count")).scalar() or 0
        if not free:
            return 0
        if mode != 2:  # NONE (0) or FULL (1): made before auto-vacuum was on; converted once
            log.info("retention: turning on incremental auto-vacuum (one VACUUM of the whole store)")
            conn.exec_driver_sql("PRAGMA auto_vacuum=INCREMENTAL")
            conn.exec_driver_sql("VACUUM")
            return int(free)
        conn.commit()
        # one page per step of this statement; Python's sqlite3 steps a pragma once, executescript to the end
        conn.connection.dbapi_connection.executescript(f"PRAGMA incremental_vacuum({VACUUM_PAGES});")
        return int(min(free, VACUUM_PAGES))
