"""A Binance capture parsed once into columns (numpy), cached under ``data/cache/`` by the file's hash.

Parsing the JSON of a capture is most of a cold replay's time; a warm replay loads the columns instead. One row per
message the replay acts on: its receive time, its kind, the update ids, the prices as integer ticks of the market,
and, for depth diffs and snapshots, a slice of the level arrays, held in the groups the book applies them in (bids
set, bids removed, asks set, asks removed; each group in recorded order) with each group's end. The cache is keyed
by the file's SHA-256, the market's tick size and :data:`CACHE_VERSION`, so an edited file or a changed market is
parsed again.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import re
import zlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.exchanges.sim.markets import MarketSpec, known_market

try:  # orjson parses the captures about three times faster than the standard library
    from orjson import loads as _loads
except ImportError:  # pragma: no cover - orjson is in requirements.txt
    from json import loads as _loads

log = logging.getLogger("engine.exchanges.sim.replay")

CACHE_VERSION = 3
SNAPSHOT, DEPTH, TICKER, TRADE = 0, 1, 2, 3
UNKNOWN_MS = -1_000_000_000  # feed_ms of a message without an event time
COLUMNS = ("ts_ns", "kind", "feed_ms", "first", "last", "prev", "lv_start", "lv_count", "lv_e1", "lv_e2", "lv_e3",
           "t1", "q1", "t2", "q2")  # lv_e1..3: where bids set, bids removed and asks set end (asks removed: the count)
_INVERSE = re.compile(r"^[A-Z0-9]+USD_(PERP|\d{6})$")


class ReplayDataError(ValueError):
    """A capture file cannot be replayed; the message names the file and what is wrong."""


@dataclass
class CaptureColumns:
    """One capture file's messages as columns (module docstring); ``feed_ms`` is :data:`UNKNOWN_MS` where unknown."""

    path: str
    symbol: str
    futures: bool
    cols: dict[str, np.ndarray]
    lv_bid: np.ndarray
    lv_tick: np.ndarray
    lv_qty: np.ndarray
    skipped: int = 0
    clock_offset_ms: int = 0

    def __len__(self) -> int:
        return len(self.cols["ts_ns"])


def cache_dir() -> Path:
    """Where parsed captures are kept: ``$MM_CACHE_DIR`` or ``data/cache``."""
    return Path(os.environ.get("MM_CACHE_DIR") or "data/cache") / "captures"


def load_capture(path: str, cache: Path | None = None) -> CaptureColumns:
    """The columns of ``path``: from the cache when it holds this file, else parsed (and cached)."""
    symbol_id, futures = identify(path)
    spec = spec_for(symbol_id, futures, path)
    folder = cache if cache is not None else cache_dir()
    digest = _digest(path)
    key = f"{digest}-{spec.tick:g}-v{CACHE_VERSION}.npy"
    cached = folder / key
    if cached.is_file():
        try:
            return _read(cached, path, spec.symbol, futures)
        except (OSError, ValueError, EOFError) as exc:
            log.warning("%s: cached columns %s unreadable (%s); parsing again", path, cached, exc)
    columns = parse_capture(path, spec, futures)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            for array in _arrays(columns):
                np.save(fh, array, allow_pickle=False)
        os.replace(tmp, cached)
        for old in folder.glob(f"{digest}-*"):  # this file's columns from an older version or another tick size
            if old != cached and not old.name.endswith(".tmp"):
                old.unlink(missing_ok=True)
    except OSError as exc:
        log.warning("%s: cannot cache parsed columns under %s (%s); the next run parses again", path, folder, exc)
    return columns


def _arrays(c: CaptureColumns) -> list[np.ndarray]:
    """What the cache file holds, in its order: the counts, the three level arrays, then :data:`COLUMNS` (plain
    ``.npy`` arrays one after another: no archive to unpack, so a warm load takes half the time ``.npz`` took)."""
    return [np.array([c.skipped, c.clock_offset_ms], dtype=np.int64), c.lv_bid, c.lv_tick, c.lv_qty,
            *(c.cols[k] for k in COLUMNS)]


