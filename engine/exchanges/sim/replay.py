"""Replay of recorded Binance websocket captures (``<local ts ns> <json>`` per line, gzip).

The book is rebuilt with Binance's rules: diffs received before the REST snapshot are buffered; diffs
with ``u <= lastUpdateId`` are dropped; the first applied diff must straddle the snapshot
(spot: ``U <= lastUpdateId + 1 <= u``; USD-M futures: ``U <= lastUpdateId <= u``); afterwards each spot
diff starts at the previous ``u + 1`` and each futures diff has ``pu`` equal to the previous ``u``.
A broken chain is a sequence gap: it is recorded (time, expected, got) and logged, and replay goes on
applying diffs, as a client would until it could fetch a fresh snapshot. Trades and best bid/ask
(bookTicker) are replayed in receive-timestamp order across all files, from columns parsed once and cached
(:mod:`engine.exchanges.sim.capture_columns`).
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from dataclasses import dataclass, field
from itertools import islice
from pathlib import Path

import numpy as np

from engine.exchanges.sim.book import L2Book
from engine.exchanges.sim.capture_columns import (
    COLUMNS,
    DEPTH,
    SNAPSHOT,
    TICKER,
    TRADE,
    UNKNOWN_MS,
    ReplayDataError,
    load_capture,
)
from engine.exchanges.sim.markets import MarketSpec, known_market
from engine.exchanges.sim.source import MarketSink

__all__ = ["BinanceReplaySource", "ReplayDataError", "SequenceGap", "StreamStats", "rebuild_book"]

log = logging.getLogger(__name__)


@dataclass
class SequenceGap:
    ts_ms: int
    expected: int
    got: int

    def __str__(self) -> str:
        return f"gap at {self.ts_ms}: expected update id {self.expected}, got {self.got}"


@dataclass
class StreamStats:
    messages: int = 0
    depth_applied: int = 0
    depth_dropped: int = 0
    depth_buffered: int = 0
    trades: int = 0
    tickers: int = 0
    snapshots: int = 0
    skipped: int = 0  # unparseable lines
    gaps: list[SequenceGap] = field(default_factory=list)


class _Stream:
    """One market's book state and sequence bookkeeping."""

    def __init__(self, spec: MarketSpec, futures: bool) -> None:
        self.spec = spec
        self.symbol = spec.symbol
        self.futures = futures
        self.book = L2Book()
        self.last_u: int | None = None
        self.snapshot_id: int | None = None
        self.pending: list[tuple] = []
        self.bbo: tuple[int | None, float, int | None, float] = (None, 0.0, None, 0.0)
        self.bbo_u = -1
        self.stats = StreamStats()

    def apply_snapshot(self, last_update_id: int, levels: tuple) -> None:
        """Replace the book by a REST snapshot (``levels`` as :meth:`L2Book.apply` takes them), then apply the diffs
        buffered before it."""
        book = self.book
        book.clear()
        book.apply(levels)
        self.snapshot_id = last_update_id
        self.last_u = None
        self.stats.snapshots += 1
        buffered, self.pending = self.pending, []
        for args in buffered:
            self.apply_diff(*args)

    def apply_diff(self, ts_ms: int, first: int, last: int, pu: int, levels: tuple) -> bool:
        """Apply one depthUpdate by Binance's rules (``levels`` as :meth:`L2Book.apply` takes them); False when it
        was buffered or dropped."""
        if self.snapshot_id is None:
            self.pending.append((ts_ms, first, last, pu, levels))
            self.stats.depth_buffered += 1
            return False
        if self.last_u is None:
            lid = self.snapshot_id
            if last <= lid:
                self.stats.depth_dropped += 1
                return False
            straddles = first <= lid <= last if self.futures else first <= lid + 1 <= last
            if not straddles:
                self._gap(ts_ms, lid + 1, first)
        elif self.futures:
            if pu != self.last_u:
                self._gap(ts_ms, self.last_u, pu if pu >= 0 else first)
        elif first != self.last_u + 1:
            self._gap(ts_ms, self.last_u + 1, first)
        book = self.book
        book.apply(levels)
        self.last_u = last
        book.nonce = last
        book.ts_ms = ts_ms
        self.stats.depth_applied += 1
        return True

    def _gap(self, ts_ms: int, expected: int, got: int) -> None:
        gap = SequenceGap(ts_ms, expected, got)
        self.stats.gaps.append(gap)
        log.warning("%s replay: sequence %s", self.spec.symbol, gap)


