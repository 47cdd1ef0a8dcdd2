"""The faulty simulated hour: ``python -m engine soak [--hours H] [--symbols N] [--seed S]``.

The whole engine (quoting, hygiene, risk, health, metrics, funding, universe jobs) runs on a SimClock against the
simulated exchange with its faults on: 10% request errors across every method (timeouts, network errors, the
venue unavailable; half the timed-out orders were in fact accepted), a per-minute request limit, a latency spike
(+900 ms for a minute), one full outage (every call fails with ExchangeNotAvailable, 5 minutes) and a flash crash.
Timed events sit at fixed shares of the run; in a run shorter than an hour they shrink with it (the outage to 15%
of the run but at least a minute, the spike to 20%), and so do the breakers' cooldowns and the volatility window,
so every breaker that opens can close again before the end. The network then heals for a tail, the engine stops,
and the invariants are checked (:func:`check`); any breach makes the exit code 1.
"""

from __future__ import annotations

import resource
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sqlmodel import Session, select

from engine.clock import SimClock
from engine.config import AppConfig, ConnectionSettings, SymbolConfig, load_config
from engine.exchanges import create_exchange
from engine.exchanges.sim.underlyings import LISTED_BASES, profile_of
from engine.execution.orders import ABSENCE_CONFIRM_MS
from engine.ledger import store_equity
from engine.runtime import Engine
from engine.store import Alert, CircuitBreakerEvent, OrderRecord, TradeRecord

BASE_SYMBOLS = ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
ERROR_RATE = 0.10
RATE_LIMIT_PER_MIN = 1_200
SPIKE_MS = 900.0


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def plan(run_s: float) -> dict[str, Any]:
    """The faults of a run of ``run_s`` seconds: the venue's ``faults`` and timed ``events``, and the scaled
    breaker settings."""
    outage_s = min(300.0, max(60.0, 0.15 * run_s))
    spike_s = min(60.0, 0.2 * run_s)
    cooldown_s = int(max(20, min(300, 0.04 * run_s)))
    events = [
        {"type": "latency_spike", "after_s": 0.10 * run_s, "duration_s": spike_s, "ms": SPIKE_MS},
        {"type": "outage", "after_s": 0.35 * run_s, "duration_s": outage_s},
        {"type": "flash_crash", "symbol": "BTC/USDT", "after_s": 0.65 * run_s, "pct": 8.0,
         "duration_s": min(60.0, 0.05 * run_s)},
    ]
    faults = {"error_rates": {"*": ERROR_RATE}, "timeout_after_accept": 0.5,
              "error_types": ["RequestTimeout", "NetworkError", "ExchangeNotAvailable"],
              "rate_limit_per_minute": RATE_LIMIT_PER_MIN}
    return {"events": events, "faults": faults, "cooldown_s": cooldown_s, "outage": (0.35 * run_s, outage_s),
            "volatility_window_min": max(2, min(60, round(run_s / 60 / 6)))}


def soak_config(base: AppConfig, symbols: list[str], cooldown_s: float, window_min: int) -> AppConfig:
    """``base`` trading ``symbols`` on the simulated venue in AGGRESSIVE (five levels), the breakers' cooldowns
    scaled, the error-rate breaker at 50% (the background 10% is weather; the outage must trip it), and a request
    budget of 90% of the venue's limit."""
    risk = base.risk
    breakers = {name: replace(b, cooldown_s=cooldown_s) for name, b in risk.breakers.items()}
    breakers["error_rate"] = replace(breakers["error_rate"], threshold=0.5)
    risk = replace(risk, breakers=breakers, volatility_window_min=window_min)
    table = {s: SymbolConfig(tier="STABLE" if s in BASE_SYMBOLS else "VOLATILE") for s in symbols}
    budget = ConnectionSettings(requests_per_min=int(RATE_LIMIT_PER_MIN * 0.9))  # the engine keeps under the limit
    return replace(base, engine=replace(base.engine, exchange="sim", venues=()), symbols={"sim": table}, risk=risk,
                   strategy=replace(base.strategy, risk_mode="AGGRESSIVE"),
                   connections={**base.connections, "sim": budget})


