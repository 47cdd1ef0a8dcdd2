"""Backtests: the engine's own Trader against the simulated exchange on a simulated clock, as fast as it can run.

Two kinds of data: Binance order-book captures (the replay venue, every update) and one-minute candle files (a
synthetic book along each candle's path, ``engine/exchanges/sim/candles.py``), where ``--strategy`` runs a seed-004
strategy, its checks and its exits on every symbol of the files."""

from __future__ import annotations

import gc
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from engine.clock import SimClock, iso8601
from engine.config import AppConfig, SymbolConfig, load_config
from engine.exchanges import create_exchange
from engine.exchanges.sim.candles import load_candles
from engine.jobs import drive
from engine.store import make_engine
from engine.trader import Trader

CANDLE_WARMUP_MIN = 180  # candle files: the first hours are the strategies' history, not traded
CHART_EVERY_S = 1.0  # the series a run keeps for its charts: equity, inventory and our quotes, every second
VENUE_KEYS = ("latency", "queue", "fees")  # the sim venue settings a backtest takes (the lab's "models")


class BacktestCancelled(Exception):
    """The run was stopped on request (the lab's cancel button) before the data ended."""


def is_candle_file(path: str) -> bool:
    """Whether ``path`` is a one-minute candle CSV (``BTC_USDT-1m.csv.gz``) rather than an order-book capture."""
    name = Path(path).name.lower()
    return "-1m" in name and (name.endswith(".csv") or name.endswith(".csv.gz"))