def _read(cached: Path, path: str, symbol: str, futures: bool) -> CaptureColumns:
    with open(cached, "rb") as fh:
        meta, lv_bid, lv_tick, lv_qty, *cols = (np.load(fh, allow_pickle=False) for _ in range(4 + len(COLUMNS)))
        if fh.read(1):
            raise ValueError("unexpected data after the columns")
    return CaptureColumns(path, symbol, futures, dict(zip(COLUMNS, cols, strict=True)), lv_bid, lv_tick, lv_qty,
                          int(meta[0]), int(meta[1]))


def _digest(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()[:24]


def open_lines(path: str):  # noqa: ANN201 - an iterator of bytes lines
    """The lines of a capture, gzip or plain; a truncated or corrupt file is a :class:`ReplayDataError`."""
    opener = gzip.open if path.endswith(".gz") else open
    try:
        with opener(path, "rb") as fh:
            yield from fh
    except EOFError:
        raise ReplayDataError(f"{path}: the gzip file is truncated (it ends before its end marker); "
                              "download or record it again") from None
    except (OSError, zlib.error) as exc:
        raise ReplayDataError(f"{path}: cannot read capture ({exc})") from None


def identify(path: str) -> tuple[str, bool]:
    """(Binance symbol id, is futures) from the first stream message of a capture file."""
    for n, line in enumerate(open_lines(path)):
        ts, _, payload = line.partition(b" ")
        try:
            int(ts)
            msg = _loads(payload)
        except ValueError:
            raise ReplayDataError(f"{path}: line {n + 1} is not '<receive time ns> <json>': not a Binance "
                                  "capture (candle files end in -1m.csv.gz)") from None
        stream = msg.get("stream") if isinstance(msg, dict) else None
        if not stream:
            if n > 100:
                break
            continue
        sym, _, kind = stream.partition("@")
        if not any(kind.startswith(k) for k in ("depth", "trade", "bookTicker")):
            raise ReplayDataError(f"{path}: stream {stream!r} is not one the venue can replay (it models "
                                  "<sym>@depth, <sym>@trade and <sym>@bookTicker)")
        return sym.upper(), "@depth@0ms" in stream or "usdm" in Path(path).parts or "futures" in path
    raise ReplayDataError(f"{path}: no websocket stream message found (is this a Binance capture?)")


def spec_for(binance_id: str, futures: bool, path: str) -> MarketSpec:
    """The simulated venue's market for a Binance symbol id."""
    if _INVERSE.match(binance_id):
        raise ReplayDataError(f"{path}: {binance_id} is a coin-margined (inverse) contract; the simulated venue "
                              "models spot and USDT-margined (linear) contracts only")
    for quote in ("USDT", "USDC", "BUSD", "FDUSD"):
        if binance_id.endswith(quote):
            base = binance_id[: -len(quote)]
            symbol = f"{base}/{quote}" + (f":{quote}" if futures else "")
            spec = known_market(symbol)
            if spec is None:
                raise ReplayDataError(f"{path}: market {symbol} is not one the simulated venue lists")
            return spec
    raise ReplayDataError(f"{path}: cannot tell the quote currency of {binance_id!r}")


def parse_capture(path: str, spec: MarketSpec, futures: bool) -> CaptureColumns:
    """Parse every line of ``path`` into columns (no cache)."""
    inv = 1.0 / spec.tick
    rows: dict[str, list] = {c: [] for c in COLUMNS if not c.startswith("lv_e")}  # the group ends come after
    lv_bid: list[int] = []
    lv_tick: list[int] = []
    lv_qty: list[float] = []
    skipped = 0
    unknown: Counter[str] = Counter()
    ts_ns, kind, feed, first, last, prev = (rows[c] for c in ("ts_ns", "kind", "feed_ms", "first", "last", "prev"))
    lv_start, lv_count, t1, q1, t2, q2 = (rows[c] for c in ("lv_start", "lv_count", "t1", "q1", "t2", "q2"))

    def levels(side: int, pairs: list) -> None:
        for p, q in pairs:
            lv_bid.append(side)
            lv_tick.append(int(float(p) * inv + 0.5))
            lv_qty.append(float(q))

    def row(ts: int, k: int, f: int, a: int = 0, b: int = 0, c: int = -1, start: int = 0, count: int = 0,
            x1: int = 0, y1: float = 0.0, x2: int = 0, y2: float = 0.0) -> None:
        ts_ns.append(ts)
        kind.append(k)
        feed.append(f)
        first.append(a)
        last.append(b)
        prev.append(c)
        lv_start.append(start)
        lv_count.append(count)
        t1.append(x1)
        q1.append(y1)
        t2.append(x2)
        q2.append(y2)

    for n, line in enumerate(open_lines(path)):
        ts_text, _, payload = line.partition(b" ")
        try:
            ts = int(ts_text)
            msg = _loads(payload)
        except ValueError:
            skipped += 1
            if skipped <= 3:
                log.warning("%s line %d: unparseable message skipped: %.80r", path, n + 1, line)
            continue
        ts_ms = ts // 1_000_000
        data = msg.get("data") if isinstance(msg, dict) else None
        if data is None:
            if isinstance(msg, dict) and "lastUpdateId" in msg:
                start = len(lv_bid)
                levels(1, msg["bids"])
                levels(0, msg["asks"])
                row(ts, SNAPSHOT, UNKNOWN_MS, msg["lastUpdateId"], start=start, count=len(lv_bid) - start)
            continue
        stream = msg.get("stream", "")
        event_ms = data.get("E")
        f = ts_ms - event_ms if isinstance(event_ms, int) else UNKNOWN_MS
        if stream.endswith("@bookTicker"):
            row(ts, TICKER, f, data["u"], x1=int(float(data["b"]) * inv + 0.5), y1=float(data["B"]),
                x2=int(float(data["a"]) * inv + 0.5), y2=float(data["A"]))
        elif stream.endswith("@trade"):
            if data.get("X", "MARKET") != "MARKET":
                continue  # insurance-fund and ADL prints are not market trades
            row(ts, TRADE, f, x1=int(float(data["p"]) * inv + 0.5), y1=float(data["q"]), x2=0 if data["m"] else 1)
        elif "@depth" in stream:
            start = len(lv_bid)
            levels(1, data["b"])
            levels(0, data["a"])
            row(ts, DEPTH, f, data["U"], data["u"], data.get("pu", -1), start, len(lv_bid) - start)
        else:
            unknown[stream] += 1
    if unknown:
        log.warning("%s: streams the venue cannot replay were skipped: %s", path,
                    ", ".join(f"{s} ({k})" for s, k in unknown.most_common(3)))
    if not ts_ns:
        raise ReplayDataError(f"{path}: holds no depth, trade or bookTicker message to replay")
    cols = {c: np.asarray(v, dtype=np.float64 if c in ("q1", "q2") else np.int64) for c, v in rows.items()}
    columns = CaptureColumns(path, spec.symbol, futures, cols, np.asarray(lv_bid, dtype=np.int8),
                             np.asarray(lv_tick, dtype=np.int64), np.asarray(lv_qty, dtype=np.float64), skipped,
                             _clock_offset(cols["feed_ms"]))
    _group_levels(columns)
    return columns


def _group_levels(c: CaptureColumns) -> None:
    """Order each message's levels as the book applies them (bids set, bids removed, asks set, asks removed; a
    stable sort, so each group keeps its recorded order) and note where the first three groups end."""
    starts, counts = c.cols["lv_start"], c.cols["lv_count"]
    owner = np.repeat(np.arange(len(counts)), counts)
    group = np.where(c.lv_bid.astype(bool), 0, 2) + (c.lv_qty <= 0)
    key = owner * 4 + group
    by = np.argsort(key, kind="stable")
    c.lv_bid, c.lv_tick, c.lv_qty = c.lv_bid[by], c.lv_tick[by], c.lv_qty[by]
    ends = starts[:, None] + np.cumsum(np.bincount(key, minlength=4 * len(counts)).reshape(-1, 4), axis=1)
    for k in range(3):
        c.cols[f"lv_e{k + 1}"] = ends[:, k].astype(np.int64)


def _clock_offset(feed: np.ndarray) -> int:
    """The recorder's clock against the exchange's: the 1st percentile of (receive time - event time). Receive
    minus event time is the feed delay plus this offset (one capture here ran 1.27 s behind Binance's clock), so
    the delay is measured above the fastest messages'."""
    known = feed[feed > UNKNOWN_MS]
    return int(np.percentile(known, 1)) if len(known) else 0
