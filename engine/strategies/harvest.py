"""Seed 000 ``pnl_harvest`` for the ladder market maker: take profit on inventory, and widen after a wick.

- **Harvest**: inventory whose unrealized gain exceeds ``harvest_bps`` of its entry price is offered back, the whole
  position, on the reducing side at the better of the top of the book (inside the spread, as a maker) and the
  entry price plus ``harvest_bps``; the price is held ``tp_requote_s`` seconds, then requoted.
- **Wick**: within ``wick_window_s``, the mid moving ``wick_bps`` or more away from where it was and coming back at
  least half way is a wick; spreads then widen by ``widen_on_wick_bps`` for ``wick_widen_s`` seconds.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from engine.quoting import MarketView, Quote

HARVEST_LEVEL = -3  # the take-profit order's slot (ladder levels are 0..n-1; directional exits are -2)
HARVEST_DEFAULTS = {"harvest_bps": 30.0, "tp_requote_s": 10.0, "widen_on_wick_bps": 10.0, "wick_bps": 30.0,
                    "wick_window_s": 60.0, "wick_widen_s": 120.0}


@dataclass(frozen=True)
class HarvestParams:
    harvest_bps: float = 30.0  # 0: no harvesting
    tp_requote_s: float = 10.0
    widen_on_wick_bps: float = 10.0  # 0: no widening
    wick_bps: float = 30.0
    wick_window_s: float = 60.0
    wick_widen_s: float = 120.0


def harvest_params(cfg: object) -> dict[str, float]:
    """The strategy params from the config's ``pnl_harvest`` section."""
    return {"harvest_bps": cfg.rebalance_inventory_threshold_bps, "tp_requote_s": cfg.tp_requote_sec,
            "widen_on_wick_bps": cfg.widen_on_wick_bps, "wick_bps": cfg.wick_threshold_bps,
            "wick_window_s": cfg.wick_window_sec, "wick_widen_s": cfg.wick_widen_sec}


class Harvester:
    """The take-profit quote of one symbol, its price held ``tp_requote_s`` between requotes."""

    def __init__(self, p: HarvestParams) -> None:
        self.p = p
        self._held: tuple[str, float, int] | None = None  # (side, price, when it was set)

    def quote(self, view: MarketView, position: float, entry: float, now_ms: int) -> Quote | None:
        p = self.p
        if p.harvest_bps <= 0 or not position or entry <= 0 or abs(position) < view.lot:
            self._held = None
            return None
        long = position > 0
        gain_bps = ((view.mid - entry) if long else (entry - view.mid)) / entry * 1e4
        if gain_bps < p.harvest_bps:
            self._held = None
            return None
        side = "sell" if long else "buy"
        held = self._held
        if held is None or held[0] != side or now_ms - held[2] >= p.tp_requote_s * 1000:
            floor = entry * (1 + p.harvest_bps / 1e4) if long else entry * (1 - p.harvest_bps / 1e4)
            if long:
                price = max(math.ceil(floor / view.tick - 1e-9) * view.tick, view.best_bid + view.tick)
            else:
                price = min(math.floor(floor / view.tick + 1e-9) * view.tick, view.best_ask - view.tick)
            self._held = held = (side, round(price, 12), now_ms)
        amount = math.floor(abs(position) / view.lot + 1e-9) * view.lot
        return Quote(side, HARVEST_LEVEL, held[1], round(amount, 12)) if amount > 0 else None


class WickWatch:
    """Mids over the wick window (the first, and the running high and low in monotonic queues: O(1) a cycle);
    :meth:`widen_bps` says how much to widen now."""

    def __init__(self, p: HarvestParams) -> None:
        self.p = p
        self._mids: deque[tuple[int, float]] = deque()
        self._highs: deque[tuple[int, float]] = deque()
        self._lows: deque[tuple[int, float]] = deque()
        self._until_ms = 0

    def _add(self, now_ms: int, mid: float) -> None:
        self._mids.append((now_ms, mid))
        while self._highs and self._highs[-1][1] <= mid:
            self._highs.pop()
        self._highs.append((now_ms, mid))
        while self._lows and self._lows[-1][1] >= mid:
            self._lows.pop()
        self._lows.append((now_ms, mid))
        cutoff = now_ms - self.p.wick_window_s * 1000
        for q in (self._mids, self._highs, self._lows):
            while q and q[0][0] < cutoff:
                q.popleft()

    def widen_bps(self, now_ms: int, mid: float) -> float:
        p = self.p
        if p.widen_on_wick_bps <= 0 or mid <= 0:
            return 0.0
        self._add(now_ms, mid)
        start, high, low = self._mids[0][1], self._highs[0][1], self._lows[0][1]
        up, down = (high - start) / start * 1e4, (start - low) / start * 1e4
        if (up >= p.wick_bps and (high - mid) >= (high - start) / 2) or \
                (down >= p.wick_bps and (mid - low) >= (start - low) / 2):
            self._until_ms = now_ms + int(p.wick_widen_s * 1000)
            for q in (self._mids, self._highs, self._lows):
                q.clear()
            self._add(now_ms, mid)
        return p.widen_on_wick_bps if now_ms < self._until_ms else 0.0
