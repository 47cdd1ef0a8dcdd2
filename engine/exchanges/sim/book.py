"""A price-level order book keyed by integer ticks, so prices compare exactly.

Quantities are in the market's amount unit (base currency for spot, contracts for perpetuals).
"""

from __future__ import annotations

from bisect import bisect_left, insort

Levels = tuple[list[int], list[float], list[int], list[int], list[float], list[int]]


class L2Book:
    """Bids and asks as {tick: qty}, each side with a sorted key list whose best level is last: bid ticks ascending,
    ask ticks negated (ascending), so changes near the top, where most happen, move few list entries."""

    __slots__ = ("bids", "asks", "_bid_keys", "_ask_keys", "ts_ms", "nonce")

    def __init__(self) -> None:
        self.bids: dict[int, float] = {}
        self.asks: dict[int, float] = {}
        self._bid_keys: list[int] = []  # bid ticks, ascending: the best bid last
        self._ask_keys: list[int] = []  # minus the ask ticks, ascending: the best (lowest) ask last
        self.ts_ms: int = 0
        self.nonce: int | None = None

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self._bid_keys.clear()
        self._ask_keys.clear()

    def set_bid(self, tick: int, qty: float) -> None:
        """Set the bid level at ``tick`` to ``qty``; ``qty <= 0`` removes it."""
        _set(self.bids, self._bid_keys, tick, tick, qty)

    def set_ask(self, tick: int, qty: float) -> None:
        """Set the ask level at ``tick`` to ``qty``; ``qty <= 0`` removes it."""
        _set(self.asks, self._ask_keys, tick, -tick, qty)

    def set(self, is_bid: bool, tick: int, qty: float) -> None:
        if is_bid:
            _set(self.bids, self._bid_keys, tick, tick, qty)
        else:
            _set(self.asks, self._ask_keys, tick, -tick, qty)

    def update(self, sides: list[int], ticks: list[int], qtys: list[float]) -> None:
        """Set many levels at once: ``sides[i]`` 1 for a bid, 0 for an ask; a qty of 0 removes the level."""
        bids, asks, bid_keys, ask_keys = self.bids, self.asks, self._bid_keys, self._ask_keys
        for side, t, q in zip(sides, ticks, qtys, strict=True):
            if side:
                _set(bids, bid_keys, t, t, q)
            else:
                _set(asks, ask_keys, t, -t, q)

    def apply(self, levels: Levels) -> None:
        """Apply one diff already split by side and by removal: ``(bid ticks, bid qtys, bid ticks removed, ask
        ticks, ask qtys, ask ticks removed)``. The same result as :meth:`update` on the same levels, with the dict
        work done in C (a replay sets ~300,000 levels)."""
        bid_ticks, bid_qtys, bid_gone, ask_ticks, ask_qtys, ask_gone = levels
        _apply_side(self.bids, self._bid_keys, bid_ticks, bid_qtys, bid_gone, 1)
        _apply_side(self.asks, self._ask_keys, ask_ticks, ask_qtys, ask_gone, -1)

    def qty(self, is_bid: bool, tick: int) -> float:
        return (self.bids if is_bid else self.asks).get(tick, 0.0)

    def best_bid(self) -> int | None:
        return self._bid_keys[-1] if self._bid_keys else None

    def best_ask(self) -> int | None:
        return -self._ask_keys[-1] if self._ask_keys else None

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
        """The best ``n`` levels of one side, best first."""
        keys = self._bid_keys if is_bid else self._ask_keys
        best_first = keys[::-1] if n is None else keys[: -n - 1 : -1]
        if is_bid:
            bids = self.bids
            return [(t, bids[t]) for t in best_first]
        asks = self.asks
        return [(-k, asks[-k]) for k in best_first]

    def ticks(self, is_bid: bool) -> list[int]:
        """The ticks of one side, ascending (a copy)."""
        return list(self._bid_keys) if is_bid else [-k for k in reversed(self._ask_keys)]

    def remove_better_than(self, is_bid: bool, tick: int) -> list[tuple[int, float]]:
        """Drop bid levels above ``tick`` (or ask levels below it); returns them best first."""
        keys, levels, sign = (self._bid_keys, self.bids, 1) if is_bid else (self._ask_keys, self.asks, -1)
        i = bisect_left(keys, sign * tick + 1)
        gone = keys[i:][::-1]
        del keys[i:]
        return [(sign * k, levels.pop(sign * k)) for k in gone]

    def remove_worse_than(self, is_bid: bool, keep: int) -> None:
        """Keep only the best ``keep`` levels of one side."""
        keys, levels, sign = (self._bid_keys, self.bids, 1) if is_bid else (self._ask_keys, self.asks, -1)
        extra = len(keys) - keep
        if extra <= 0:
            return
        gone = keys[:extra]
        del keys[:extra]
        for k in gone:
            del levels[sign * k]

    def take(self, is_bid: bool, qty: float, limit_tick: int | None = None) -> list[tuple[int, float]]:
        """Consume up to ``qty`` from one side, best first, not past ``limit_tick``.

        Returns the (tick, qty) fills; consumed levels shrink or vanish.
        """
        fills: list[tuple[int, float]] = []
        keys, levels, sign = (self._bid_keys, self.bids, 1) if is_bid else (self._ask_keys, self.asks, -1)
        while qty > 1e-12 and keys:
            t = sign * keys[-1]
            if limit_tick is not None and (t < limit_tick if is_bid else t > limit_tick):
                break
            avail = levels[t]
            if avail <= qty + 1e-12:
                fills.append((t, avail))
                qty -= avail
                del levels[t]
                keys.pop()
            else:
                fills.append((t, qty))
                levels[t] = avail - qty
                qty = 0.0
        return fills

    def snapshot(self) -> tuple[list[tuple[int, float]], list[tuple[int, float]]]:
        """All levels as (bids best first, asks best first)."""
        return self.levels(True), self.levels(False)


def _set(levels: dict[int, float], keys: list[int], tick: int, key: int, qty: float) -> None:
    """Set one level (``key`` is its entry in the side's sorted list); ``qty <= 0`` removes it."""
    if qty > 0:
        if tick not in levels:
            insort(keys, key)
        levels[tick] = qty
    elif tick in levels:
        del levels[tick]
        del keys[bisect_left(keys, key)]


def _apply_side(levels: dict[int, float], keys: list[int], set_ticks: list[int], set_qtys: list[float],
                gone: list[int], sign: int) -> None:
    """Set ``set_ticks`` to their (positive) ``set_qtys`` and remove ``gone`` on one side (``sign`` -1: asks)."""
    if set_ticks:
        fresh = set(set_ticks).difference(levels) if levels else set(set_ticks)
        levels.update(zip(set_ticks, set_qtys, strict=True))
        if len(fresh) * 8 > len(keys):  # many new levels (a snapshot): one sort beats the inserts
            keys.extend(fresh if sign > 0 else [-t for t in fresh])
            keys.sort()
        elif sign > 0:
            for t in fresh:
                insort(keys, t)
        else:
            for t in fresh:
                insort(keys, -t)
    if gone:
        for t in levels.keys() & gone:
            del levels[t]
            del keys[bisect_left(keys, sign * t)]
