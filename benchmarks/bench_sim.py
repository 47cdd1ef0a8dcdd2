"""Simulated venue speed, on one core: replay throughput, synthetic steps, order round trips.

Run: python benchmarks/bench_sim.py     (needs ../shared/data beside the checkout for the replay line)
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

from engine.clock import SimClock
from engine.exchanges import create_exchange
from engine.exchanges.sim.replay import BinanceReplaySource

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "binance-l2" / "spot"


class _Sink:
    def on_trade(self, *args: object) -> None: ...

    def on_book(self, *args: object) -> None: ...

    def on_top(self, *args: object) -> None: ...


def replay_throughput(repeats: int = 3) -> None:
    files = [str(DATA / "btcusdt_20240808.gz"), str(DATA / "btcusdt_20240809.gz")]
    if not all(Path(f).is_file() for f in files):
        print("replay: skipped, ../shared/data/binance-l2/spot is absent")
        return
    rates, secs = [], []
    for _ in range(repeats):
        t = time.perf_counter()
        src = BinanceReplaySource(files)
        src.advance(2**62, _Sink())
        dt = time.perf_counter() - t
        n = src.stats()["BTC/USDT"].messages
        rates.append(n / dt)
        secs.append(dt)
    print(f"replay of BTCUSDT spot capture ({n:,} messages, 11 min): best {min(secs):.2f} s, "
          f"{max(rates):,.0f} messages/s (median {statistics.median(rates):,.0f})")
    venue = create_exchange("sim", {"source": {"type": "replay", "files": files}})
    t = time.perf_counter()
    venue.clock.advance(12 * 60)
    venue.fetch_time()
    dt = time.perf_counter() - t
    print(f"same capture through the venue (matching sink): {dt:.2f} s, {n / dt:,.0f} messages/s")


def synthetic_steps(seconds: int = 600) -> None:
    clock = SimClock()
    venue = create_exchange("sim", {"seed": 1}, clock=clock)
    steps = seconds * 1000 // venue.sim_config.step_ms
    t = time.perf_counter()
    clock.advance(seconds)
    venue.fetch_time()
    dt = time.perf_counter() - t
    print(f"synthetic market, 6 markets, {venue.sim_config.step_ms} ms steps: {steps / dt:,.0f} steps/s "
          f"({seconds / dt:,.0f}x real time)")


def round_trips(n: int = 50_000) -> None:
    venue = create_exchange("sim", {"seed": 1}, clock=SimClock())
    price = venue.fetch_order_book("BTC/USDT")["bids"][10][0]
    t = time.perf_counter()
    for i in range(n):
        o = venue.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": f"b{i}"})
        venue.cancel_order(o["id"], "BTC/USDT")
    dt = time.perf_counter() - t
    print(f"create_order + cancel_order round trips (no latency configured): {n / dt:,.0f}/s")


if __name__ == "__main__":
    replay_throughput()
    synthetic_steps()
    round_trips()