def run_soak(hours: float = 1.0, n_symbols: int = 3, seed: int = 7, config: AppConfig | None = None,
             workdir: str | None = None) -> dict[str, Any]:
    """Run the drill and return its report: figures and the invariants checked."""
    run_s = hours * 3600
    p = plan(run_s)
    extra = [f"{b}/USDT" for b in LISTED_BASES if f"{b}/USDT" not in BASE_SYMBOLS]
    symbols = (BASE_SYMBOLS + extra)[:max(1, n_symbols)]
    balances = {"USDT": 100_000.0, **{s.split("/")[0]: round(2_000 / profile_of(s.split("/")[0]).price, 6)
                                      for s in symbols}}
    own_tmp = tempfile.TemporaryDirectory() if workdir is None else None
    folder = Path(workdir or own_tmp.name)
    folder.mkdir(parents=True, exist_ok=True)
    sim = {"seed": seed, "markets": symbols, "balances": balances, "faults": p["faults"], "events": p["events"],
           "state_path": str(folder / "soak_state.sqlite")}
    cfg = soak_config(config or load_config(env={}), symbols, p["cooldown_s"], p["volatility_window_min"])
    clock = SimClock()
    venue = create_exchange("sim", sim, clock=clock)
    db_path = folder / "soak.db"
    t_wall = time.perf_counter()
    engine = Engine(cfg, exchange=venue, clock=clock, db_url=f"sqlite:///{db_path}")
    t0 = clock.now_ms()
    engine.start(schedule=False)
    watch = Watch(venue)
    engine.run_simulated(run_s, on_cycle=watch)
    injected = dict(venue._faults.injected) if venue._faults is not None else {}
    venue.heal_network()
    tail_s = max(p["cooldown_s"] * 2 + 60, p["volatility_window_min"] * 60 + p["cooldown_s"] + 30)
    engine.run_simulated(tail_s, on_cycle=watch)  # breakers close, the store reconciles with a quiet venue
    with engine.work:  # quoting held (orders left resting) a minute: the request budget refills, and no order is
        for t in engine.traders:  # young enough to be unlisted yet; then the store is compared with the venue
            t.quoting_enabled = False
        clock.advance(60 + ABSENCE_CONFIRM_MS / 1000)
        for t in engine.traders:
            t.reconcile()
            t.poll_fills(force=True)
            t.flush()
    before_stop = orphans(engine, venue)
    summary = engine.stop()
    wall = time.perf_counter() - t_wall
    checks = check(engine, venue, watch, before_stop, t0, p)
    report = {
        "simulated_minutes": round((run_s + tail_s) / 60, 1), "symbols": symbols, "seed": seed,
        "wall_seconds": round(wall, 1), "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "store_mb": round(_bytes(db_path) / 1e6, 2), "orders_placed": summary["orders_placed"],
        "fills": summary["fills"], "faults_injected": injected, "breakers": breaker_counts(engine),
        "checks": [{"name": c.name, "ok": c.ok, "detail": c.detail} for c in checks],
        "ok": all(c.ok for c in checks),
    }
    if own_tmp is not None:
        engine.db.dispose()
        own_tmp.cleanup()
    return report


class Watch:
    """Called every cycle: no two of our live orders in one ladder slot, and every order the venue received, by its
    client id (the venue's order ids are sequential, so each cycle looks only at the new ones)."""

    def __init__(self, venue: Any) -> None:
        self.venue = venue
        self.next_id = venue._next_order
        self.by_client: Counter[str] = Counter()
        self.overlaps: list[tuple[str, str, int]] = []

    def __call__(self, engine: Engine) -> None:
        for t in engine.traders:
            slots = Counter((o.symbol, o.side, o.level) for o in t.orders.values() if o.level >= 0)
            self.overlaps.extend(k for k, n in slots.items() if n > 1)
        v = self.venue
        for n in range(self.next_id, v._next_order):
            o = v._orders.get(str(n))
            if o is not None and o.client_id:
                self.by_client[o.client_id] += 1
        self.next_id = v._next_order


def orphans(engine: Engine, venue: Any) -> tuple[set[str], set[str]]:
    """Our orders open on the venue but not live in the store, and live in the store but not open on the venue."""
    t = engine.trader
    on_venue = {o["clientOrderId"] for o in venue.fetch_open_orders() if t.ours(o.get("clientOrderId"))}
    with Session(engine.db) as s:
        stored = set(s.exec(select(OrderRecord.client_order_id).where(
            OrderRecord.exchange == t.name, OrderRecord.status.in_(("open", "pending", "unknown")))).all())
    return on_venue - stored, stored - on_venue


