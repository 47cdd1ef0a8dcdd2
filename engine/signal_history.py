"""What the Strategies page reads and does (re-exported by :mod:`engine.service`): one row per traded symbol, the
signal history (filtered, paged in SQL), per-symbol signal counts, the price chart's indicators and the signals on
it, and the commands: enable or disable a symbol, change its strategy and params (validated, saved, applied)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import func
from sqlmodel import Session, select

from engine.config import load_config, save_overrides
from engine.indicators import bollinger, frame, sma
from engine.runtime import Engine
from engine.store import SignalRecord
from engine.strategies import STRATEGIES


def strategy_rows(engine: Engine) -> list[dict]:
    """Every symbol of every venue's safe list: strategy, tier, state, last signal, position and PnL, counts."""
    counts = signal_counts(engine.db)
    rows = []
    for tr in engine.traders:
        snap = tr.snapshot
        for symbol, sc in engine.config.symbols.get(tr.name, {}).items():
            pos = snap.position(symbol)
            view = snap.view(symbol)
            sig = snap.signals.get(symbol)
            exits = snap.exits.get(symbol)
            if not sc.enabled:
                state = "disabled"
            elif sc.strategy == "market_making":
                state = "quoting" if any(o.symbol == symbol for o in snap.orders) else "idle"
            elif exits:
                state = "in position"
            elif sig is not None and sig.reasoning.startswith(("insufficient data", "waiting")):
                state = sig.reasoning.split(":")[0].split(" (")[0]
            else:
                state = "watching"
            c = counts.get((tr.name, symbol), {})
            rows.append({
                "exchange": tr.name, "symbol": symbol, "enabled": sc.enabled, "strategy": sc.strategy,
                "tier": sc.tier, "state": state,
                "last_signal": sig.type.value if sig else None,
                "confidence": sig.confidence if sig and sig.type.value != "HOLD" else None,
                "reasoning": sig.reasoning if sig else "",
                "position": pos.qty, "realized_pnl": pos.realized_pnl - pos.fees,
                "unrealized_pnl": pos.unrealized(view.mid) if view and pos.qty else 0.0,
                "stop_loss": exits[0] if exits else None, "take_profit": exits[1] if exits else None,
                "approved": c.get("approved", 0), "refused": c.get("refused", 0), "executed": c.get("executed", 0),
                "params": dict(sc.params),
            })
    return rows


def signal_counts(db: Any) -> dict[tuple[str, str], dict[str, int]]:
    """Signals per (exchange, symbol) and decision (seed 004 "Métricas por símbolo"), counted in SQL."""
    with Session(db) as s:
        rows = s.exec(select(SignalRecord.exchange, SignalRecord.symbol, SignalRecord.decision,
                             func.count(SignalRecord.id))
                      .group_by(SignalRecord.exchange, SignalRecord.symbol, SignalRecord.decision)).all()
    out: dict[tuple[str, str], dict[str, int]] = {}
    for exchange, symbol, decision, n in rows:
        out.setdefault((exchange, symbol), {})[decision] = n
    return out


def signal_history(db: Any, exchange: str | None = None, symbol: str | None = None, decision: str | None = None,
                   strategy: str | None = None, since_ms: int | None = None, limit: int = 200) -> list[dict]:
    """The newest signals first, filtered; at most ``limit``."""
    q = select(SignalRecord)
    for column, value in ((SignalRecord.exchange, exchange), (SignalRecord.symbol, symbol),
                          (SignalRecord.decision, decision), (SignalRecord.strategy, strategy)):
        if value:
            q = q.where(column == value)
    if since_ms is not None:
        q = q.where(SignalRecord.ts >= since_ms)
    with Session(db) as s:
        rows = s.exec(q.order_by(SignalRecord.ts.desc(), SignalRecord.id.desc()).limit(limit)).all()
    return [r.model_dump(exclude={"id"}) for r in rows]


def strategy_chart(engine: Engine, symbol: str, exchange: str | None = None) -> dict:
    """The price chart of a symbol: its candles, its strategy's indicators and its signals over the window."""
    tr = next((t for t in engine.traders if t.name == exchange), engine.traders[0])
    rows = tr.snapshot.candles.get(symbol) or tr.ex.fetch_ohlcv(symbol, "1m", limit=120)
    rows = list(rows)[-180:]
    strategy = tr.strategies.get(symbol)
    indicators: dict[str, list[float | None]] = {}
    if rows and strategy is not None:
        df = frame(rows)
        p = strategy.params
        if strategy.name == "momentum":
            indicators = {f"MA{p['ma_fast']}": sma(df["close"], int(p["ma_fast"])),
                          f"MA{p['ma_slow']}": sma(df["close"], int(p["ma_slow"]))}
        elif strategy.name == "mean_reversion":
            bands = bollinger(df["close"], int(p["bb_period"]), float(p["bb_std"]))
            indicators = {"upper band": bands["upper"], "mid band": bands["mid"], "lower band": bands["lower"]}
        elif strategy.name == "breakout":
            n = int(p["lookback"])
            indicators = {f"{n}-candle high": df["high"].rolling(n).max().shift(),
                          f"{n}-candle low": df["low"].rolling(n).min().shift()}
        indicators = {k: [None if pd.isna(x) else float(x) for x in v] for k, v in indicators.items()}
    since = int(rows[0][0]) if rows else engine.clock.now_ms() - 3 * 3_600_000
    signals = [s for s in signal_history(engine.db, tr.name, symbol, since_ms=since, limit=500)]
    return {"candles": rows, "indicators": indicators, "signals": signals}


def strategy_names() -> list[str]:
    """Every registered strategy."""
    return sorted(STRATEGIES)


def strategy_params(name: str) -> dict[str, Any]:
    """A strategy's params with their defaults (the form's fields)."""
    return dict(STRATEGIES[name].defaults)


def set_symbol_enabled(engine: Engine, exchange: str, symbol: str, enabled: bool) -> None:
    """Enable or disable ``symbol`` on ``exchange`` (saved to config.json and applied at once)."""
    _apply(engine, {"symbols": {exchange: {symbol: {"enabled": bool(enabled)}}}})


def set_strategy(engine: Engine, exchange: str, symbol: str, strategy: str, params: dict[str, Any]) -> None:
    """Give ``symbol`` a strategy and its params (only those that differ from the strategy's defaults are kept);
    validated first: a wrong param raises :class:`engine.config.ConfigError` and nothing is saved."""
    defaults = STRATEGIES[strategy].defaults if strategy in STRATEGIES else {}
    kept = {k: v for k, v in params.items() if k not in defaults or v != defaults[k]}
    _apply(engine, {"symbols": {exchange: {symbol: {"strategy": strategy, "params": kept}}}},
           replace=("symbols", exchange, symbol, "params"))


def _apply(engine: Engine, changes: dict, replace: tuple[str, ...] | None = None) -> None:
    cdir = engine.config.config_dir
    save_overrides(changes, cdir, replace=replace)
    engine.apply_config(load_config(cdir))
