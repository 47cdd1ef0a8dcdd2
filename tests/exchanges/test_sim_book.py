"""The sim's L2Book against a plain dict model: random sets, diffs, takes and trims; the replay's grouped diffs
against the capture's levels applied one by one in their recorded order; the cache's grouping."""

from __future__ import annotations

import gzip
import json
import random
import tempfile
from pathlib import Path

import numpy as np
import pytest

from engine.exchanges.sim.book import L2Book
from engine.exchanges.sim.capture_columns import (
    CACHE_VERSION,
    DEPTH,
    SNAPSHOT,
    ReplayDataError,
    _arrays,
    _digest,
    load_capture,
    parse_capture,
)
from engine.exchanges.sim.markets import known_market
from engine.exchanges.sim.replay import BinanceReplaySource
from tests.conftest import shared_file


def best_first(side: dict[int, float], is_bid: bool) -> list[tuple[int, float]]:
    return sorted(side.items(), reverse=is_bid)


def check(book: L2Book, model: tuple[dict, dict]) -> None:
    bids, asks = model
    assert book.bids == bids and book.asks == asks
    assert book.levels(True) == best_first(bids, True) and book.levels(False) == best_first(asks, False)
    assert book.levels(True, 3) == best_first(bids, True)[:3] and book.levels(False, 3) == best_first(asks, False)[:3]
    assert book.best_bid() == (max(bids) if bids else None) and book.best_ask() == (min(asks) if asks else None)
    assert book.ticks(True) == sorted(bids) and book.ticks(False) == sorted(asks)
    assert list(book.walk(True)) == best_first(bids, True) and list(book.walk(False)) == best_first(asks, False)
    assert book.depth() == (len(bids), len(asks))


def test_book_matches_a_dict_model_through_random_changes():
    rng = random.Random(7)
    book, model = L2Book(), ({}, {})
    peak = [0, 0]
    for _ in range(3_000):
        op = rng.random()
        if op < 0.4:  # one diff: levels set and removed on both sides, some removals of absent levels
            sides = [rng.random() < 0.5 for _ in range(rng.randint(0, 12))]
            ticks = [rng.randint(900, 1100) for _ in sides]
            qtys = [rng.choice([0.0, 0.0, rng.uniform(0.1, 5)]) for _ in sides]
            seen: set = set()
            rows = [(s, t, q) for s, t, q in zip(sides, ticks, qtys, strict=True)
                    if (s, t) not in seen and not seen.add((s, t))]  # a diff names a level once
            if rng.random() < 0.5:
                book.update([s for s, _, _ in rows], [t for _, t, _ in rows], [q for _, _, q in rows])
            else:
                group = {(s, keep): [(t, q) for s2, t, q in rows if s2 == s and (q > 0) == keep]
                         for s in (True, False) for keep in (True, False)}
                book.apply(([t for t, _ in group[True, True]], [q for _, q in group[True, True]],
                            [t for t, _ in group[True, False]], [t for t, _ in group[False, True]],
                            [q for _, q in group[False, True]], [t for t, _ in group[False, False]]))
            for s, t, q in rows:
                side = model[0] if s else model[1]
                if q > 0:
                    side[t] = q
                else:
                    side.pop(t, None)
        elif op < 0.6:
            is_bid, qty = rng.random() < 0.5, rng.uniform(0, 8)
            limit = rng.choice([None, rng.randint(900, 1100)])
            side = model[0] if is_bid else model[1]
            expected, left = [], qty
            for t, q in best_first(side, is_bid):
                if left <= 1e-12 or (limit is not None and (t < limit if is_bid else t > limit)):
                    break
                got = min(q, left)
                expected.append((t, got))
                left -= got
                if q <= got + 1e-12:
                    del side[t]
                else:
                    side[t] = q - got
            fills = book.take(is_bid, qty, limit)
            assert [t for t, _ in fills] == [t for t, _ in expected]
            assert np.allclose([q for _, q in fills], [q for _, q in expected])
            for t in side:
                side[t] = (book.bids if is_bid else book.asks)[t]  # float residue as the book keeps it
        elif op < 0.7:
            is_bid, tick = rng.random() < 0.5, rng.randint(950, 1050)
            side = model[0] if is_bid else model[1]
            better = [(t, q) for t, q in best_first(side, is_bid) if (t > tick if is_bid else t < tick)]
            assert book.remove_better_than(is_bid, tick) == better
            for t, _ in better:
                del side[t]
        elif op < 0.75:
            is_bid, keep = rng.random() < 0.5, rng.randint(0, 60)
            side = model[0] if is_bid else model[1]
            for t, _ in best_first(side, is_bid)[keep:]:
                del side[t]
            book.remove_worse_than(is_bid, keep)
        else:
            is_bid, tick, qty = rng.random() < 0.5, rng.randint(900, 1100), rng.choice([0.0, rng.uniform(0.1, 5)])
            book.set(is_bid, tick, qty)
            side = model[0] if is_bid else model[1]
            if qty > 0:
                side[tick] = qty
            else:
                side.pop(tick, None)
        check(book, model)
        peak = [max(peak[0], len(model[0])), max(peak[1], len(model[1]))]
    assert min(peak) > 25  # the walk kept both sides deep


