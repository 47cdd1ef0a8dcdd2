"""A price-level order book keyed by integer ticks, so prices compare exactly.

Quantities are in the market's amount unit (base currency for spot, contracts for perpetuals).
"""

from __future__ import annotations

from bisect import bisect_left, insort


class L2Book:
    """Bids and asks as {tick: qty} with sorted tick lists (ascending on both sides)."""

    __slots__ = ("bids", "asks", "_bid_ticks", "_ask_ticks", "ts_ms", "nonce")

    def __init__(self) -> None:
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        self._bid_ticks: list[int] = []
        self._ask_ticks: list[int] = []
        self.ts_ms: int = 0
        self.nonce: int | None = None

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self._bid_ticks.clear()
        self._ask_ticks.clear()

    def set_bid(self, tick: int, qty: float) -> None:
        """Set the bid level at ``tick`` to ``qty``; ``qty <= 0`` removes it."""
        _set(self.bids, self._bid_ticks, tick, qty)

    def set_ask(self, tick: int, qty: float) -> None:
        """Set the ask level at ``tick`` to ``qty``; ``qty <= 0`` removes it."""
        _set(self.asks, self._ask_ticks, tick, qty)

    def set(self, is_bid: bool, tick: int, qty: float) -> None:
        if is_bid:
            _set(self.bids, self._bid_ticks, tick, qty)
        else:
            _set(self.asks, self._ask_ticks, tick, qty)

    def update(self, sides: list[int], ticks: list[int], qtys: list[float]) -> None:
        """Set many levels at once: ``sides[i]`` 1 for a bid, 0 for an ask; a qty of 0 removes the level. (:func:`_set`
        inlined: a replay sets ~300,000 levels, and the call per level was a tenth of its time.)"""
        bids, asks, bid_ticks, ask_ticks = self.bids, self.asks, self._bid_ticks, self._ask_ticks
        for side, t, q in zip(sides, ticks, qtys, strict=True):
            levels, sorted_ticks = (bids, bid_ticks) if side else (asks, ask_ticks)
            if q > 0:
                if t not in levels:
                    insort(sorted_ticks, t)
                levels[t] = q
            elif t in levels:
                del levels[t]
                del sorted_ticks[bisect_left(sorted_ticks, t)]

    def qty(self, is_bid: bool, tick: int) -> float:
        return (self.bids if is_bid else self.asks).get(tick, 0.0)

    def best_bid(self) -> int | None:
        return self._bid_ticks[-1] if self._bid_ticks else None

    def best_ask(self) -> int | None:
        return self._ask_ticks[0] if self._ask_ticks else None

    def top(self) -> tuple[int | None, float, int | None, float]:
        """(best bid tick, its qty, best ask tick, its qty); None ticks and 0 for an empty side."""
        bb, ba = self.best_bid(), self.best_ask()
        return bb, self.bids.get(bb, 0.0), ba, self.asks.get(ba, 0.0)

    def crossed(self) -> bool:
        bb, ba = self.best_bid(), self.best_ask()
        return bb is not None and ba is not None and bb >= ba

    def depth(self) -> tuple[int, int]:
        return len(self._bid_ticks), len(self._ask_ticks)

    def levels(self, is_bid: bool, n: int | None = None) -> list[tuple[int, float]]:
        """The best ``n`` levels of one side, best first."""
        if is_bid:
            ticks = self._bid_ticks[::-1] if n is None else self._bid_ticks[: -n - 1 : -1]
            return [(t, self.bids[t]) for t in ticks]
        ticks = self._ask_ticks if n is None else self._ask_ticks[:n]
        return [(t, self.asks[t]) for t in ticks]

    def ticks(self, is_bid: bool) -> list[int]:
        """The sorted (ascending) ticks of one side; do not modify."""
        return self._bid_ticks if is_bid else self._ask_ticks

    def remove_better_than(self, is_bid: bool, tick: int) -> list[tuple[int, float]]:
        """Drop bid levels above ``tick`` (or ask levels below it); returns them best first."""
        if is_bid:
            i = bisect_left(self._bid_ticks, tick + 1)
            gone = self._bid_ticks[i:][::-1]
            del self._bid_ticks[i:]
            return [(t, self.bids.pop(t)) for t in gone]
        i = bisect_left(self._ask_ticks, tick)
        gone = self._ask_ticks[:i]
        del self._ask_ticks[:i]
        return [(t, self.asks.pop(t)) for t in gone]

    def remove_worse_than(self, is_bid: bool, keep: int) -> None:
        """Keep only the best ``keep`` levels of one side."""
        ticks, levels = (self._bid_ticks, self.bids) if is_bid else (self._ask_ticks, self.asks)
        extra = len(ticks) - keep
        if extra <= 0:
            return
        if is_bid:
            gone = ticks[:extra]
            del ticks[:extra]
        else:
            gone = ticks[-extra:]
            del ticks[-extra:]
        for t in gone:
            del levels[t]

    def take(self, is_bid: bool, qty: float, limit_tick: int | None = None) -> list[tuple[int, float]]:
        """Consume up to ``qty`` from one side, best first, not past ``limit_tick``.

        Returns the (tick, qty) fills; consumed levels shrink or vanish.
        """
        fills: list[tuple[int, float]] = []
        ticks, levels = (self._bid_ticks, self.bids) if is_bid else (self._ask_ticks, self.asks)
        while qty > 1e-12 and ticks:
            t = ticks[-1] if is_bid else ticks[0]
            if limit_tick is not None and (t < limit_tick if is_bid else t > limit_tick):
                break
            avail = levels[t]
            if avail <= qty + 1e-12:
                fills.append((t, avail))
                qty -= avail
                del levels[t]
                if is_bid:
                    ticks.pop()
                else:
                    ticks.pop(0)
            else:
                fills.append((t, qty))
                levels[t] = avail - qty
                qty = 0.0
        return fills

    def snapshot(self) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """All levels as (bids best first, asks best first)."""
        return self.levels(True), self.levels(False)


def _set(levels: dict[int, float], ticks: list[int], tick: int, qty: float) -> None:
    if qty > 0:
        if tick not in levels:
            insort(ticks, tick)
        levels[tick] = qty
    elif tick in levels:
        del levels[tick]
        del ticks[bisect_left(ticks, tick)]