@contextmanager
def batch_gc(young: int = 10_000) -> Iterator[None]:
    """Python's garbage collector tuned for a run that makes millions of short-lived objects: the youngest
    generation collected every ``young`` allocations instead of 700 (most of a cycle's objects are gone by then, so
    fewer are scanned), and what is alive at the start (modules, configuration) frozen out of the scans. Restored on
    the way out. About 3% of a warm backtest."""
    before = gc.get_threshold()
    freeze = gc.get_freeze_count() == 0  # someone else's freeze is theirs to undo
    if freeze:
        gc.freeze()
    gc.set_threshold(max(young, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
        if freeze:
            gc.unfreeze()


@batch_gc()
def run_backtest(files: list[str], symbols: list[str] | None = None, config: AppConfig | None = None,
                 quote_ms: int | None = None, db_url: str = "sqlite:///:memory:",
                 balances: dict[str, float] | None = None, strategy: str | None = None,
                 params: dict | None = None, start: str | None = None, hours: float | None = None,
                 venue: dict | None = None, progress: Callable[[float], None] | None = None,
                 cancelled: Callable[[], bool] | None = None, series: dict | None = None) -> dict:
    """Run ``files`` through the trader every ``quote_ms`` of simulated time; returns a summary dict.

    Candle files trade ``strategy`` (default: each symbol's configured one) from ``start`` (ISO; default three
    hours into the files) for ``hours`` (default: to the files' end), quoting every 5 s unless told otherwise;
    captures too take ``start`` (default: their beginning) and ``hours`` (default: to their end).
    ``venue`` sets the simulated venue's ``latency``, ``queue`` model and ``fees`` (see ``SimConfig``); the summary
    names the models used. ``progress(share)`` is told how far the run is (0 to 1) about every simulated second;
    ``cancelled()`` True stops it (:class:`BacktestCancelled`). A dict given as ``series`` is filled with the run's
    series for charts: ``equity`` [(ms, USD)], ``mids``, ``inventory`` and ``quotes`` per symbol, ``fills``."""
    t_wall = time.perf_counter()
    extra = dict(venue or {})
    unknown = sorted(set(extra) - set(VENUE_KEYS))
    if unknown:
        raise ValueError(f"venue setting {unknown[0]!r} is not one a backtest takes; use {', '.join(VENUE_KEYS)}")
    cfg = config or load_config(env={})
    candles = any(is_candle_file(f) for f in files)
    if candles and not all(is_candle_file(f) for f in files):
        captures = [Path(f).name for f in files if not is_candle_file(f)]
        raise ValueError(f"--data mixes candle files and Binance captures ({', '.join(captures)}): a backtest reads "
                         "one kind; run each kind on its own")
    end_ms = None
    if candles:
        first = min(load_candles(f)[0][0] for f in files)
        start_ms = _iso_ms(start) if start else first + CANDLE_WARMUP_MIN * 60_000
        end_ms = start_ms + int(hours * 3_600_000) if hours else None
        sim_cfg: dict = {"source": {"type": "candles", "files": list(files)}, "step_ms": 5000,
                         "balances": balances if balances is not None else {"USDT": 100_000}, **extra}
        venue = create_exchange("sim", sim_cfg, clock=SimClock(start_ms))
    else:
        if strategy not in (None, "market_making"):
            raise ValueError("--strategy needs one-minute candle files (e.g. ../shared/data/candles-1m/"
                             "BTC_USDT-1m.csv.gz); order-book captures run market making")
        sim_cfg = {"source": {"type": "replay", "files": list(files)}, **extra}
        if balances is not None:
            sim_cfg["balances"] = balances
        venue = create_exchange("sim", sim_cfg)
        first, last = venue.source.start_ms(), venue.source.last_ms
        if start:  # the book is rebuilt from the capture's beginning; quoting starts here
            at = _iso_ms(start)
            if not first <= at < last:
                raise ValueError(f"--start {start} is outside the capture ({iso8601(first)} to {iso8601(last)})")
            venue.clock.set_ms(at)
            venue.fetch_time()
        if hours:
            end_ms = venue.clock.now_ms() + int(hours * 3_600_000)
    clock = venue.clock
    chosen = symbols or venue.symbols
    missing = [s for s in chosen if s not in venue.symbols]
    if missing:
        raise ValueError(f"the data has no {', '.join(missing)}; it holds {', '.join(venue.symbols)}")
    table = cfg.symbols.get("sim", {})
    given: dict = {"strategy": strategy} if strategy else {}
    if params:  # the params apply to the symbols' strategy, named or configured (they were dropped without --strategy)
        given["params"] = dict(params)
    cfg = replace(cfg, engine=replace(cfg.engine, exchange="sim"),
                  symbols={"sim": {s: replace(table.get(s, SymbolConfig()), enabled=True, **given) for s in chosen}})
    step_ms = quote_ms or (5_000 if candles else cfg.engine.quote_interval_ms)
    trader = Trader(cfg, venue, clock, make_engine(db_url), run_id="bt")
    trader.publishing = False  # nothing reads the snapshot while a backtest runs
    trader.startup()
    trader.capital_usd = venue.account_summary()["equity"]  # no risk cycle here: the portfolio limits use this
    start_ms = clock.now_ms()
    worst = {"peak": 0.0, "drawdown_bps": 0.0, "inventory_usd": 0.0}
    mids: dict[str, list[tuple[int, float]]] = {s: [] for s in chosen}  # each cycle's mid: the markouts' series
    equity_series: list[float] = []
    charts: dict = {"equity": [], "inventory": {s: [] for s in chosen}, "quotes": {s: [] for s in chosen}}
    first_ms = clock.now_ms()
    last_ms = end_ms or getattr(venue.source, "last_ms", None) or first_ms

    def sample() -> None:
        now = clock.now_ms()
        for s in chosen:
            seen = trader.views.get(s)
            if seen is not None and (not mids[s] or mids[s][-1][0] < now):
                mids[s].append((now, seen[1].mid))

    def chart() -> None:  # every second: equity, inventory (USD) and our best quotes, for the lab's charts
        now = clock.now_ms()
        charts["equity"].append((now, round(venue.account_summary()["equity"], 6)))
        for s in chosen:
            seen = trader.views.get(s)  # the last cycle's view: no extra book request
            if seen is None:
                continue
            view = seen[1]
            charts["inventory"][s].append((now, round(trader.ledger.position(s).qty * view.mid, 4)))
            mine = [o for o in trader.orders.values() if o.symbol == s and o.status == "open" and o.price]
            bids = [o.price for o in mine if o.side == "buy"]
            asks = [o.price for o in mine if o.side == "sell"]
            charts["quotes"][s].append((now, max(bids) if bids else None, min(asks) if asks else None))
        if cancelled is not None and cancelled():
            raise BacktestCancelled(f"cancelled at {iso8601(now)}")
        if progress is not None:
            progress(min(max((now - first_ms) / max(last_ms - first_ms, 1), 0.0), 1.0))

    def track() -> None:  # the backtest's metrics job: peak equity, drawdown, largest inventory
        equity = venue.account_summary()["equity"]
        equity_series.append(equity)
        trader.capital_usd = equity
        worst["peak"] = max(worst["peak"], equity)
        worst["drawdown_bps"] = max(worst["drawdown_bps"], (worst["peak"] - equity) / worst["peak"] * 1e4)
        for s in chosen:
            view = trader.market_view(s)
            if view is not None:
                worst["inventory_usd"] = max(worst["inventory_usd"], abs(trader.ledger.position(s).qty) * view.mid)

    e = cfg.engine  # the live cadences; quoting every step_ms, the trader's own jobs only (no risk, health, store)
    drive(clock, [("quote", trader.quote_cycle, step_ms / 1000), ("sample", sample, step_ms / 1000),
                  ("hygiene", trader.reconcile, e.hygiene_interval_s),
                  ("metrics", track, e.metrics_interval_s), ("chart", chart, CHART_EVERY_S)], step_ms / 1000,
          lambda: venue.source.finished or (end_ms is not None and clock.now_ms() >= end_ms))
    max_dd_bps, max_inventory_usd = worst["drawdown_bps"], worst["inventory_usd"]
    trader.cancel_all()
    summary_acc = venue.account_summary()
    views = {s: trader.market_view(s) for s in chosen}
    marks = {s: v.mid for s, v in views.items() if v is not None}
    totals = trader.ledger.totals(marks)
    with_trades = trader.ledger.fills
    wall = time.perf_counter() - t_wall
    sim_seconds = (clock.now_ms() - start_ms) / 1000
    my_trades = venue.fetch_my_trades()
    volume = sum(abs(t["cost"]) for t in my_trades)
    funding = float(getattr(venue.account, "funding", 0.0))
    metrics = run_metrics(trader, my_trades, mids, equity_series, e.metrics_interval_s,
                          totals["realized_pnl"] + totals["unrealized_pnl"] - totals["fees"] + funding)
    metrics.update(quote_metrics(charts, cfg.mode().max_inventory_usd))
    if series is not None:
        series.update(charts, mids=mids, fills=[
            {k: t[k] for k in ("timestamp", "symbol", "side", "price", "amount", "cost", "takerOrMaker")} |
            {"fee": t["fee"]["cost"]} for t in my_trades])
    sim = venue.sim_config
    models = {"queue": sim.queue.describe(), "latency": sim.latency.describe(),
              "fees": f"maker {sim.maker_fee * 1e4:g} bps, taker {sim.taker_fee * 1e4:g} bps"}
    gaps = {s: len(st.gaps) for s, st in venue.source.stats().items()} if hasattr(venue.source, "stats") else {}
    counts = trader.signal_counts
    signal_stats = {
        "strategy": strategy or sorted({cfg.symbols["sim"][s].strategy for s in chosen}),
        "signals": sum(n for (_, kind), n in counts.items() if kind in ("approved", "refused", "executed")),
        "approved": sum(n for (_, kind), n in counts.items() if kind == "approved"),
        "refused": sum(n for (_, kind), n in counts.items() if kind == "refused"),
        "exits": sum(n for (_, kind), n in counts.items() if kind in ("exit", "executed")),
    } if any(trader.is_directional(s) for s in chosen) else {}
    return {
        "data": list(files), "symbols": chosen, "simulated_seconds": round(sim_seconds, 3),
        "start": iso8601(start_ms), "end": iso8601(clock.now_ms()), **signal_stats,
        "quote_interval_ms": step_ms, "cycles": trader.stats.cycles, "orders": trader.stats.placed,
        "cancels": trader.stats.canceled, "rejected": trader.stats.rejected, "fills": with_trades,
        "models": models, "volume_usd": round(volume, 2), "fees": round(totals["fees"], 6),
        "funding": round(funding, 6),
        "realized_pnl": round(totals["realized_pnl"], 6), "unrealized_pnl": round(totals["unrealized_pnl"], 6),
        "max_inventory_usd": round(max_inventory_usd, 2), "max_drawdown_bps": round(max_dd_bps, 3),
        "equity_start": round(summary_acc["startEquity"], 2), "equity_end": round(summary_acc["equity"], 2),
        "sequence_gaps": gaps, **metrics, "wall_seconds": round(wall, 3),
        "speed_x_real_time": round(sim_seconds / wall, 1) if wall > 0 else None,
    }


def run_metrics(trader: Trader, trades: list[dict], mids: dict[str, list[tuple[int, float]]],
                equity: list[float], interval_s: float, net_pnl: float) -> dict:
    """The run's analytics (:mod:`engine.analytics`): markouts per symbol's mids, Sharpe / Sortino from the equity
    sampled every ``interval_s``, fill ratio, return over trade."""
    from sqlmodel import Session, func, select

    from engine.analytics import Fill, mean_markouts, sharpe, sortino
    from engine.store import OrderRecord

    with Session(trader.db) as s:
        placed, filled = s.exec(select(func.count(OrderRecord.id), func.count(OrderRecord.id).filter(
            OrderRecord.filled > 0)).where(OrderRecord.exchange == trader.name)).one()
    weighted: dict[int, list[tuple[float, float]]] = {}
    for symbol, series in mids.items():
        fills = [Fill(int(t["timestamp"]), t["side"], float(t["price"]), float(t["amount"]))
                 for t in trades if t["symbol"] == symbol]
        for h, v in mean_markouts(fills, series).items():
            if v is not None:
                weighted.setdefault(h, []).append((v, sum(f.price * f.amount for f in fills)))
    volume = sum(abs(t["cost"]) for t in trades)
    out = {f"markout_{h}s_bps": round(sum(v * w for v, w in pairs) / sum(w for _, w in pairs), 3)
           for h, pairs in sorted(weighted.items()) if sum(w for _, w in pairs)}
    ratio_sharpe, ratio_sortino = sharpe(equity, interval_s), sortino(equity, interval_s)
    return {"fill_ratio": round(filled / placed, 4) if placed else None,
            "return_over_trade_bps": round(net_pnl / volume * 1e4, 3) if volume else None,
            "sharpe": round(ratio_sharpe, 3) if ratio_sharpe is not None else None,
            "sortino": round(ratio_sortino, 3) if ratio_sortino is not None else None,
            "ratio_interval_s": interval_s, **out}


def quote_metrics(charts: dict, cap_usd: float) -> dict:
    """From the per-second samples: mean quoted spread (bps of the mid, both sides quoted), time in market (share of
    samples with a quote resting) and inventory (mean absolute USD, share of time at the cap), over all symbols."""
    from engine.analytics import inventory_stats, time_in_market

    spreads, shares, means, at_cap = [], [], [], []
    for s, quotes in charts["quotes"].items():
        spreads += [(a - b) / ((a + b) / 2) * 1e4 for _, b, a in quotes if a and b]
        shares.append(time_in_market([(t, b is not None or a is not None) for t, b, a in quotes]))
        inv = inventory_stats(charts["inventory"][s], cap_usd)
        means.append(inv["mean_abs"])
        at_cap.append(inv["time_at_cap"])
    return {"quoted_spread_bps": round(sum(spreads) / len(spreads), 3) if spreads else None,
            "time_in_market": round(sum(shares) / len(shares), 4) if shares else None,
            "mean_abs_inventory_usd": round(sum(means), 2), "time_at_inventory_cap": round(max(at_cap or [0.0]), 4)}


def _iso_ms(text: str) -> int:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"--start {text!r} is not an ISO time; write e.g. 2026-04-01T00:00:00Z") from None
    return int((when if when.tzinfo else when.replace(tzinfo=UTC)).timestamp() * 1000)
