"""Replay of recorded Binance websocket captures (``<local ts ns> <json>`` per line, gzip).

The book is rebuilt with Binance's rules: diffs received before the REST snapshot are buffered; diffs
with ``u <= lastUpdateId`` are dropped; the first applied diff must straddle the snapshot
(spot: ``U <= lastUpdateId + 1 <= u``; USD-M futures: ``U <= lastUpdateId <= u``); afterwards each spot
diff starts at the previous ``u + 1`` and each futures diff has ``pu`` equal to the previous ``u``.
A broken chain is a sequence gap: it is recorded (time, expected, got) and logged, and replay goes on
applying diffs, as a client would until it could fetch a fresh snapshot. Trades and best bid/ask
(bookTicker) are replayed in receive-timestamp order across all files.
"""

from __future__ import annotations

import gzip
import heapq
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.exchanges.sim.book import L2Book
from engine.exchanges.sim.markets import MarketSpec, known_market
from engine.exchanges.sim.source import MarketSink

try:  # orjson parses the captures about three times faster than the standard library
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - orjson is in requirements.txt
    from json import loads as _loads

log = logging.getLogger(__name__)


class ReplayDataError(ValueError):
    """A capture file cannot be replayed; the message names the file and what is wrong."""


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
    gaps: list[SequenceGap] = field(default_factory=list)


class _Stream:
    """One market's book state and sequence bookkeeping."""

    def __init__(self, spec: MarketSpec, futures: bool) -> None:
        self.spec = spec
        self.futures = futures
        self.inv_tick = 1.0 / spec.tick
        self.book = L2Book()
        self.last_u: int | None = None
        self.snapshot_id: int | None = None
        self.pending: list[tuple[int, dict]] = []
        self.bbo: tuple[int | None, float, int | None, float] = (None, 0.0, None, 0.0)
        self.bbo_u = -1
        self.stats = StreamStats()

    def to_tick(self, price: str) -> int:
        return int(float(price) * self.inv_tick + 0.5)

    def apply_snapshot(self, ts_ms: int, snap: dict) -> None:
        book = self.book
        book.clear()
        for p, q in snap["bids"]:
            book.set_bid(self.to_tick(p), float(q))
        for p, q in snap["asks"]:
            book.set_ask(self.to_tick(p), float(q))
        self.snapshot_id = snap["lastUpdateId"]
        self.last_u = None
        self.stats.snapshots += 1
        buffered, self.pending = self.pending, []
        for ts, d in buffered:
            self.apply_diff(ts, d)

    def apply_diff(self, ts_ms: int, d: dict) -> bool:
        """Apply one depthUpdate by Binance's rules; False when it was buffered or dropped."""
        if self.snapshot_id is None:
            self.pending.append((ts_ms, d))
            self.stats.depth_buffered += 1
            return False
        first, last = d["U"], d["u"]
        if self.last_u is None:
            lid = self.snapshot_id
            if last <= lid:
                self.stats.depth_dropped += 1
                return False
            straddles = first <= lid <= last if self.futures else first <= lid + 1 <= last
            if not straddles:
                self._gap(ts_ms, lid + 1, first)
        elif self.futures:
            if d.get("pu") != self.last_u:
                self._gap(ts_ms, self.last_u, d.get("pu", first))
        elif first != self.last_u + 1:
            self._gap(ts_ms, self.last_u + 1, first)
        book, inv = self.book, self.inv_tick
        for p, q in d["b"]:
            book.set_bid(int(float(p) * inv + 0.5), float(q))
        for p, q in d["a"]:
            book.set_ask(int(float(p) * inv + 0.5), float(q))
        self.last_u = last
        book.nonce = last
        book.ts_ms = ts_ms
        self.stats.depth_applied += 1
        return True

    def _gap(self, ts_ms: int, expected: int, got: int) -> None:
        gap = SequenceGap(ts_ms, expected, got)
        self.stats.gaps.append(gap)
        log.warning("%s replay: sequence %s", self.spec.symbol, gap)


def _open_lines(path: str) -> Iterator[bytes]:
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            yield from fh
    except (OSError, EOFError) as exc:
        raise ReplayDataError(f"{path}: cannot read capture ({exc})") from exc


def _identify(path: str) -> tuple[str, bool]:
    """(Binance symbol id, is futures) from the first line of a capture file."""
    for line in _open_lines(path):
        _, _, payload = line.partition(b" ")
        try:
            msg = _loads(payload)
        except ValueError as exc:
            raise ReplayDataError(f"{path}: first line is not '<ts> <json>' ({exc})") from exc
        stream = msg.get("stream") if isinstance(msg, dict) else None
        if not stream:
            continue
        sym = stream.split("@", 1)[0].upper()
        futures = "@depth@0ms" in stream or "usdm" in Path(path).parts or "futures" in path
        return sym, futures
    raise ReplayDataError(f"{path}: no websocket stream message found (is this a Binance capture?)")