class BinanceReplaySource:
    """Replays Binance L2 captures for one or more markets on the venue's (simulated) clock."""

    def __init__(self, files: list[str] | tuple[str, ...], cache: Path | None = None) -> None:
        self._streams: dict[str, _Stream] = {}
        loaded = sorted((load_capture(f, cache) for f in files), key=lambda c: (c.symbol, c.path))
        for cap in loaded:
            spec = known_market(cap.symbol)
            assert spec is not None  # load_capture checked it
            self._streams.setdefault(cap.symbol, _Stream(spec, cap.futures))
        self.symbols = list(self._streams)
        self.specs = {s: st.spec for s, st in self._streams.items()}
        self._files = {s: [c.path for c in loaded if c.symbol == s] for s in self.symbols}
        self._merge(loaded)
        self._i = 0
        self.now_ms = self._ts[0] if self._ts else 0
        self._first_ms = self.now_ms
        self.last_ms = self._ts[-1] if self._ts else 0
        self.finished = not self._ts
        self._feed_ms = 0.0

    def _merge(self, loaded: list) -> None:
        """One time-ordered event list across files (receive time, then file order), as Python lists."""
        stream_of = {s: i for i, s in enumerate(self.symbols)}
        self._stream_list = [self._streams[s] for s in self.symbols]
        offsets = np.cumsum([0] + [len(c.lv_tick) for c in loaded])
        col = {k: np.concatenate([c.cols[k] + off if k.startswith("lv_") and k != "lv_count" else c.cols[k]
                                  for c, off in zip(loaded, offsets, strict=False)]) for k in COLUMNS}
        col["feed_ms"] = np.concatenate([np.where(c.cols["feed_ms"] > UNKNOWN_MS, np.maximum(
            c.cols["feed_ms"] - c.clock_offset_ms, 0), -1) for c in loaded])
        col["sym"] = np.concatenate([np.full(len(c), stream_of[c.symbol], dtype=np.int64) for c in loaded])
        ts = col["ts_ns"]
        if len(ts) > 1 and not np.all(ts[1:] >= ts[:-1]):  # files that overlap in time: interleaved
            order = np.argsort(ts, kind="stable")
            col = {k: v[order] for k, v in col.items()}
        self._ts = (col["ts_ns"] // 1_000_000).tolist()
        self._sym_np, self._kind_np = col["sym"], col["kind"]
        self._sym, self._kind = self._sym_np.tolist(), self._kind_np.tolist()
        for name in ("first", "t1", "q1", "t2", "q2"):  # what every message reads; book messages keep the rest
            setattr(self, f"_{name}", col[name].tolist())
        feed = col["feed_ms"]  # the feed's delay as of each message: the last one known, carried forward
        known = np.where(feed >= 0, np.arange(len(feed)), -1)
        carried = np.maximum.accumulate(known) if len(known) else known
        self._feed_at = np.where(carried >= 0, feed[np.maximum(carried, 0)], 0.0)
        self._index_levels(loaded, col)
        self._runs = _TickerRuns(col)
        for c in loaded:
            self._streams[c.symbol].stats.skipped += c.skipped

    def _index_levels(self, loaded: list, col: dict[str, np.ndarray]) -> None:
        """The levels of every file as two lists, already in the groups :meth:`L2Book.apply` takes (the capture cache
        holds them so); each book message (by its replay position) keeps its update ids and its groups' bounds."""
        tick = np.concatenate([c.lv_tick for c in loaded])
        starts, counts = col["lv_start"], col["lv_count"]
        bounds = [starts, col["lv_e1"], col["lv_e2"], col["lv_e3"], starts + counts]
        has = counts > 0
        contiguous = int(counts.sum()) == len(tick) and np.array_equal(starts[has], (np.cumsum(counts) - counts)[has])
        if not contiguous or any(np.any(lo > hi) for lo, hi in zip(bounds, bounds[1:], strict=False)):
            raise ReplayDataError(f"{', '.join(Path(c.path).name for c in loaded)}: the cached levels do not follow "
                                  "their messages; delete the capture cache under data/ and run again")
        self._lv_tick = tick.tolist()
        self._lv_qty = np.concatenate([c.lv_qty for c in loaded]).tolist()
        kind = self._kind_np
        at = np.flatnonzero((kind == DEPTH) | (kind == SNAPSHOT))
        rows = zip(col["last"][at].tolist(), col["prev"][at].tolist(), *(b[at].tolist() for b in bounds),
                   strict=True)
        self._book_msgs: dict[int, tuple] = dict(zip(at.tolist(), rows, strict=True))

    def _levels(self, i: int) -> tuple:
        """Book message ``i``'s levels as :meth:`L2Book.apply` takes them."""
        _, _, a, e1, e2, e3, b = self._book_msgs[i]
        ticks, qtys = self._lv_tick, self._lv_qty
        return ticks[a:e1], qtys[a:e1], ticks[e1:e2], ticks[e2:e3], qtys[e2:e3], ticks[e3:b]

    # -- MarketSource -------------------------------------------------------------------------
    def start_ms(self) -> int | None:
        return self._first_ms

    def book(self, symbol: str) -> L2Book:
        return self._streams[symbol].book

    def best(self, symbol: str) -> tuple[int | None, float, int | None, float]:
        st = self._streams[symbol]
        if st.bbo_u >= (st.last_u or -1) and st.bbo[0] is not None:
            return st.bbo
        return st.book.top()

    def history(self) -> dict[str, list[list[float]]]:
        return {}

    def state(self) -> dict:
        return {}

    def restore(self, state: dict) -> None:
        """A replay always starts from its files' beginning."""

    def stats(self) -> dict[str, StreamStats]:
        """Each market's counts so far (messages, trades and best bid/asks are counted here, not per message)."""
        done = self._i
        for k, st in enumerate(self._stream_list):
            mine = self._kind_np[:done][self._sym_np[:done] == k]
            st.stats.messages = len(mine)
            st.stats.trades = int(np.count_nonzero(mine == TRADE))
            st.stats.tickers = int(np.count_nonzero(mine == TICKER))
        return {s: st.stats for s, st in self._streams.items()}

    def feed_latency_ms(self) -> float:
        """The feed's delay at the last message that carried an event time, in ms above the capture's fastest."""
        return self._feed_ms

    def progress(self) -> float:
        """The share of the capture's time span replayed so far (0 to 1)."""
        span = self.last_ms - self._first_ms
        return 1.0 if span <= 0 else min(max((self.now_ms - self._first_ms) / span, 0.0), 1.0)

    def advance(self, until_ms: int, sink: MarketSink, max_catchup_ms: int | None = None) -> None:
        """Apply every message received up to ``until_ms``.

        Best bid/asks in a row (one market's, with nothing between them) that stay inside the sink's
        :meth:`~MarketSink.quiet_band` are passed over at once: only the last of them is kept as the market's best."""
        start = self._i
        end = bisect_right(self._ts, until_ms, start)
        ts, kinds, syms, streams = self._ts, self._kind, self._sym, self._stream_list
        t1, q1, t2, q2, first = self._t1, self._q1, self._t2, self._q2, self._first
        on_top, on_trade, on_book = sink.on_top, sink.on_trade, sink.on_book
        band_of = getattr(sink, "quiet_band", None)
        run_end = self._runs.end if band_of is not None else None
        todo = iter(range(start, end))
        for i in todo:
            st = streams[syms[i]]
            kind = kinds[i]
            if kind == TICKER:
                if run_end is not None and run_end[i] - i > 1:
                    stop = self._runs.quiet_until(i, end, band_of(st.symbol), st, first[i])
                    if stop:
                        j = stop - 1  # the last passed over: the market's best bid/ask now
                        st.bbo = (t1[j], q1[j], t2[j], q2[j])
                        st.bbo_u = first[j]
                        next(islice(todo, j - i - 1, None), None)  # on past them (in C)
                        continue
                bid, ask, u = t1[i], t2[i], first[i]
                st.bbo = (bid, q1[i], ask, q2[i])
                st.bbo_u = u
                if u < (st.last_u or -1):  # older than the book's levels: the book's own top is fresher
                    bid, _, ask, _ = st.book.top()
                on_top(st.symbol, ts[i], bid, ask)
            elif kind == TRADE:
                on_trade(st.symbol, ts[i], t1[i], q1[i], t2[i] == 1)
            elif kind == DEPTH:
                last, prev = self._book_msgs[i][:2]
                if st.apply_diff(ts[i], first[i], last, prev, self._levels(i)):
                    on_book(st.symbol, ts[i])
            elif kind == SNAPSHOT:
                st.apply_snapshot(first[i], self._levels(i))
                if st.last_u is not None:
                    on_book(st.symbol, ts[i])
        if end > start:
            self._feed_ms = float(self._feed_at[end - 1])
        self._i = end
        self.finished = end >= len(ts)
        self.now_ms = max(self.now_ms, until_ms)


class _TickerRuns:
    """Runs of best bid/asks: messages of one market in a row with nothing else between them. For each position,
    where its run ends (``end``, a list; 0 off a run), and the highest bid and lowest ask from the run's start up to
    it and from it to the run's end (numpy), so a stretch of a run is checked against a band in a few lookups."""

    def __init__(self, col: dict[str, np.ndarray]) -> None:
        n = len(col["kind"])
        is_t = col["kind"] == TICKER
        begins = is_t & ~(np.r_[False, is_t[:-1]] & np.r_[False, col["sym"][1:] == col["sym"][:-1]])
        run = np.cumsum(begins)  # at each position, the number (1, 2, ...) of the run it is in or last followed
        where = np.flatnonzero(is_t)
        ends, self.begin = np.zeros(n, dtype=np.int64), np.zeros(n, dtype=np.int64)
        runs = run[where]
        last = where[np.r_[runs[1:] != runs[:-1], True]] if len(where) else where  # each run's last position
        ends[where] = last[runs - 1] + 1
        self.begin[where] = np.flatnonzero(begins)[runs - 1]
        back = run[-1] - run[::-1] if n else run  # the runs' numbers counted from the end
        bid, ask = col["t1"], col["t2"]
        scans = (_running_max(bid, run, is_t), _running_max(-ask, run, is_t),
                 _running_max(bid[::-1], back, is_t[::-1]), _running_max(-ask[::-1], back, is_t[::-1]))
        fits = all(x is not None for x in scans)
        if not fits:
            scans = tuple(np.zeros(n, dtype=np.int64) for _ in scans)
        self.hi_from_start, self.lo_from_start = scans[0], -scans[1]
        self.hi_to_end, self.lo_to_end = scans[2][::-1], -scans[3][::-1]
        self.end: list[int] = ends.tolist() if fits else [0] * n
        at = np.flatnonzero(begins & (ends - np.arange(n) > 1)) if fits else np.zeros(0, dtype=np.int64)
        self.whole: dict[int, tuple[int, int, int]] = dict(zip(at.tolist(), zip(  # from a run's start to its end
            ends[at].tolist(), self.hi_to_end[at].tolist(), self.lo_to_end[at].tolist(), strict=True), strict=True))

    def quiet_until(self, i: int, end: int, band: tuple[int, int] | None, st: _Stream, u: int) -> int:
        """Where the best bid/asks from ``i`` (a run's, ``u`` its update id) stop, when two or more of them up to
        ``end`` stay inside ``band``; else 0. Those older than the book's levels are checked with the book's own top,
        as they would be sent."""
        if band is None:
            return 0
        whole = self.whole.get(i)
        if whole is not None and whole[0] <= end:  # the common case: all of a run, from its start
            stop, hi, lo = whole
        elif (stop := self.end[i]) <= end:
            hi, lo = int(self.hi_to_end[i]), int(self.lo_to_end[i])
        elif end - i > 1 and self.begin[i] == i:
            stop = end
            hi, lo = int(self.hi_from_start[end - 1]), int(self.lo_from_start[end - 1])
        else:
            return 0
        low, high = band
        if not (hi < high and lo > low):
            return 0
        if u < (st.last_u or -1):
            bid, _, ask, _ = st.book.top()
            if (bid is not None and bid >= high) or (ask is not None and ask <= low):
                return 0
        return stop


def _running_max(values: np.ndarray, segment: np.ndarray, counted: np.ndarray) -> np.ndarray | None:
    """The running maximum of ``values`` where ``counted``, started afresh wherever ``segment`` (non-decreasing)
    changes. None if the values' span times the segments would overflow int64 (then no run is passed over)."""
    if not counted.any():
        return np.zeros(len(values), dtype=np.int64)
    low = int(values[counted].min())
    span = int(values[counted].max()) - low + 2
    if int(segment[-1]) * span >= 1 << 62:
        return None
    offset = segment.astype(np.int64) * span  # each segment above everything before it
    return np.maximum.accumulate(np.where(counted, values - low + 1, 0) + offset) - offset - 1 + low


def rebuild_book(files: list[str], until_ms: int) -> tuple[L2Book, StreamStats]:
    """Rebuild one market's book from scratch up to ``until_ms`` (no venue): a reference for tests."""

    class _Null:
        def on_trade(self, *a: object) -> None: ...

        def on_book(self, *a: object) -> None: ...

        def on_top(self, *a: object) -> None: ...

    src = BinanceReplaySource(files)
    if len(src.symbols) != 1:
        raise ReplayDataError("rebuild_book takes the files of one market")
    src.advance(until_ms, _Null())
    return src.book(src.symbols[0]), src.stats()[src.symbols[0]]
