"""What the console's pages may read and do: plain data and commands, no streamlit.

Every store query aggregates and pages in SQL (never loads a whole table), so pages stay fast with millions of trades.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from engine.arbitrage.desk import arbitrage_rows  # noqa: F401 - re-exported
from engine.clock import iso8601
from engine.config import ConfigError, load_config, save_overrides
from engine.connections import (  # re-exported: pages call engine.service only
    FEATURES,
    KUCOIN_TESTS,
    SELECTIONS,
    connect_venue,
    disconnect_venue,
    kucoin_credentials,
    run_kucoin_check,
    test_venue,
    venue_rows,
)
from engine.desk_commands import (  # re-exported: pages call engine.service only
    REQUOTE_NOTE,
    _trader,
    cancel_order,
    cancel_symbol,
    close_position,
    open_orders,
    pause_symbol,
    paused_symbols,
    positions,
    resume_symbol,
    steps,
)
from engine.funding import funding_rows  # noqa: F401 - re-exported: pages call engine.service only
from engine.health import healthy_venues  # noqa: F401 - re-exported
from engine.metrics_board import operations  # noqa: F401 - re-exported
from engine.netting import netting_rows  # noqa: F401 - re-exported
from engine.pnl import DEFINITIONS as PNL_DEFINITIONS
from engine.pnl import PnlLine, breakdown
from engine.runtime import Engine
from engine.signal_history import (  # re-exported: pages call engine.service only
    set_strategy,
    set_symbol_enabled,
    signal_counts,
    signal_history,
    strategy_chart,
    strategy_names,
    strategy_params,
    strategy_rows,
)
from engine.store import Alert, CircuitBreakerEvent, SystemMetric, TradeRecord
from engine.trade_history import (  # re-exported: pages call engine.service only
    CSV_COLUMNS,
    CSV_DOC,
    TradeFilter,
    live_markouts,
    trade_exchanges,
    trade_page,
    trade_symbols,
    trade_totals,
    trades_csv,
)
from engine.trader import Trader
from engine.universe.view import universe_view  # noqa: F401 - re-exported

log = logging.getLogger("engine.service")

# ------------------------------------------------------------------------------------------ dashboard
TICKER_CACHE_MS = 10_000  # the console's own REST market data, at most this often per exchange
_ticker_cache: dict[str, tuple[int, dict]] = {}
_cache_lock = threading.Lock()


def summary(engine: Engine) -> dict:
    """The numbers at the top of the dashboard, over every exchange the engine trades."""
    with Session(engine.db) as db:
        last = db.exec(select(SystemMetric).where(SystemMetric.exchange == "ALL")
                       .order_by(SystemMetric.ts.desc()).limit(1)).first()
    breakers = engine.risk.board.active()
    traders = engine.traders
    return {
        "state": engine.state, "reason": engine.reason, "equity": engine.equity, "peak_equity": engine.peak_equity,
        "daily_pnl": last.daily_pnl if last else None, "drawdown_bps": last.drawdown_bps if last else None,
        **{k: v for k, v in pnl(engine)[1].row().items() if k not in ("exchange", "symbol")},
        "open_orders": sum(len(t.snapshot.orders) for t in traders),
        "fills": sum(t.ledger.fills for t in traders),
        "risk_mode": engine.config.strategy.risk_mode, "open_breakers": len(breakers),
        "exchanges_healthy": healthy_venues(engine)[0], "exchanges": len(traders), "risk_stale": engine.risk_stale,
    }


def equity_curve(db: Any, since_ms: int, buckets: int = 400) -> list[dict]:
    """Equity and peak over time from ``system_metrics``, down-sampled in SQL to about ``buckets`` points."""
    with Session(db) as s:
        lo_hi = s.exec(select(func.min(SystemMetric.ts), func.max(SystemMetric.ts))
                       .where(SystemMetric.exchange == "ALL", SystemMetric.ts >= since_ms)).one()
        if lo_hi[0] is None:
            return []
        width = max(1, (lo_hi[1] - lo_hi[0]) // buckets + 1)
        bucket = (SystemMetric.ts - lo_hi[0]) / width  # integer division on SQLite and PostgreSQL alike
        rows = s.exec(select(func.max(SystemMetric.ts), func.avg(SystemMetric.equity),
                             func.max(SystemMetric.peak_equity))
                      .where(SystemMetric.exchange == "ALL", SystemMetric.ts >= since_ms)
                      .group_by(bucket).order_by(func.max(SystemMetric.ts))).all()
    return [{"ts": int(t), "equity": float(e), "peak": float(p)} for t, e, p in rows]


def tickers(engine: Engine, trader: Trader) -> dict[str, dict]:
    """24 h tickers of the trader's symbols: streamed ones first, the rest from one ``fetch_tickers`` request per
    exchange at most every ``TICKER_CACHE_MS`` (the console must not eat the engine's request budget)."""
    out = {}
    if trader.feed is not None:
        out = {sym: t for sym in trader.symbols if (t := trader.feed.ticker(sym)) is not None}
    missing = [sym for sym in trader.symbols if sym not in out]
    if not missing:
        return out
    now = engine.clock.now_ms()
    with _cache_lock:
        cached = _ticker_cache.get(trader.name)
        if cached is None or now - cached[0] > TICKER_CACHE_MS or not set(missing) <= set(cached[1]):
            try:
                cached = (now, trader.ex.fetch_tickers(missing))
            except Exception:  # noqa: BLE001 - a page shows what it has; the health page says why
                cached = (now, cached[1] if cached else {})
            _ticker_cache[trader.name] = cached
    return {**{sym: cached[1][sym] for sym in missing if sym in cached[1]}, **out}


def market_rows(engine: Engine) -> list[dict]:
    """The active markets table, one row per exchange and symbol: market data plus our inventory and spread."""
    out = []
    for tr in engine.traders:
        ticks = tickers(engine, tr)
        snap = tr.snapshot  # frozen by the quoting thread: pages never iterate its live dictionaries
        for symbol in tr.symbols:
            seen = snap.views.get(symbol)
            view = seen[1] if seen else None
            ticker = ticks.get(symbol) or {}
            pos = snap.position(symbol)
            ours = [o for o in snap.orders if o.symbol == symbol and o.status == "open" and o.price]
            bids = [o.price for o in ours if o.side == "buy"]
            asks = [o.price for o in ours if o.side == "sell"]
            bid, ask = (view.best_bid, view.best_ask) if view else (ticker.get("bid"), ticker.get("ask"))
            mid = view.mid if view else ((bid + ask) / 2 if bid and ask else None)
            size = view.contract_size if view else 1.0
            tick, lot = steps(tr, symbol)
            out.append({
                "exchange": tr.name, "symbol": symbol, "tick": tick, "lot": lot, "price": mid,
                "change_24h_pct": ticker.get("percentage"),
                "volume_24h": ticker.get("quoteVolume"),
                "spread_bps": (ask - bid) / mid * 1e4 if mid and bid and ask else None,
                "volatility_bps": tr.vol.get(symbol, (0, None))[1],
                "inventory": pos.qty, "inventory_usd": pos.qty * mid * size if mid else None,
                "quoted_spread_bps": (min(asks) - max(bids)) / mid * 1e4 if bids and asks and mid else None,
                "open_orders": len(ours),
            })
    return out


def candles(engine: Engine, symbol: str, exchange: str | None = None) -> list[list[float]]:
    """One-minute candles for the price chart: those the trader keeps for its volatility (refreshed each minute),
    else one request."""
    tr = _trader(engine, exchange)
    rows = tr.snapshot.candles.get(symbol)
    return rows[-120:] if rows else tr.ex.fetch_ohlcv(symbol, "1m", limit=120)


def ladder(engine: Engine, symbol: str, exchange: str | None = None) -> dict:
    """Our open orders on ``symbol`` (on ``exchange``, default the first) and our fills of the last two hours."""
    tr = _trader(engine, exchange)
    orders = [{"side": o.side, "price": o.price, "amount": o.amount, "level": o.level}
              for o in tr.snapshot.orders if o.symbol == symbol and o.status == "open" and o.price]
    since = engine.clock.now_ms() - 2 * 3_600_000
    with Session(engine.db) as s:
        fills = s.exec(select(TradeRecord.ts, TradeRecord.side, TradeRecord.price, TradeRecord.amount)
                       .where(TradeRecord.exchange == tr.name, TradeRecord.symbol == symbol, TradeRecord.ts >= since)
                       .order_by(TradeRecord.ts.desc()).limit(500)).all()
    return {"orders": orders, "fills": [{"ts": t, "side": sd, "price": p, "amount": a} for t, sd, p, a in fills]}


def unquoted(engine: Engine) -> list[dict]:
    """Each market-making side not quoted right now, and why (a breaker, a cap, free balance, the operator)."""
    return [{"exchange": t.name, "symbol": sym, "side": side, "why": why}
            for t in engine.traders for sym, sides in sorted(t.snapshot.unquoted.items())
            for side, why in sorted(sides.items())]


def pnl(engine: Engine) -> tuple[list[PnlLine], PnlLine]:
    """Spread capture, fees, trading PnL net of fees, inventory PnL and net PnL per symbol and in total
    (:mod:`engine.pnl`): the one set of numbers the dashboard, the positions page and the trade history show."""
    unrealized = {}
    for tr in engine.traders:
        snap = tr.snapshot
        for symbol, pos in snap.positions.items():
            seen = snap.views.get(symbol)
            if pos.qty and seen:
                unrealized[(tr.name, symbol)] = pos.unrealized(seen[1].mid)
    return breakdown(engine.db, unrealized)


def pnl_rows(engine: Engine) -> list[dict]:
    """:func:`pnl` as table rows, the total last."""
    lines, total = pnl(engine)
    return [x.row() for x in lines] + ([total.row()] if lines else [])


def trade_rows(engine: Engine, flt: TradeFilter, page: int, size: int) -> list[dict]:
    """One page of trades (newest first), each with its market's tick and lot for display."""
    venues = {t.name: t for t in engine.traders}
    rows = trade_page(engine.db, flt, page, size)
    for r in rows:
        tr = venues.get(r["exchange"])
        r["tick"], r["lot"] = steps(tr, r["symbol"]) if tr else (None, None)
    return rows


def markouts(engine: Engine) -> list[dict]:
    """The live fills' markouts over the last hour (:func:`engine.trade_history.live_markouts`), per market."""
    mids: dict[tuple[str, str], list[tuple[int, float]]] = {}
    for tr in engine.traders:
        for symbol, seen in list(tr.mids.items()):
            for _ in range(3):  # the quoting thread appends meanwhile: copy again if it did
                try:
                    mids[(tr.name, symbol)] = list(seen)
                    break
                except RuntimeError:
                    continue
    return live_markouts(engine.db, mids)


def trades_export(engine: Engine, flt: TradeFilter) -> bytes:
    """The filtered trades as CSV, prices and amounts rounded to each traded market's tick and lot."""
    return trades_csv(engine.db, flt, steps={(t.name, s): steps(t, s) for t in engine.traders for s in t.ex.markets})


# ------------------------------------------------------------------------------------------ risk controls
def exchanges(engine: Engine) -> list[str]:
    """The venues the engine trades, in priority order, then any other exchange the trade history holds."""
    names = [t.name for t in engine.traders]
    return names + [n for n in trade_exchanges(engine.db) if n not in names]


def leverage_limits(engine: Engine) -> dict:
    """The perpetuals traded on every venue (``{venue: [symbols]}``), the highest leverage configured for them, and
    the lowest maximum their markets allow (None when no perpetual is traded)."""
    perps = {t.name: [s for s in t.symbols if t.ex.markets.get(s, {}).get("contract")] for t in engine.traders}
    perps = {name: syms for name, syms in perps.items() if syms}
    venues = {t.name: t for t in engine.traders}
    market_max = [venues[n].ex.markets[s].get("limits", {}).get("leverage", {}).get("max") or 1
                  for n, syms in perps.items() for s in syms]
    configured = [engine.config.symbol_config(s, n).leverage for n, syms in perps.items() for s in syms]
    return {"perps": perps, "leverage": max(configured, default=1),
            "market_max": min(market_max) if market_max else None}


def set_risk_mode(engine: Engine, mode: str) -> None:
    """Save the risk mode to config.json and apply it to the running engine."""
    apply_changes(engine, {"strategy": {"risk_mode": mode}})


def alert_kinds(engine: Engine) -> dict[str, str]:
    """Each alert kind's delivery (on | silent | off), as configured (``alerts.kinds``) or by default."""
    from engine.alerts import KINDS, STORE_ONLY_KINDS

    kinds = engine.config.alerts.kinds
    names = (*KINDS, *sorted(set(kinds) - set(KINDS)))
    return {k: kinds.get(k, "off" if k in STORE_ONLY_KINDS else "on") for k in names}


def set_alert_kinds(engine: Engine, kinds: dict[str, str]) -> None:
    """Save and apply each kind's delivery (on | silent | off)."""
    apply_changes(engine, {"alerts": {"kinds": kinds}})


def apply_changes(engine: Engine, changes: dict) -> None:
    """Validate and save ``changes`` (config.json, atomically), then reload the config into the running engine.

    Raises :class:`ConfigError` naming the field and the rule; nothing is saved then.
    """
    cdir = engine.config.config_dir
    save_overrides(changes, cdir)
    engine.apply_config(load_config(cdir))


def set_leverage(engine: Engine, leverage: int) -> str:
    """Save ``leverage`` for every traded perpetual and set it on each venue now; says what each venue answered."""
    limits = leverage_limits(engine)
    if not limits["perps"]:
        return "leverage not changed: no perpetual is traded"
    targets = {name: {s: leverage for s in syms} for name, syms in limits["perps"].items()}
    apply_changes(engine, {"symbols": {n: {s: {"leverage": leverage} for s in t} for n, t in targets.items()}})
    done, failed = push_leverage(engine, targets)
    text = f"leverage {leverage}x saved" + (f" and set on {', '.join(done)}" if done else "")
    return text + (f"; not set on {', '.join(failed)}" if failed else "")


def push_leverage(engine: Engine, targets: dict[str, dict[str, int]]) -> tuple[list[str], list[str]]:
    """Set each ``{venue: {symbol: leverage}}`` on its exchange now: (what was set, what was not and why)."""
    venues = {t.name: t for t in engine.traders}
    done, failed = [], []
    with engine.work:
        for name, wanted in targets.items():
            ex = venues[name].ex if name in venues else None
            for s, leverage in wanted.items():
                if ex is None or not ex.has.get("setLeverage"):
                    failed.append(f"{s} on {name} (" + ("not traded now" if ex is None else
                                                        "the exchange sets no leverage through its API") + ")")
                    continue
                try:
                    ex.set_leverage(leverage, s)
                    done.append(f"{s} on {name}")
                except Exception as exc:  # noqa: BLE001 - reported to the operator
                    failed.append(f"{s} on {name} ({type(exc).__name__}: {exc})")
    return done, failed


def set_selection(engine: Engine, strategy: str) -> None:
    """Change the exchange selection strategy (saved and applied) and route again at once."""
    apply_changes(engine, {"engine": {"selection": strategy}})
    with engine.work:
        engine.route()


def breaker_states(engine: Engine) -> list[dict]:
    """Every breaker: where it trips (in its own unit, the error rate in %), its state (``off`` when switched off),
    what it covers now and its cooldown."""
    now = engine.clock.now_ms()
    rows = []
    for name, settings in engine.config.risk.breakers.items():
        b = engine.risk.board.breakers.get(name)
        if b is None or not settings.enabled:
            rows.append({"breaker": name, "threshold": settings.threshold, "unit": "", "state": "off",
                         "trips_at": "switched off", "scope": "—", "cooldown_left_s": None,
                         "manual_rearm": name == "drawdown", "action": ""})
            continue
        active = [s for s in engine.risk.board.statuses.values() if s.breaker == name and s.state != "closed"]
        trips = f"{b.threshold * 100:g}%" if name == "error_rate" else f"{b.threshold:g} {b.unit}".strip()
        rows.append({"breaker": name, "threshold": b.threshold, "unit": b.unit, "action": b.action,
                     "trips_at": f"trips at {trips}" + (" of requests" if name == "error_rate" else ""),
                     "state": active[0].state if active else "closed",
                     "scope": ", ".join(str(s.scope) for s in active) or "—",
                     "cooldown_left_s": max((s.remaining_s(now) or 0 for s in active), default=None)
                     if active and not b.manual_rearm else None,
                     "manual_rearm": b.manual_rearm})
    return rows


def breaker_events(db: Any, limit: int = 200) -> list[dict]:
    with Session(db) as s:
        rows = s.exec(select(CircuitBreakerEvent).order_by(CircuitBreakerEvent.ts.desc(), CircuitBreakerEvent.id.desc())
                      .limit(limit)).all()
    return [{"time": iso8601(r.ts), "breaker": r.breaker, "state": r.state,
             "scope": f"{r.exchange or 'all'}{':' + r.symbol if r.symbol else ''}", "value": r.value,
             "threshold": r.threshold, "action": r.action, "reason": r.reason} for r in rows]


def reset_breaker(engine: Engine, breaker: str) -> str:
    if breaker == "drawdown":
        engine.rearm()
        return "drawdown breaker re-armed; trading resumes"
    n = engine.risk.rearm(breaker)
    return f"{breaker} breaker reset ({n} scope{'s' if n != 1 else ''})"


# ------------------------------------------------------------------------------------------ alerts & logs
def alerts(db: Any, level: str | None = None, limit: int = 200) -> list[dict]:
    with Session(db) as s:
        stmt = select(Alert).order_by(Alert.ts.desc(), Alert.id.desc())
        if level:
            stmt = stmt.where(Alert.level == level)
        rows = s.exec(stmt.limit(limit)).all()
    return [{"time": iso8601(a.ts), "level": a.level, "kind": a.kind, "message": a.message, "status": a.status,
             "attempts": a.attempts, "error": a.error} for a in rows]


def log_lines(path: Path, levels: tuple[str, ...] = (), limit: int = 300) -> list[dict]:
    """The last ``limit`` JSON log lines, newest first, optionally of some levels only (reads the file's tail)."""
    if not path.is_file():
        return []
    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 2_000_000))
        tail = fh.read().decode("utf-8", "replace").splitlines()
    out = []
    for line in reversed(tail):
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if levels and entry.get("level") not in levels:
            continue
        out.append(entry)
        if len(out) >= limit:
            break
    return out


__all__ = ["PNL_DEFINITIONS", "REQUOTE_NOTE", "cancel_order", "cancel_symbol", "close_position", "open_orders",
           "pause_symbol", "paused_symbols", "positions", "resume_symbol",
           "ConfigError", "FEATURES", "KUCOIN_TESTS", "SELECTIONS", "connect_venue", "disconnect_venue",
           "kucoin_credentials", "run_kucoin_check", "test_venue", "venue_rows", "CSV_COLUMNS", "CSV_DOC",
           "TradeFilter", "trade_page", "trade_symbols", "trade_totals", "trades_csv", "set_strategy",
           "set_symbol_enabled", "signal_counts", "signal_history", "strategy_chart", "strategy_names",
           "strategy_params", "strategy_rows"]
