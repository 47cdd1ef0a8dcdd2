"""A price-level order book keyed by integer ticks, so prices compare exactly.

Quantities are in the market's amount unit (base currency for spot, contracts for perpetuals).

Each side is a dict {tick: qty} and its best tick, kept as levels change; nothing is kept sorted. The best n levels
are found by walking ticks outward from the best one (in C: ``filter`` over a ``range``), which near the top of a
real book takes a few hundred dict lookups, against a sorted list whose upkeep cost a replay most of its time (a
Binance capture inserts and removes ~240,000 levels in 11 minutes, half of them beyond the best 100).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import islice

Levels = tuple[list[int], list[float], list[int], list[int], list[float], list[int]]

SCAN_TICKS = 4096  # ticks walked from the best before sorting the side instead


class L2Book:
    """Bids and asks as {tick: qty} with their best ticks."""

    __slots__ = ("bids", "asks", "_bb", "_ba", "_bb_stale", "_ba_stale", "ts_ms", "nonce")

    def __init__(self) -> None:
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        # The best tick of each side (None: the side is empty). Stale: the best level was removed, and the value is
        # the tick it had, a bound every level left is below (bids) or above (asks); looked up again when asked.
        self._bb: int | None = None
        self._ba: int | None = None
        self._bb_stale = False
        self._ba_stale = False
        self.ts_ms: int = 0
        self.nonce: int | None = None

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self._bb = self._ba = None
        self._bb_stale = self._ba_stale = False

    # ------------------------------------------------------------------ changes
    def set_bid(self, tick: int, qty: float) -> None:
        """Set the bid level at ``tick`` to ``qty``; ``qty <= 0`` removes it."""
        self.set(True, tick, qty)

    def set_ask(self, tick: int, qty: float) -> None:
        """Set the ask level at ``tick`` to ``qty``; ``qty <= 0`` removes it."""
        self.set(False, tick, qty)

    def set(self, is_bid: bool, tick: int, qty: float) -> None:
        if qty > 0:
            (self.bids if is_bid else self.asks)[tick] = qty
            self._raised(is_bid, tick)
        elif (self.bids if is_bid else self.asks).pop(tick, None) is not None:
            self._removed(is_bid, tick)

    def update(self, sides: list[int], ticks: list[int], qtys: list[float]) -> None:
        """Set many levels at once: ``sides[i]`` 1 for a bid, 0 for an ask; a qty of 0 removes the level."""
        for side, t, q in zip(sides, ticks, qtys, strict=True):
            self.set(bool(side), t, q)

    def apply(self, levels: Levels) -> None:
        """Apply one diff already split by side and by removal: ``(bid ticks, bid qtys, bid ticks removed, ask
        ticks, ask qtys, ask ticks removed)``; the same result as :meth:`update` on the same levels."""
        bid_ticks, bid_qtys, bid_gone, ask_ticks, ask_qtys, ask_gone = levels
        if bid_ticks:
            self.bids.update(zip(bid_ticks, bid_qtys, strict=True))
            self._raised(True, max(bid_ticks))
        if ask_ticks:
            self.asks.update(zip(ask_ticks, ask_qtys, strict=True))
            self._raised(False, min(ask_ticks))
        for is_bid, side, gone in ((True, self.bids, bid_gone), (False, self.asks, ask_gone)):
            if gone:
                pop = side.pop
                for t in gone:
                    pop(t, None)
                best = self._bb if is_bid else self._ba
                if best in gone:
                    self._removed(is_bid, best)

    def _raised(self, is_bid: bool, tick: int) -> None:
        """A level was set at ``tick`` (the best of those just set, for a batch)."""
        if is_bid:
            best = self._bb
            if best is None or (tick >= best if self._bb_stale else tick > best):
                self._bb, self._bb_stale = tick, False
        else:
            best = self._ba
            if best is None or (tick <= best if self._ba_stale else tick < best):
                self._ba, self._ba_stale = tick, False

    def _removed(self, is_bid: bool, tick: int) -> None:
        if is_bid:
            if not self._bb_stale and tick == self._bb:
                self._bb_stale = True
        elif not self._ba_stale and tick == self._ba:
            self._ba_stale = True

    # ------------------------------------------------------------------ reads
    def qty(self, is_bid: bool, tick: int) -> float:
        return (self.bids if is_bid else self.asks).get(tick, 0.0)

    def best_bid(self) -> int | None:
        if self._bb_stale:
            self._bb_stale = False
            self._bb = _next_best(self.bids, self._bb, -1)
        return self._bb

    def best_ask(self) -> int | None:
        if self._ba_stale:
            self._ba_stale = False
            self._ba = _next_best(self.asks, self._ba, 1)
        return self._ba

    def top(self) -> tuple[int | None, float, int | None, float]:
        """(best bid tick, its qty, best ask tick, its qty); None ticks and 0 for an empty side."""
        bb, ba = self.best_bid(), self.best_ask()
        return bb, self.bids.get(bb, 0.0), ba, self.asks.get(ba, 0.0)

    def crossed(self) -> bool:
        bb, ba = self.best_bid(), self.best_ask()
        return bb is not None and ba is not None and bb >= ba

    def depth(self) -> tuple[int, int]:
        return len(self.bids), len(self.asks)

    def levels(self, is_bid: bool, n: int | None = None) -> list[tuple[int, float]]:
        """The best ``n`` levels of one side (all with ``n`` None), best first."""
        side = self.bids if is_bid else self.asks
        if n is None or n >= len(side):
            return sorted(side.items(), reverse=is_bid)
        best = self.best_bid() if is_bid else self.best_ask()
        if best is None or n <= 0:
            return []
        span = range(best, best - SCAN_TICKS, -1) if is_bid else range(best, best + SCAN_TICKS)
        ticks = list(islice(filter(side.__contains__, span), n))
        if len(ticks) < n:  # a sparse side: sort it
            return sorted(side.items(), reverse=is_bid)[:n]
        return [(t, side[t]) for t in ticks]

    def walk(self, is_bid: bool) -> Iterator[tuple[int, float]]:
        """The levels of one side, best first, found as they are asked for (for walks that stop early); do not change
        the book while walking it."""
        first = self.levels(is_bid, 32)
        yield from first
        if len(first) == 32:
            side, last = self.bids if is_bid else self.asks, first[-1][0]
            rest = sorted((t for t in side if (t < last if is_bid else t > last)), reverse=is_bid)
            for t in rest:
                yield t, side[t]

    def ticks(self, is_bid: bool) -> list[int]:
        """The ticks of one side, ascending (a copy)."""
        return sorted(self.bids if is_bid else self.asks)

    def snapshot(self) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """All levels as (bids best first, asks best first)."""
        return self.levels(True), self.levels(False)

    # ------------------------------------------------------------------ removals and takes
    def remove_better_than(self, is_bid: bool, tick: int) -> list[tuple[int, float]]:
        """Drop bid levels above ``tick`` (or ask levels below it); returns them best first."""
        side = self.bids if is_bid else self.asks
        gone = sorted((t for t in side if (t > tick if is_bid else t < tick)), reverse=is_bid)
        out = [(t, side.pop(t)) for t in gone]
        if out:  # every level left is at or behind ``tick``
            if is_bid:
                self._bb, self._bb_stale = tick + 1, True
            else:
                self._ba, self._ba_stale = tick - 1, True
        return out

    def remove_worse_than(self, is_bid: bool, keep: int) -> None:
        """Keep only the best ``keep`` levels of one side."""
        side = self.bids if is_bid else self.asks
        if len(side) <= keep:
            return
        for t, _ in sorted(side.items(), reverse=is_bid)[max(keep, 0):]:
            del side[t]
        if not side:
            self._removed(is_bid, self._bb if is_bid else self._ba)  # the best went too: looked up (None) again

    def take(self, is_bid: bool, qty: float, limit_tick: int | None = None) -> list[tuple[int, float]]:
        """Consume up to ``qty`` from one side, best first, not past ``limit_tick``.

        Returns the (tick, qty) fills; consumed levels shrink or vanish.
        """
        fills: list[tuple[int, float]] = []
        side = self.bids if is_bid else self.asks
        while qty > 1e-12 and side:
            t = self.best_bid() if is_bid else self.best_ask()
            if limit_tick is not None and (t < limit_tick if is_bid else t > limit_tick):
                break
            avail = side[t]
            if avail <= qty + 1e-12:
                fills.append((t, avail))
                qty -= avail
                del side[t]
                self._removed(is_bid, t)
            else:
                fills.append((t, qty))
                side[t] = avail - qty
                qty = 0.0
        return fills


def _next_best(side: dict[int, float], bound: int | None, step: int) -> int | None:
    """The best tick of ``side``, every level of which is past ``bound`` in the direction ``step`` (-1 for bids)."""
    if not side:
        return None
    if bound is not None:
        found = next(filter(side.__contains__, range(bound + step, bound + step * SCAN_TICKS, step)), None)
        if found is not None:
            return found
    return max(side) if step < 0 else min(side)
