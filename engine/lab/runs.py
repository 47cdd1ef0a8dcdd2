"""Kept backtests: a run's request (data, symbols, strategy, params, venue models) and its summary in
``backtest_runs``, its series (equity, mids, inventory, quotes, fills) in ``backtest_series``; listed, compared,
deleted and exported as CSV or JSON."""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, col, select

from engine.store import BacktestRun, BacktestSeries

SUMMARY_COLUMNS = ("net_pnl", "realized_pnl", "unrealized_pnl", "fees", "funding", "fills", "orders", "volume_usd",
                   "fill_ratio", "sharpe", "sortino", "max_drawdown_bps", "return_over_trade_bps", "max_inventory_usd",
                   "mean_abs_inventory_usd", "quoted_spread_bps", "time_in_market", "markout_1s_bps",
                   "markout_10s_bps", "markout_60s_bps", "simulated_seconds", "wall_seconds")


@dataclass
class RunRequest:
    """What to backtest: the arguments of :func:`engine.backtest.run_backtest` that a kept run records."""

    files: list[str]
    symbols: list[str] | None = None
    strategy: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    venue: dict[str, Any] = field(default_factory=dict)  # latency, queue, fees
    quote_ms: int | None = None
    start: str | None = None
    hours: float | None = None
    name: str = ""
    balances: dict[str, float] | None = None  # the paper account's start (default: the venue's)

    def backtest_kwargs(self) -> dict[str, Any]:
        return {"symbols": self.symbols, "strategy": self.strategy, "params": dict(self.params) or None,
                "venue": dict(self.venue) or None, "quote_ms": self.quote_ms, "start": self.start,
                "hours": self.hours, "balances": self.balances}


def net_pnl(summary: dict) -> float:
    """Realized + unrealized - fees + funding: what the run made."""
    return round(summary.get("realized_pnl", 0.0) + summary.get("unrealized_pnl", 0.0) - summary.get("fees", 0.0)
                 + summary.get("funding", 0.0), 6)


def save_run(db: Any, request: RunRequest, summary: dict, series: dict | None = None, status: str = "done",
             sweep: str | None = None, now_ms: int = 0) -> int:
    """Keep one run; returns its id."""
    summary = {**summary, "net_pnl": net_pnl(summary)} if "realized_pnl" in summary else dict(summary)
    strategy = request.strategy or (summary.get("strategy") if isinstance(summary.get("strategy"), str) else None)
    row = BacktestRun(created_ms=now_ms, name=request.name, sweep=sweep, status=status,
                      strategy=strategy or "market_making", data=json.dumps(request.files),
                      symbols=json.dumps(summary.get("symbols") or request.symbols or []),
                      params=json.dumps(request.params), models=json.dumps({
                          **(summary.get("models") or {}), "request": {
                              "venue": request.venue, "quote_ms": request.quote_ms, "start": request.start,
                              "hours": request.hours, "balances": request.balances}}),
                      summary=json.dumps(summary, default=str), net_pnl=summary.get("net_pnl"))
    with Session(db, expire_on_commit=False) as s:
        s.add(row)
        s.flush()
        for kind, payload in (series or {}).items():
            s.add(BacktestSeries(run_id=row.id, kind=kind, payload=json.dumps(payload)))
        s.commit()
    return int(row.id)


def _as_dict(row: BacktestRun) -> dict:
    return {"id": row.id, "created_ms": row.created_ms, "name": row.name, "sweep": row.sweep, "status": row.status,
            "strategy": row.strategy, "data": json.loads(row.data), "symbols": json.loads(row.symbols),
            "params": json.loads(row.params), "models": json.loads(row.models), "summary": json.loads(row.summary),
            "net_pnl": row.net_pnl}


def list_runs(db: Any, limit: int = 200, sweep: str | None = None) -> list[dict]:
    """The newest runs first (of one sweep when ``sweep`` is given)."""
    with Session(db) as s:
        q = select(BacktestRun).order_by(col(BacktestRun.id).desc()).limit(limit)
        if sweep is not None:
            q = q.where(BacktestRun.sweep == sweep)
        return [_as_dict(r) for r in s.exec(q)]


def get_run(db: Any, run_id: int, with_series: bool = True) -> dict | None:
    """One run with its series (``series``: kind -> payload), or None."""
    with Session(db) as s:
        row = s.get(BacktestRun, run_id)
        if row is None:
            return None
        out = _as_dict(row)
        if with_series:
            out["series"] = {r.kind: json.loads(r.payload)
                             for r in s.exec(select(BacktestSeries).where(BacktestSeries.run_id == run_id))}
        return out


def delete_runs(db: Any, run_ids: list[int]) -> int:
    """Delete runs and their series; returns how many runs were deleted."""
    with Session(db) as s:
        n = s.exec(select(BacktestRun.id).where(col(BacktestRun.id).in_(run_ids))).all()
        s.exec(delete(BacktestSeries).where(col(BacktestSeries.run_id).in_(run_ids)))
        s.exec(delete(BacktestRun).where(col(BacktestRun.id).in_(run_ids)))
        s.commit()
    return len(n)


def compare(runs: list[dict]) -> list[dict]:
    """Runs side by side: one row each with its id, name, strategy, params and summary numbers."""
    names = sorted({k for r in runs for k in r["params"]})
    return [{"id": r["id"], "name": r["name"], "status": r["status"], "strategy": r["strategy"],
             **{f"param.{k}": r["params"].get(k) for k in names},
             **{k: r["summary"].get(k) for k in SUMMARY_COLUMNS}} for r in runs]


def to_csv(rows: list[dict]) -> str:
    """Rows (e.g. :func:`compare`'s or a run's fills) as CSV text."""
    if not rows:
        return ""
    out = io.StringIO()
    names = list(dict.fromkeys(k for r in rows for k in r))
    w = csv.DictWriter(out, fieldnames=names, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return out.getvalue()


def to_json(run: dict) -> str:
    """A run, its series included, as JSON."""
    return json.dumps(run, indent=2, default=str)


def request_of(run: dict) -> RunRequest:
    """The request a kept run was made from (to run it again, or to take its params live)."""
    asked = run["models"].get("request", {})
    return RunRequest(files=run["data"], symbols=run["symbols"] or None, strategy=run["strategy"],
                      params=run["params"], venue=asked.get("venue") or {}, quote_ms=asked.get("quote_ms"),
                      start=asked.get("start"), hours=asked.get("hours"), name=run["name"],
                      balances=asked.get("balances"))


__all__ = ["RunRequest", "SUMMARY_COLUMNS", "compare", "delete_runs", "get_run", "list_runs", "net_pnl",
           "request_of", "save_run", "to_csv", "to_json"]