def _spec_for(binance_id: str, futures: bool, path: str) -> MarketSpec:
    for quote in ("USDT", "USDC", "BUSD", "FDUSD"):
        if binance_id.endswith(quote):
            base = binance_id[: -len(quote)]
            symbol = f"{base}/{quote}" + (f":{quote}" if futures else "")
            spec = known_market(symbol)
            if spec is None:
                raise ReplayDataError(f"{path}: market {symbol} is not one the simulated venue lists")
            return spec
    raise ReplayDataError(f"{path}: cannot tell the quote currency of {binance_id!r}")


class BinanceReplaySource:
    """Replays Binance L2 captures for one or more markets on the venue's (simulated) clock."""

    def __init__(self, files: list[str] | tuple[str, ...]) -> None:
        groups: dict[str, list[str]] = {}
        self._streams: dict[str, _Stream] = {}
        for f in files:
            sym_id, futures = _identify(f)
            spec = _spec_for(sym_id, futures, f)
            groups.setdefault(spec.symbol, []).append(f)
            self._streams.setdefault(spec.symbol, _Stream(spec, futures))
        self.symbols = list(self._streams)
        self.specs = {s: st.spec for s, st in self._streams.items()}
        self._files = {s: sorted(fs) for s, fs in groups.items()}
        self._iter = heapq.merge(*(self._lines(s, fs) for s, fs in self._files.items()))
        self._next: tuple[int, int, str, bytes] | None = next(self._iter, None)
        self.now_ms = self._next[0] // 1_000_000 if self._next else 0
        self._first_ms = self.now_ms
        self.finished = self._next is None

    def _lines(self, symbol: str, files: list[str]) -> Iterator[tuple[int, int, str, bytes]]:
        n = 0
        for f in files:
            for line in _open_lines(f):
                ts, _, payload = line.partition(b" ")
                n += 1
                try:
                    yield int(ts), n, symbol, payload
                except ValueError as exc:  # pragma: no cover - defensive
                    raise ReplayDataError(f"{f}: bad timestamp {ts[:30]!r}") from exc

    # -- MarketSource -------------------------------------------------------------------------
    def start_ms(self) -> int | None:
        return self._first_ms

    def book(self, symbol: str) -> L2Book:
        return self._streams[symbol].book

    def best(self, symbol: str) -> tuple[int | None, float, int | None, float]:
        st = self._streams[symbol]
        if st.bbo_u >= (st.last_u or -1) and st.bbo[0] is not None:
            return st.bbo
        b = st.book
        bb, ba = b.best_bid(), b.best_ask()
        return bb, b.bids.get(bb, 0.0), ba, b.asks.get(ba, 0.0)

    def history(self) -> dict[str, list[list[float]]]:
        return {}

    def state(self) -> dict:
        return {}

    def restore(self, state: dict) -> None:
        """A replay always starts from its files' beginning."""

    def stats(self) -> dict[str, StreamStats]:
        return {s: st.stats for s, st in self._streams.items()}

    def advance(self, until_ms: int, sink: MarketSink, max_catchup_ms: int | None = None) -> None:
        """Apply every message received up to ``until_ms``."""
        limit_ns = (until_ms + 1) * 1_000_000
        nxt, it, streams = self._next, self._iter, self._streams
        while nxt is not None and nxt[0] < limit_ns:
            ts_ns, _, symbol, payload = nxt
            self._handle(streams[symbol], ts_ns // 1_000_000, payload, sink)
            nxt = next(it, None)
        self._next = nxt
        self.finished = nxt is None
        self.now_ms = max(self.now_ms, until_ms)

    def _handle(self, st: _Stream, ts_ms: int, payload: bytes, sink: MarketSink) -> None:
        st.stats.messages += 1
        try:
            msg = _loads(payload)
        except ValueError:
            log.warning("%s replay: unparseable message skipped: %.80r", st.spec.symbol, payload)
            return
        data = msg.get("data")
        if data is None:
            if "lastUpdateId" in msg:
                st.apply_snapshot(ts_ms, msg)
                if st.last_u is not None:
                    sink.on_book(st.spec.symbol, ts_ms)
            return
        stream = msg["stream"]
        if stream.endswith("@bookTicker"):
            st.stats.tickers += 1
            st.bbo = (st.to_tick(data["b"]), float(data["B"]), st.to_tick(data["a"]), float(data["A"]))
            st.bbo_u = data["u"]
            sink.on_book(st.spec.symbol, ts_ms)
        elif stream.endswith("@trade"):
            if data.get("X", "MARKET") != "MARKET":
                return  # insurance-fund and ADL prints are not market trades
            st.stats.trades += 1
            sink.on_trade(st.spec.symbol, ts_ms, st.to_tick(data["p"]), float(data["q"]), not data["m"])
        elif "@depth" in stream:
            if st.apply_diff(ts_ms, data):
                sink.on_book(st.spec.symbol, ts_ms)


def rebuild_book(files: list[str], until_ms: int) -> tuple[L2Book, StreamStats]:
    """Rebuild one market's book from scratch up to ``until_ms`` (no venue): a reference for tests."""

    class _Null:
        def on_trade(self, *a: object) -> None: ...

        def on_book(self, *a: object) -> None: ...

    src = BinanceReplaySource(files)
    if len(src.symbols) != 1:
        raise ReplayDataError("rebuild_book takes the files of one market")
    src.advance(until_ms, _Null())
    st = src._streams[src.symbols[0]]
    return st.book, st.stats
