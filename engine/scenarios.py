"""Rehearsals: named market scenarios that the brakes must catch, run through the whole engine on a SimClock.

``python -m engine backtest --scenario NAME`` prints which breakers and caps fired, when, and what was done.
With ``--data`` (one-minute candle files) the scenario runs on recorded prices instead of a scripted event, e.g.
the January 2022 sell-off in ``../shared/data/candles-1m/BTC-PERP_FTX-1m_2022-01.csv.gz``.
"""

from __future__ import annotations

import json
import tempfile
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from sqlmodel import Session, select

from engine.clock import SimClock, iso8601
from engine.config import AppConfig, SymbolConfig, load_config
from engine.exchanges import create_exchange
from engine.runtime import Engine
from engine.store import Alert, CircuitBreakerEvent


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    seconds: float
    expect: tuple[str, ...]  # breakers or caps that must fire
    sim: dict = field(default_factory=dict)
    config: dict = field(default_factory=dict)


SCENARIOS = {s.name: s for s in (
    Scenario("flash_crash", "BTC/USDT falls 10% in 60 s while the account holds 1 BTC", 400,
             ("volatility", "drawdown"),
             sim={"balances": {"USDT": 100_000, "BTC": 1.0, "ETH": 1.0, "SOL": 20.0},
                  "events": [{"type": "flash_crash", "symbol": "BTC/USDT", "after_s": 120, "pct": 10,
                              "duration_s": 60}]}),
    Scenario("latency_spike", "every request takes 900 ms more for 60 s", 500, ("latency",),
             sim={"events": [{"type": "latency_spike", "after_s": 60, "duration_s": 60, "ms": 900}]}),
    Scenario("error_burst", "40% of requests fail with network errors for 60 s", 500, ("error_rate",),
             sim={"events": [{"type": "error_burst", "after_s": 60, "duration_s": 60, "rate": 0.4}]}),
    Scenario("spread_blowout", "ETH/USDT's spread blows out to 60 bps for 60 s", 500, ("spread",),
             sim={"events": [{"type": "spread_blowout", "symbol": "ETH/USDT", "after_s": 60, "duration_s": 60,
                              "bps": 60}]}),
    Scenario("inventory_runaway", "SOL/USDT slides 6% over 10 minutes: sellers keep hitting our bids, and the "
             "SOL position is capped at $400", 700, ("cap_symbol",),
             sim={"events": [{"type": "flash_crash", "symbol": "SOL/USDT", "after_s": 30, "pct": 6,
                              "duration_s": 600}]},
             config={"SOL/USDT": 400}),
)}


def run_scenario(name: str, data: list[str] | None = None, start: str | None = None, hours: float = 3.0,
                 config: AppConfig | None = None, quote_ms: int | None = None) -> dict:
    """Run one scenario (or recorded candles with ``data``) and report what fired and what was done."""
    if name not in SCENARIOS:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(SCENARIOS)}")
    sc = SCENARIOS[name]
    cfg = config or load_config(env={})
    t_wall = time.perf_counter()
    if data:
        if not start:
            raise ValueError("--start is needed with --data (e.g. 2022-01-21T19:30:00Z)")
        start_ms = int(datetime.fromisoformat(start.replace("Z", "+00:00")).astimezone(UTC).timestamp()
                       * 1000)
        clock = SimClock(start_ms)
        sim = {"source": {"type": "candles", "files": list(data)}, "step_ms": 1000, "balances": {"USDT": 100_000}}
        seconds, step_ms, expect = hours * 3600, quote_ms or 5_000, ("volatility",)
    else:
        clock = SimClock()
        sim, seconds, step_ms, expect = {"seed": 11, **sc.sim}, sc.seconds, quote_ms or 250, sc.expect
    venue = create_exchange("sim", sim, clock=clock)
    symbols = venue.symbols if data else cfg.active_symbols("sim")
    table = cfg.symbols.get("sim", {})
    limits = sc.config if not data else {}
    cfg = replace(cfg, engine=replace(cfg.engine, exchange="sim"), symbols={"sim": {
        s: replace(table.get(s, SymbolConfig(leverage=5 if ":" in s else 1)), enabled=True,
                   **({"max_position_size_usd": limits[s]} if s in limits else {})) for s in symbols}})
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(cfg, exchange=venue, clock=clock, db_url=f"sqlite:///{Path(tmp) / 'rehearsal.db'}")
        engine.start(schedule=False)
        t0 = clock.now_ms()
        engine.run_simulated(seconds, quote_ms=step_ms)
        engine.alerts.flush()
        with Session(engine.db) as s:
            events = list(s.exec(select(CircuitBreakerEvent).order_by(CircuitBreakerEvent.id)))
            alerts = list(s.exec(select(Alert).order_by(Alert.id)))
        final_state = engine.state
        summary = engine.stop()
    fired = sorted({e.breaker for e in events if e.state == "open"})
    timeline = [{
        "t": f"+{(e.ts - t0) / 1000:.0f}s", "at": iso8601(e.ts), "what": e.breaker, "state": e.state,
        "scope": f"{e.exchange or 'all'}{':' + e.symbol if e.symbol else ''}",
        "value": round(e.value, 4) if e.value is not None else None, "threshold": e.threshold, "action": e.action,
    } for e in events]
    return {
        "scenario": name, "description": sc.description if not data else f"recorded candles {', '.join(data)}",
        "simulated_seconds": seconds, "expected": list(expect), "fired": fired,
        "missing": [x for x in expect if x not in fired], "timeline": timeline,
        "alerts": [{"t": f"+{(a.ts - t0) / 1000:.0f}s", "level": a.level, "kind": a.kind, "message": a.message}
                   for a in alerts if a.status != "suppressed"],
        "final_state": final_state, "fills": summary["fills"], "wall_seconds": round(time.perf_counter() - t_wall, 2),
    }


def dumps(report: dict) -> str:
    return json.dumps(report, indent=2)
