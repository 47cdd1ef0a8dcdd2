"""Backtests: the engine's own Trader against the replay venue on a simulated clock, as fast as it can run."""

from __future__ import annotations

import time
from dataclasses import replace

from engine.config import AppConfig, SymbolConfig, load_config
from engine.exchanges import create_exchange
from engine.jobs import drive
from engine.store import make_engine
from engine.trader import Trader


def run_backtest(files: list[str], symbols: list[str] | None = None, config: AppConfig | None = None,
                 quote_ms: int | None = None, db_url: str = "sqlite:///:memory:",
                 balances: dict[str, float] | None = None) -> dict:
    """Replay ``files`` and quote on them every ``quote_ms`` of simulated time; returns a summary dict."""
    t_wall = time.perf_counter()
    cfg = config or load_config(env={})
    sim_cfg: dict = {"source": {"type": "replay", "files": list(files)}}
    if balances is not None:
        sim_cfg["balances"] = balances
    venue = create_exchange("sim", sim_cfg)
    clock = venue.clock
    chosen = symbols or venue.symbols
    missing = [s for s in chosen if s not in venue.symbols]
    if missing:
        raise ValueError(f"the data has no {', '.join(missing)}; it holds {', '.join(venue.symbols)}")
    table = cfg.symbols.get("sim", {})
    cfg = replace(cfg, engine=replace(cfg.engine, exchange="sim"),
                  symbols={"sim": {s: table.get(s, SymbolConfig()) for s in chosen}})
    step_ms = quote_ms or cfg.engine.quote_interval_ms
    trader = Trader(cfg, venue, clock, make_engine(db_url), run_id="bt")
    trader.startup()
    start_ms = clock.now_ms()
    worst = {"peak": 0.0, "drawdown_bps": 0.0, "inventory_usd": 0.0}

    def track() -> None:  # the backtest's metrics job: peak equity, drawdown, largest inventory
        equity = venue.account_summary()["equity"]
        worst["peak"] = max(worst["peak"], equity)
        worst["drawdown_bps"] = max(worst["drawdown_bps"], (worst["peak"] - equity) / worst["peak"] * 1e4)
        for s in chosen:
            view = trader.market_view(s)
            if view is not None:
                worst["inventory_usd"] = max(worst["inventory_usd"], abs(trader.ledger.position(s).qty) * view.mid)

    e = cfg.engine  # the live cadences; quoting every step_ms, the trader's own jobs only (no risk, health, store)
    drive(clock, [("quote", trader.quote_cycle, step_ms / 1000), ("hygiene", trader.reconcile, e.hygiene_interval_s),
                  ("metrics", track, e.metrics_interval_s)], step_ms / 1000, lambda: venue.source.finished)
    max_dd_bps, max_inventory_usd = worst["drawdown_bps"], worst["inventory_usd"]
    trader.cancel_all()
    summary_acc = venue.account_summary()
    views = {s: trader.market_view(s) for s in chosen}
    marks = {s: v.mid for s, v in views.items() if v is not None}
    totals = trader.ledger.totals(marks)
    with_trades = trader.ledger.fills
    wall = time.perf_counter() - t_wall
    sim_seconds = (clock.now_ms() - start_ms) / 1000
    volume = sum(abs(t["cost"]) for t in venue.fetch_my_trades())
    gaps = {s: len(st.gaps) for s, st in venue.source.stats().items()}
    return {
        "data": list(files), "symbols": chosen, "simulated_seconds": round(sim_seconds, 3),
        "quote_interval_ms": step_ms, "cycles": trader.stats.cycles, "orders": trader.stats.placed,
        "cancels": trader.stats.canceled, "rejected": trader.stats.rejected, "fills": with_trades,
        "volume_usd": round(volume, 2), "fees": round(totals["fees"], 6),
        "realized_pnl": round(totals["realized_pnl"], 6), "unrealized_pnl": round(totals["unrealized_pnl"], 6),
        "max_inventory_usd": round(max_inventory_usd, 2), "max_drawdown_bps": round(max_dd_bps, 3),
        "equity_start": round(summary_acc["startEquity"], 2), "equity_end": round(summary_acc["equity"], 2),
        "sequence_gaps": gaps, "wall_seconds": round(wall, 3),
        "speed_x_real_time": round(sim_seconds / wall, 1) if wall > 0 else None,
    }
