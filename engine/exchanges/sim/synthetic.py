"""The synthetic market: seeded, reproducible, realistic enough to market-make against.

Per underlying (BTC, ETH, SOL, ...) a log-price follows a random walk with one common factor (so symbols
move with some correlation), two volatility regimes (calm / stressed, Markov switching), and rare jumps.
Perpetuals follow their underlying with a small mean-reverting basis. Each market keeps a persistent
L2 book on a price grid (levels keep their queue from step to step): when the mid moves through levels
they are traded (prints) or pulled; taker orders arrive as a Poisson process and walk the book; depleted
levels refill, with random adds and cancels. Scripted events bend the path: a flash crash drags the
mid down, a spread blow-out pulls liquidity away from the mid.
"""

from __future__ import annotations

import math
import random

from engine.exchanges.sim.book import L2Book
from engine.exchanges.sim.config import ScriptedEvent
from engine.exchanges.sim.markets import MarketSpec
from engine.exchanges.sim.source import MarketSink
from engine.exchanges.sim.underlyings import (  # noqa: F401 - re-exported
    DEFAULT_PROFILE,
    PROFILES,
    Profile,
    generic_profile,
    profile_of,
)

YEAR_MS = 365 * 24 * 3600 * 1000
MINUTE_MS = 60_000
LEVELS = 25  # levels kept per side (the venue shows at least 20)
TOP_LEVELS = 5  # levels refreshed on every step


STRESS_VOL_MULT = 2.5
STRESS_SPREAD_MULT = 3.0
CALM_MEAN_S = 1800.0  # mean time in the calm regime
STRESS_MEAN_S = 300.0  # mean time in the stressed regime
JUMPS_PER_DAY = 3.0
JUMP_SD = 0.006
BASIS_SD = 0.0002
BASIS_REVERT_S = 600.0