def check(engine: Engine, venue: Any, watch: Watch, before_stop: tuple[set[str], set[str]], t0: int,
          p: dict[str, Any]) -> list[Check]:
    """The invariants, each as a named check with what it found."""
    out = []
    crashes = dict(engine.job_crashes)
    out.append(Check("no crashed jobs", not crashes, f"crashes: {crashes or 0}; transient job errors: "
                     f"{sum(engine.job_errors.values())} (retried)"))
    dup = {c: n for c, n in watch.by_client.items() if n > 1}
    out.append(Check("no duplicate client ids", not dup, f"{len(watch.by_client)} orders sent, "
                     f"{len(dup)} client ids twice"))
    out.append(Check("no duplicate intent", not watch.overlaps, f"{len(watch.overlaps)} times two live orders "
                     "held one ladder slot"))
    venue_only, store_only = before_stop
    out.append(Check("no orphan orders", not venue_only and not store_only,
                     f"before stop: {len(venue_only)} on the venue only, {len(store_only)} in the store only"))
    left = [o for o in venue.fetch_open_orders() if engine.trader.ours(o.get("clientOrderId"))]
    out.append(Check("nothing left open after stop", not left, f"{len(left)} of ours open on the venue"))
    venue_trades = {str(tr["id"]): tr for tr in venue._my_trades}
    with Session(engine.db) as s:
        stored = {tr.trade_id: tr for tr in s.exec(select(TradeRecord).where(TradeRecord.exchange == "sim")).all()}
        out.append(Check("fills identical by trade id", set(venue_trades) == set(stored),
                         f"venue {len(venue_trades)}, store {len(stored)}, venue only "
                         f"{len(set(venue_trades) - set(stored))}, store only {len(set(stored) - set(venue_trades))}"))
        summary = venue.account_summary()
        marks = {c: m for c, m in venue._asset_marks().items()}
        start = dict(venue.sim_config.balances)
        eq_store = store_equity(s, "sim", start, marks, set())
        alerts = s.exec(select(Alert).where(Alert.kind == "exchange disconnected")).all()
    net: Counter[str] = Counter()
    for tr in stored.values():
        net[tr.symbol.split("/")[0]] += tr.amount if tr.side == "buy" else -tr.amount
    balance = venue.fetch_balance()
    off = {b: round(balance.get(b, {}).get("total", 0.0) - start.get(b, 0.0) - q, 9) for b, q in net.items()}
    off = {b: d for b, d in off.items() if abs(d) > 1e-9}
    ledger = {s.split("/")[0]: p.qty for s, p in engine.trader.ledger.positions.items()}
    pos_off = {b: (ledger.get(b, 0.0), q) for b, q in net.items() if abs(ledger.get(b, 0.0) - q) > 1e-9}
    out.append(Check("positions and balances equal", not off and not pos_off,
                     f"venue balance change vs stored fills off in {off or 'none'}; ledger vs fills off in "
                     f"{pos_off or 'none'}"))
    gap = summary["equity"] - (summary["startEquity"] + summary["realizedPnl"] + summary["unrealizedPnl"]
                               - summary["fees"] + summary["funding"])
    out.append(Check("equity identity to the cent", abs(gap) < 0.01 and abs(eq_store - summary["equity"]) < 0.01,
                     f"venue identity gap {gap:+.4f}; store equity {eq_store:,.2f} vs venue {summary['equity']:,.2f}"))
    counts = breaker_counts(engine)
    want = ["latency", "error_rate", "volatility"]
    bad = [b for b in want if counts.get(b, {}).get("open", 0) < 1 or counts[b].get("closed", 0) < 1]
    out.append(Check("breakers fired and closed again", not bad,
                     "; ".join(f"{b}: opened {counts.get(b, {}).get('open', 0)}, closed "
                               f"{counts.get(b, {}).get('closed', 0)}" for b in want)))
    start_s, length = p["outage"]
    lo, hi = t0 + start_s * 1000, t0 + (start_s + length) * 1000
    during = [a for a in alerts if lo <= a.ts <= hi + 60_000]
    out.append(Check("the outage alerted once", len(during) == 1, f"{len(during)} 'exchange disconnected' alerts in "
                     f"the outage; {len(alerts)} in the whole run"))
    return out


def breaker_counts(engine: Engine) -> dict[str, dict[str, int]]:
    with Session(engine.db) as s:
        rows = s.exec(select(CircuitBreakerEvent.breaker, CircuitBreakerEvent.state)).all()
    out: dict[str, dict[str, int]] = {}
    for breaker, state in rows:
        out.setdefault(breaker, {}).setdefault(state, 0)
        out[breaker][state] += 1
    return out


def render(report: dict[str, Any]) -> str:
    """The report as an operator reads it: the figures, then each invariant with PASS or FAIL."""
    lines = [f"soak: {report['simulated_minutes']} simulated minutes, {', '.join(report['symbols'])}, seed "
             f"{report['seed']}: {report['wall_seconds']} s wall, peak RSS {report['peak_rss_mb']} MB, store "
             f"{report['store_mb']} MB",
             f"orders placed {report['orders_placed']:,}, fills {report['fills']:,}; faults injected: "
             + ", ".join(f"{k} {v:,}" for k, v in sorted(report["faults_injected"].items())),
             "breakers: " + ", ".join(f"{b} {c}" for b, c in sorted(report["breakers"].items()))]
    lines += [f"{'PASS' if c['ok'] else 'FAIL'}  {c['name']}: {c['detail']}" for c in report["checks"]]
    lines.append("all invariants hold" if report["ok"] else "INVARIANTS BREACHED")
    return "\n".join(lines)


def _bytes(db: Path) -> int:
    return sum(f.stat().st_size for f in (db, Path(f"{db}-wal")) if f.exists())