def test_replay_groups_give_the_book_the_recorded_levels_give():
    """Every level of the capture file (read here line by line, not from the cache) applied in its recorded order, one
    at a time, to two dicts (Binance's rules: diffs before the snapshot wait for it; those it already covers are
    dropped)."""
    path = shared_file("binance-l2/spot/btcusdt_20240808.gz")
    src = BinanceReplaySource([path])
    src.advance(2**62, type("Null", (), dict.fromkeys(("on_trade", "on_book", "on_top"), lambda *a: None))())
    bids: dict[int, float] = {}
    asks: dict[int, float] = {}

    def apply(bid_levels: list, ask_levels: list) -> None:
        for side, pairs in ((bids, bid_levels), (asks, ask_levels)):
            for p, q in pairs:
                tick = int(float(p) * 100 + 0.5)  # BTC/USDT's tick: 0.01
                if float(q) > 0:
                    side[tick] = float(q)
                else:
                    side.pop(tick, None)

    snapshot_id, waiting, applied = None, [], 0
    with gzip.open(path, "rb") as fh:
        for line in fh:
            msg = json.loads(line.partition(b" ")[2])
            if "lastUpdateId" in msg:
                snapshot_id = msg["lastUpdateId"]
                apply(msg["bids"], msg["asks"])
                todo, waiting = waiting, []
            elif "@depth" not in msg.get("stream", ""):
                continue
            elif snapshot_id is None:
                waiting.append(msg["data"])
                continue
            else:
                todo = [msg["data"]]
            for d in todo:
                if d["u"] > snapshot_id:
                    apply(d["b"], d["a"])
                    applied += 1
    book = src.book("BTC/USDT")
    assert src.stats()["BTC/USDT"].depth_applied == applied > 3_000
    assert book.bids == bids and book.asks == asks and len(bids) > 500