class BookSim:
    """One market's synthetic book on a persistent price grid."""

    def __init__(self, spec: MarketSpec, profile: Profile, rng: random.Random) -> None:
        self.spec = spec
        self.profile = profile
        self.rng = rng
        self.book = L2Book()
        self.mid = 0.0
        self.steps = 0
        self.lot = spec.lot
        self.amount_decimals = spec.amount_decimals

    def step(self, ts_ms: int, mid: float, dt_s: float, spread_mult: float, extra_half_bps: float,
             sink: MarketSink) -> None:
        """Move the book to a new ``mid`` over ``dt_s`` seconds, printing trades into ``sink``."""
        spec, p, rng, book = self.spec, self.profile, self.rng, self.book
        tick = spec.tick
        self.mid = mid
        half = mid * (p.half_spread_bps * spread_mult + extra_half_bps) / 1e4
        bid_target = math.floor((mid - half) / tick)
        ask_target = math.ceil((mid + half) / tick)
        if ask_target <= bid_target:
            ask_target = bid_target + 1
        mid_tick = mid / tick
        # Levels the mid moved through were traded (mostly); levels inside the new spread were pulled.
        for t, q in book.remove_better_than(True, bid_target):
            if t >= mid_tick:
                self._print(sink, ts_ms, t, q * rng.uniform(0.3, 1.0), False)
        for t, q in book.remove_better_than(False, ask_target):
            if t <= mid_tick:
                self._print(sink, ts_ms, t, q * rng.uniform(0.3, 1.0), True)
        # Taker orders walk the book.
        n = _poisson(rng, p.taker_rate * dt_s)
        for _ in range(n):
            buy = rng.random() < 0.5
            qty = self._lots(p.taker_usd * rng.lognormvariate(-0.5, 1.0) / mid)
            for t, q in book.take(not buy, qty):
                self._print(sink, ts_ms, t, q, buy)
        self.steps += 1
        # The top of the book is refreshed every step, the deep levels about once a second.
        deep = self.steps % max(1, round(1.0 / dt_s)) == 0 if dt_s < 1.0 else True
        self._refill(bid_target, ask_target, dt_s, LEVELS if deep else TOP_LEVELS)
        book.ts_ms = ts_ms
        sink.on_book(spec.symbol, ts_ms)

    def reset(self, mid: float) -> None:
        """Lay a fresh book around ``mid``."""
        self.book.clear()
        self.mid = mid
        half = mid * self.profile.half_spread_bps / 1e4
        bid = math.floor((mid - half) / self.spec.tick)
        ask = max(bid + 1, math.ceil((mid + half) / self.spec.tick))
        self._refill(bid, ask, 1e9, LEVELS)

    def _grid(self, best: int, is_bid: bool, n: int) -> list[int]:
        spacing = max(1, round(self.mid * self.profile.level_bps / 1e4 / self.spec.tick))
        if is_bid:
            g = (best // spacing) * spacing
            if g == best:
                g -= spacing
            return [best] + [g - k * spacing for k in range(n - 1)]
        g = -((-best) // spacing) * spacing
        if g == best:
            g += spacing
        return [best] + [g + k * spacing for k in range(n - 1)]

    def _refill(self, bid_target: int, ask_target: int, dt_s: float, n: int) -> None:
        rng, book = self.rng, self.book
        top_qty = self.profile.top_usd / max(self.mid, 1e-12)
        refill = min(1.0, dt_s / 2.0)  # depleted levels recover in about two seconds
        churn = min(1.0, dt_s * 0.5)
        for is_bid, target in ((True, bid_target), (False, ask_target)):
            levels = book.bids if is_bid else book.asks
            for k, t in enumerate(self._grid(target, is_bid, n)):
                want = top_qty * (1.0 + 0.35 * k)
                have = levels.get(t)
                if have is None:
                    q = want * rng.lognormvariate(-0.08, 0.4)
                else:
                    q = have + (want - have) * refill * rng.random()
                    if rng.random() < churn:  # someone cancels part of their order
                        q *= rng.uniform(0.5, 1.0)
                book.set(is_bid, t, self._lots(q))
            if n == LEVELS:
                book.remove_worse_than(is_bid, LEVELS + 5)

    def _lots(self, qty: float) -> float:
        lot = self.lot
        return round(max(1, round(qty / lot)) * lot, self.amount_decimals)

    def _print(self, sink: MarketSink, ts_ms: int, tick: int, qty: float, buy: bool) -> None:
        qty = self._lots(qty)
        sink.on_trade(self.spec.symbol, ts_ms, tick, qty, buy)


class SyntheticSource:
    """The default market source: a seeded random market for every configured symbol."""

    def __init__(self, specs: dict[str, MarketSpec], seed: int, step_ms: int, start_ms: int,
                 warmup_minutes: int = 120, events: tuple[ScriptedEvent, ...] = ()) -> None:
        self.specs = specs
        self.symbols = list(specs)
        self.step_ms = step_ms
        self.rng = random.Random(seed)
        self.events = events
        self.underlyings = sorted({s.base for s in specs.values()})
        self.profiles = {u: profile_of(u) for u in self.underlyings}
        self.log_mid = {u: math.log(self.profiles[u].price * self.rng.uniform(0.97, 1.03)) for u in self.underlyings}
        self.stressed = {u: False for u in self.underlyings}
        self.basis = {s: 0.0 for s in self.symbols}
        self.sims = {s: BookSim(spec, self.profiles[spec.base], self.rng) for s, spec in specs.items()}
        self.now_ms = start_ms
        self._history: dict[str, list[list[float]]] = {}
        if warmup_minutes:
            self._warm_up(warmup_minutes)
        for s in self.symbols:
            self.sims[s].reset(self._mid(s))

    # -- MarketSource -------------------------------------------------------------------------
    def start_ms(self) -> int | None:
        return None

    def book(self, symbol: str) -> L2Book:
        return self.sims[symbol].book

    def best(self, symbol: str) -> tuple[int | None, float, int | None, float]:
        return self.sims[symbol].book.top()

    def history(self) -> dict[str, list[list[float]]]:
        return self._history

    def advance(self, until_ms: int, sink: MarketSink, max_catchup_ms: int | None = None) -> None:
        """Step the market to ``until_ms``; a gap longer than ``max_catchup_ms`` is jumped, not simulated."""
        if max_catchup_ms is not None and until_ms - self.now_ms > max_catchup_ms:
            self.now_ms = until_ms - max_catchup_ms
        step = self.step_ms
        while self.now_ms + step <= until_ms:
            self.now_ms += step
            self.step(self.now_ms, step / 1000.0, sink)

    def step(self, ts_ms: int, dt_s: float, sink: MarketSink) -> None:
        """One step of every underlying and every book."""
        self._move_underlyings(ts_ms, dt_s)
        rng = self.rng
        revert = min(1.0, dt_s / BASIS_REVERT_S)
        for s, sim in self.sims.items():
            spec = sim.spec
            if spec.contract:
                b = self.basis[s]
                self.basis[s] = b - b * revert + BASIS_SD * math.sqrt(2 * revert) * rng.gauss(0.0, 1.0)
            spread_mult = STRESS_SPREAD_MULT if self.stressed[spec.base] else 1.0
            sim.step(ts_ms, self._mid(s), dt_s, spread_mult, self._blowout_half_bps(s, ts_ms), sink)

    def state(self) -> dict:
        return {
            "now_ms": self.now_ms,
            "log_mid": self.log_mid,
            "stressed": self.stressed,
            "basis": self.basis,
        }

    def restore(self, state: dict) -> None:
        self.log_mid.update({k: float(v) for k, v in state.get("log_mid", {}).items() if k in self.log_mid})
        self.stressed.update({k: bool(v) for k, v in state.get("stressed", {}).items() if k in self.stressed})
        self.basis.update({k: float(v) for k, v in state.get("basis", {}).items() if k in self.basis})
        for s in self.symbols:
            self.sims[s].reset(self._mid(s))

    def set_now(self, ms: int) -> None:
        self.now_ms = ms

    # -- the price process --------------------------------------------------------------------
    def _mid(self, symbol: str) -> float:
        spec = self.specs[symbol]
        return math.exp(self.log_mid[spec.base]) * (1.0 + self.basis[symbol])

    def _move_underlyings(self, ts_ms: int, dt_s: float) -> None:
        rng = self.rng
        dt_y = dt_s * 1000.0 / YEAR_MS
        common = rng.gauss(0.0, 1.0)
        for u in self.underlyings:
            p = self.profiles[u]
            if self.stressed[u]:
                if rng.random() < dt_s / STRESS_MEAN_S:
                    self.stressed[u] = False
            elif rng.random() < dt_s / CALM_MEAN_S:
                self.stressed[u] = True
            sigma = p.vol * (STRESS_VOL_MULT if self.stressed[u] else 1.0)
            z = p.beta * common + math.sqrt(1.0 - p.beta * p.beta) * rng.gauss(0.0, 1.0)
            d = sigma * math.sqrt(dt_y) * z - 0.5 * sigma * sigma * dt_y
            if rng.random() < JUMPS_PER_DAY * dt_s / 86_400.0:
                d += rng.gauss(0.0, JUMP_SD)
            d += self._crash_drift(u, ts_ms, dt_s)
            self.log_mid[u] += d

    def _crash_drift(self, underlying: str, ts_ms: int, dt_s: float) -> float:
        d = 0.0
        for e in self.events:
            if e.type != "flash_crash" or e.at_ms is None:
                continue
            if self.specs.get(e.symbol) is None or self.specs[e.symbol].base != underlying:
                continue
            if e.at_ms < ts_ms <= e.at_ms + e.duration_s * 1000:
                d += math.log(1.0 - e.pct / 100.0) * dt_s / max(e.duration_s, dt_s)
        return d

    def _blowout_half_bps(self, symbol: str, ts_ms: int) -> float:
        extra = 0.0
        for e in self.events:
            if e.type == "spread_blowout" and e.symbol == symbol and e.at_ms is not None:
                if e.at_ms <= ts_ms < e.at_ms + e.duration_s * 1000:
                    extra = max(extra, e.bps / 2.0)
        return extra

    def _warm_up(self, minutes: int) -> None:
        """Walk the price process back over ``minutes`` to give the venue a candle history."""
        start = (self.now_ms // MINUTE_MS - minutes) * MINUTE_MS
        # Run forward from a random earlier state; the path then ends at the live starting mid.
        candles: dict[str, list[list[float]]] = {s: [] for s in self.symbols}
        rng = self.rng
        for m in range(minutes):
            ts = start + m * MINUTE_MS
            o = {s: self._mid(s) for s in self.symbols}
            hi, lo = dict(o), dict(o)
            for _ in range(12):  # 5-second steps
                self._move_underlyings(ts, 5.0)
                for s in self.symbols:
                    x = self._mid(s)
                    hi[s] = max(hi[s], x)
                    lo[s] = min(lo[s], x)
            for s, spec in self.specs.items():
                c = self._mid(s)
                p = self.profiles[spec.base]
                vol = p.taker_rate * 60 * p.taker_usd / c * rng.lognormvariate(-0.1, 0.45)
                candles[s].append([ts, _r(o[s], spec.tick), _r(hi[s], spec.tick), _r(lo[s], spec.tick),
                                   _r(c, spec.tick), round(vol, spec.amount_decimals)])
        self._history = candles


def _r(x: float, tick: float) -> float:
    decimals = MarketSpec("", "", "", tick, 1, 1, 1).price_decimals
    return round(round(x / tick) * tick, decimals)


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 30:
        return max(0, int(round(rng.gauss(lam, math.sqrt(lam)))))
    limit, k, prod = math.exp(-lam), 0, rng.random()
    while prod > limit:
        k += 1
        prod *= rng.random()
    return k
