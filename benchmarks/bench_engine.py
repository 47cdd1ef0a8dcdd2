"""Engine speed and memory, on one core: quoting cycle for 1/10/40 symbols, backtest speed, an hour's footprint.

Run: PYTHONPATH=. python benchmarks/bench_engine.py [--hour-only | --universe-hour | --no-hour]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from engine.backtest import run_backtest
from engine.clock import SimClock
from engine.config import SymbolConfig, load_config
from engine.exchanges import create_exchange
from engine.exchanges.sim.synthetic import PROFILES, generic_profile
from engine.runtime import Engine
from engine.store import make_engine
from engine.trader import Trader

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance-l2" / "spot"
BASE = ["BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"]


def symbols(n: int) -> list[str]:
    return (BASE + [f"ALT{i:02d}/USDT" for i in range(1, 60)])[:n]


def quote_cycle(n: int, cycles: int = 300) -> None:
    syms = symbols(n)
    cfg = load_config(env={})
    cfg = replace(cfg, symbols={"sim": {s: SymbolConfig(leverage=5 if ":" in s else 1) for s in syms}},
                  strategy=replace(cfg.strategy, risk_mode="AGGRESSIVE"))
    clock = SimClock()
    balances = {"USDT": 10_000_000.0}
    for s in syms:  # about $100k of every base, so both sides can quote
        base = s.split("/")[0]
        price = (PROFILES.get(base) or generic_profile(base)).price
        balances[base] = round(100_000 / price, 2)
    venue = create_exchange("sim", {"markets": syms, "balances": balances, "seed": 1}, clock=clock)
    with tempfile.TemporaryDirectory() as tmp:
        trader = Trader(cfg, venue, clock, make_engine(f"sqlite:///{tmp}/bench.db"))
        trader.startup()
        times = []
        for i in range(cycles + 20):
            clock.advance(0.25)
            venue.fetch_time()  # the venue simulates its market first: not the engine's time
            t = time.perf_counter()
            trader.quote_cycle()
            if i >= 20:
                times.append((time.perf_counter() - t) * 1000)
    times.sort()
    med, p95 = statistics.median(times), times[int(len(times) * 0.95)]
    print(f"quoting cycle, {n:2d} symbols x 5 levels x 2 sides (AGGRESSIVE): median {med:6.2f} ms, "
          f"p95 {p95:6.2f} ms ({med / 250 * 100:.1f}% of a core at 250 ms)")


def backtest() -> None:
    files = [str(DATA / "btcusdt_20240808.gz"), str(DATA / "btcusdt_20240809.gz")]
    if not all(Path(f).is_file() for f in files):
        print("backtest: skipped, ../shared/data is absent")
        return
    s = run_backtest(files)
    print(f"backtest of the BTCUSDT spot capture ({s['simulated_seconds']:.0f} s simulated, quoting every "
          f"{s['quote_interval_ms']} ms): {s['wall_seconds']:.2f} s wall, {s['speed_x_real_time']:.0f}x real time, "
          f"{s['cycles']} cycles, {s['fills']} fills")


def one_hour(universe: bool = False) -> None:
    """One simulated hour of the default config; ``universe``: the symbol universe on, 40 symbols of 66 markets."""
    cfg = load_config(env={})
    sim: dict = {"seed": 3}
    if universe:
        cfg = replace(cfg, symbol_universe=replace(cfg.symbol_universe, enabled=True))
        sim["more_markets"] = 60
    clock = SimClock()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "hour.db"
        venue = create_exchange("sim", {**sim, "state_path": f"{tmp}/sim_state.sqlite"}, clock=clock)
        engine = Engine(cfg, exchange=venue, clock=clock, db_url=f"sqlite:///{db}")
        engine.start(schedule=False)
        size0 = _db_bytes(db)
        t = time.perf_counter()
        engine.run_simulated(3600)  # one simulated hour at the default cadences, every job
        wall = time.perf_counter() - t
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        grew = (_db_bytes(db) - size0) / 1e6
        quoted = len(engine.trader.symbols)
        summary = engine.stop()
    what = f"universe on, {quoted} of {len(venue.markets)} markets" if universe else "3 symbols"
    print(f"one simulated hour headless ({what}, CONSERVATIVE): {wall:.0f} s wall, peak RSS {rss_mb:.0f} MB, "
          f"database +{grew:.1f} MB/hour ({summary['fills']} fills, {summary['orders_placed']} orders), quoting "
          f"cycle median {summary['quote_cycle_ms_median']:.1f} ms")


def _db_bytes(db: Path) -> int:
    return sum(os.path.getsize(p) for p in (db, Path(f"{db}-wal")) if p.exists())


def risk_cycle(n_symbols: int = 40, n_exchanges: int = 3, runs: int = 60) -> None:
    """One risk cycle over ``n_symbols`` symbols on each of ``n_exchanges`` simulated exchanges."""
    from engine.metering import MeteredExchange

    syms = symbols(n_symbols)
    cfg = load_config(env={})
    table = {s: SymbolConfig(leverage=5 if ":" in s else 1) for s in syms}
    names = ["sim"] + [f"sim-{i}" for i in range(2, n_exchanges + 1)]
    cfg = replace(cfg, symbols={name: table for name in names})
    balances = {"USDT": 10_000_000.0}
    for s in syms:
        base = s.split("/")[0]
        balances[base] = round(100_000 / (PROFILES.get(base) or generic_profile(base)).price, 2)
    clock = SimClock()
    venues = [create_exchange("sim", {"markets": syms, "balances": balances, "seed": i}, clock=clock)
              for i in range(n_exchanges)]
    with tempfile.TemporaryDirectory() as tmp:
        engine = Engine(cfg, exchange=venues[0], clock=clock, db_url=f"sqlite:///{tmp}/risk.db")
        traders = [engine.trader] + [Trader(cfg, MeteredExchange(v, clock), clock, engine.db, exchange_name=name)
                                     for v, name in zip(venues[1:], names[1:], strict=True)]
        engine.start(schedule=False)
        for t in traders[1:]:
            t.startup()
        engine.traders = traders  # the risk cycle reads every venue of the engine
        times = []
        for i in range(runs + 5):
            for _ in range(20):  # five seconds of quoting between risk runs, as live
                clock.advance(0.25)
                for v in venues:
                    v.fetch_time()
                for t in traders:
                    t.quote_cycle()
            t0 = time.perf_counter()
            engine.risk.run()
            if i >= 5:
                times.append((time.perf_counter() - t0) * 1000)
        engine.stop()
    times.sort()
    print(f"risk cycle, {n_symbols} symbols on each of {n_exchanges} exchanges: median {statistics.median(times):.2f} "
          f"ms, p95 {times[int(len(times) * 0.95)]:.2f} ms")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--hour-only", action="store_true")
    ap.add_argument("--no-hour", action="store_true")
    ap.add_argument("--risk-only", action="store_true")
    ap.add_argument("--universe-hour", action="store_true", help="one simulated hour with the symbol universe on")
    args = ap.parse_args()
    if args.universe_hour:
        one_hour(universe=True)
    elif args.hour_only:
        one_hour()
    elif args.risk_only:
        risk_cycle()
    else:
        risk_cycle()
        for n in (1, 10, 40):
            quote_cycle(n)
        backtest()
        if not args.no_hour:
            one_hour()