def test_the_capture_cache_holds_each_message_s_levels_grouped_in_recorded_order():
    """Parsed columns keep each message's levels as bids set, bids removed, asks set, asks removed, each group in the
    file's order; the cache file gives back the same arrays."""
    path = shared_file("binance-l2/spot/btcusdt_20240808.gz")
    spec = known_market("BTC/USDT")
    cap = parse_capture(path, spec, False)
    with gzip.open(path, "rb") as fh:
        books = [m for m in (json.loads(line.partition(b" ")[2]) for line in fh)
                 if "lastUpdateId" in m or "@depth" in m.get("stream", "")]
    rows = np.flatnonzero(np.isin(cap.cols["kind"], [DEPTH, SNAPSHOT]))
    assert len(rows) == len(books) > 3_000
    for i, msg in zip(rows.tolist(), books, strict=True):
        data = msg.get("data", msg)
        b, a = data.get("b", data.get("bids")), data.get("a", data.get("asks"))
        want = [[int(float(p) * 100 + 0.5) for p, q in side if (float(q) > 0) == keep]
                for side, keep in ((b, True), (b, False), (a, True), (a, False))]
        c = cap.cols
        bounds = [c["lv_start"][i], c["lv_e1"][i], c["lv_e2"][i], c["lv_e3"][i], c["lv_start"][i] + c["lv_count"][i]]
        got = [cap.lv_tick[lo:hi].tolist() for lo, hi in zip(bounds, bounds[1:], strict=False)]
        assert got == want
        assert cap.lv_bid[bounds[0]:bounds[2]].all() and not cap.lv_bid[bounds[2]:bounds[4]].any()
    with tempfile.TemporaryDirectory() as folder:
        old = Path(folder) / f"{_digest(path)}-0.01-v2.npz"  # this file's columns as an older version cached them
        old.write_bytes(b"old")
        first, again = load_capture(path, Path(folder)), load_capture(path, Path(folder))
        assert [p.name for p in Path(folder).iterdir()] == [f"{_digest(path)}-0.01-v{CACHE_VERSION}.npy"]
    for k in cap.cols:
        assert np.array_equal(again.cols[k], cap.cols[k]) and np.array_equal(first.cols[k], cap.cols[k])
    for name in ("lv_bid", "lv_tick", "lv_qty"):
        assert np.array_equal(getattr(again, name), getattr(cap, name))


def test_a_sparse_book_beyond_the_tick_walk():
    """Levels further apart than the walk from the best reaches (SCAN_TICKS): the side is sorted instead."""
    from engine.exchanges.sim.book import SCAN_TICKS

    book = L2Book()
    far = 3 * SCAN_TICKS
    book.update([1, 1, 1, 0, 0, 0], [10 * far, 9 * far, 8 * far, 11 * far, 12 * far, 13 * far], [1, 2, 3, 4, 5, 6])
    assert book.levels(True, 2) == [(10 * far, 1), (9 * far, 2)]
    assert book.levels(False, 2) == [(11 * far, 4), (12 * far, 5)]
    assert book.take(True, 1.5) == [(10 * far, 1), (9 * far, 0.5)]
    assert book.best_bid() == 9 * far and book.levels(True, 1) == [(9 * far, 1.5)]
    book.set_ask(11 * far, 0)
    assert book.best_ask() == 12 * far and list(book.walk(False)) == [(12 * far, 5), (13 * far, 6)]
    assert book.remove_better_than(False, 13 * far) == [(12 * far, 5)] and book.best_ask() == 13 * far
    book.remove_worse_than(True, 0)
    assert book.best_bid() is None and book.top() == (None, 0.0, 13 * far, 6)


def test_a_damaged_cache_file_is_parsed_again_and_inconsistent_levels_are_refused(tmp_path, caplog):
    """A truncated cache file is read as missing (parsed again, with a warning); one whose level bounds do not follow
    its messages stops the replay with one line saying to delete the cache."""
    path = shared_file("binance-l2/spot/btcusdt_20240808.gz")
    good = load_capture(path, tmp_path)
    (cached,) = tmp_path.iterdir()
    cached.write_bytes(cached.read_bytes()[:5_000])
    with caplog.at_level("WARNING"):
        again = load_capture(path, tmp_path)
    assert "unreadable" in caplog.text and np.array_equal(again.lv_tick, good.lv_tick)
    broken = load_capture(path, tmp_path)
    i = int(np.flatnonzero(broken.cols["lv_count"] > 2)[0])
    broken.cols["lv_e1"][i] = broken.cols["lv_e2"][i] + 1  # a group that ends after the next one
    with open(cached, "wb") as fh:
        for array in _arrays(broken):
            np.save(fh, array)
    with pytest.raises(ReplayDataError, match="the cached levels do not follow their messages; delete the capture "
                                              "cache under data/"):
        BinanceReplaySource([path], cache=tmp_path)
