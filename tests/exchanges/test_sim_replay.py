"""Replay of the recorded Binance captures: book rules, gaps, and a venue that trades on them."""

from __future__ import annotations

import pytest

from engine.exchanges import create_exchange
from engine.exchanges.sim.replay import BinanceReplaySource, rebuild_book
from tests.conftest import shared_file
from tests.exchanges.capture import T0, simple_book


class Recorder:
    def __init__(self, source: BinanceReplaySource) -> None:
        self.source = source
        self.crossed = 0
        self.books = 0
        self.trades: list[int] = []

    def on_trade(self, symbol, ts_ms, tick, qty, aggressor_buy) -> None:
        self.trades.append(ts_ms)

    def on_book(self, symbol, ts_ms) -> None:
        self.books += 1
        if self.source.book(symbol).crossed():
            self.crossed += 1

    def on_top(self, symbol, ts_ms, bid_tick, ask_tick) -> None:
        self.on_book(symbol, ts_ms)


@pytest.fixture(scope="module")
def btc_spot_files():
    return [shared_file("binance-l2/spot/btcusdt_20240808.gz"), shared_file("binance-l2/spot/btcusdt_20240809.gz")]


def test_recorded_book_never_crosses_and_has_no_gaps(btc_spot_files):
    src = BinanceReplaySource(btc_spot_files)
    rec = Recorder(src)
    src.advance(2**62, rec)
    stats = src.stats()["BTC/USDT"]
    assert stats.messages == 99_574
    assert stats.snapshots == 1 and stats.gaps == []
    assert stats.depth_applied > 6_000
    assert rec.books > 70_000 and rec.crossed == 0
    assert rec.trades == sorted(rec.trades)  # timestamp order across the two files


def test_replayed_book_equals_a_rebuild_from_scratch_at_sampled_times(btc_spot_files):
    src = BinanceReplaySource(btc_spot_files)
    rec = Recorder(src)
    start = src.start_ms()
    for minutes in (1, 3, 5.5, 8, 10.8):
        t = int(start + minutes * 60_000)
        src.advance(t, rec)
        reference, _ = rebuild_book(btc_spot_files, t)
        live = src.book("BTC/USDT")
        assert live.bids == reference.bids and live.asks == reference.asks
        assert live.depth()[0] > 500 and not live.crossed()


def test_futures_capture_follows_pu_chaining():
    src = BinanceReplaySource([shared_file("binance-l2/usdm/btcusdt_20240808.gz")])
    rec = Recorder(src)
    src.advance(2**62, rec)
    stats = src.stats()["BTC/USDT:USDT"]
    assert stats.snapshots == 1 and stats.depth_applied > 6_000 and stats.trades > 20_000
    assert stats.gaps == [] and rec.crossed == 0


def test_sequence_gap_is_detected_and_reported(tmp_path, caplog):
    cap = simple_book().diff(100, bids=[("100.00", "6")])
    cap.u += 50  # 50 updates lost
    cap.diff(200, bids=[("100.00", "7")])
    src = BinanceReplaySource([cap.write(tmp_path / "btcusdt_gap.gz")])
    src.advance(T0 + 1_000, Recorder(src))
    (gap,) = src.stats()["BTC/USDT"].gaps
    assert gap.expected == 1003 and gap.got == 1053 and gap.ts_ms == T0 + 200
    assert "expected update id 1003, got 1053" in caplog.text


def test_a_venue_trades_on_the_recording(btc_spot_files):
    ex = create_exchange("sim", {"source": {"type": "replay", "files": btc_spot_files}})
    assert ex.symbols == ["BTC/USDT"]
    ex.clock.advance(1)
    book = ex.fetch_order_book("BTC/USDT", 5)
    bid, ask = book["bids"][0][0], book["asks"][0][0]
    assert 61_000 < bid < ask < 62_500
    ticker = ex.fetch_ticker("BTC/USDT")
    assert ticker["bid"] <= ticker["ask"]
    buy = ex.create_order("BTC/USDT", "limit", "buy", 0.01, round(bid - 5, 2))
    sell = ex.create_order("BTC/USDT", "limit", "sell", 0.01, round(ask + 5, 2))
    ex.clock.advance(600)
    statuses = {ex.fetch_order(buy["id"])["status"], ex.fetch_order(sell["id"])["status"]}
    assert "closed" in statuses  # BTC moved more than $5 in ten minutes
    assert ex.fetch_ohlcv("BTC/USDT", "1m")


def test_candle_files_drive_a_coarse_market():
    candles = shared_file("candles-1m/BTC_USDT-1m.csv.gz")
    ex = create_exchange("sim", {"source": {"type": "candles", "files": [candles]}})
    first = ex.fetch_ticker("BTC/USDT")
    ex.clock.advance(3 * 3600)
    candles = ex.fetch_ohlcv("BTC/USDT", "1m", limit=180)
    assert len(candles) >= 170
    closes = [c[4] for c in candles]
    assert 60_000 < min(closes) and max(closes) < 80_000
    book = ex.fetch_order_book("BTC/USDT")
    assert len(book["bids"]) >= 20 and book["bids"][0][0] < book["asks"][0][0]
    assert first["bid"] != ex.fetch_ticker("BTC/USDT")["bid"]


class Banded:
    """A sink whose orders rest at ``low`` (buy) and ``high`` (sell): it records the best bid/asks that reach them
    and, with ``band`` True, tells the source its quiet band."""

    def __init__(self, low: int, high: int, band: bool) -> None:
        self.low, self.high = low, high
        self.reached: list[tuple[int, int, int]] = []
        self.passed = 0
        if band:
            self.quiet_band = lambda symbol: (self.low, self.high)

    def on_trade(self, *a) -> None: ...

    def on_book(self, *a) -> None: ...

    def on_top(self, symbol, ts_ms, bid_tick, ask_tick) -> None:
        self.passed += 1
        if ask_tick <= self.low or bid_tick >= self.high:
            self.reached.append((ts_ms, bid_tick, ask_tick))


def test_best_bid_asks_inside_the_quiet_band_are_passed_over_and_the_rest_arrive_the_same(btc_spot_files):
    """With the sink's quiet band, runs of best bid/asks that stay inside it are skipped; every one that reaches the
    band still arrives, at the same time, and the market's best after each step is the same. The orders follow the
    market 10 USDT (under 2 bps) either side of it, as quotes would."""
    plain, fast = BinanceReplaySource(btc_spot_files), BinanceReplaySource(btc_spot_files)
    plain.advance(plain.start_ms() + 60_000, Banded(0, 0, False))
    fast.advance(fast.start_ms() + 60_000, Banded(0, 0, False))
    bb, _, ba, _ = plain.best("BTC/USDT")
    every, banded = Banded(bb - 1000, ba + 1000, False), Banded(bb - 1000, ba + 1000, True)
    t = plain.start_ms() + 60_000
    while not plain.finished:
        t += 97
        plain.advance(t, every)
        fast.advance(t, banded)
        assert fast.best("BTC/USDT") == plain.best("BTC/USDT")
        bb, _, ba, _ = plain.best("BTC/USDT")
        for sink in (every, banded):
            sink.low, sink.high = bb - 1000, ba + 1000
    assert banded.reached == every.reached and len(every.reached) > 500
    assert banded.passed < every.passed / 5  # most were passed over


def test_best_bid_asks_older_than_the_book_are_judged_by_the_book_s_top(tmp_path):
    """Best bid/asks whose update id the book's levels are past are sent with the book's own top; a run of them whose
    own prices sit inside the band is not passed over when that top reaches the band."""
    cap = simple_book()
    cap.diff(5, asks=[("100.01", "2")])  # the book's levels are now at update id 1002
    for k in range(5):
        cap.ticker(10 + k, "99.95", "100.05", u=1000 + k % 2)  # older than the levels, prices inside the band
    for k in range(5):
        cap.ticker(20 + k, "99.95", "100.05", u=1003 + k)  # fresh ones inside the band: passed over
    path = cap.write(tmp_path / "btcusdt_stale.gz")
    got = {}
    for band in (False, True):
        src = BinanceReplaySource([path], cache=tmp_path / "cache")
        sink = Banded(10001, 10010, band)  # our buy at the best ask 100.01: the book's top reaches it
        src.advance(T0 + 100, sink)
        got[band] = (sink.reached, sink.passed, src.best("BTC/USDT"))
    assert got[True][0] == got[False][0] == [(T0 + 10 + k, 10000, 10001) for k in range(5)]
    assert got[False][1] == 10 and got[True][1] == 5  # the fresh run went by in one step
    assert got[True][2] == got[False][2] == (9995, 1.0, 10005, 1.0)


def test_running_max_restarts_per_segment_and_skips_what_is_not_counted():
    import numpy as np

    from engine.exchanges.sim.replay import _running_max

    values = np.array([5, 9, 2, 7, 1, 3, 8, 4])
    segment = np.array([0, 1, 1, 1, 2, 2, 2, 3])
    counted = np.array([True, True, True, False, True, True, True, True])
    assert _running_max(values, segment, counted)[counted].tolist() == [5, 9, 9, 1, 3, 8, 4]
    assert _running_max(-values, segment, counted)[counted].tolist() == [-5, -9, -2, -1, -1, -1, -4]


def test_ticker_runs_on_prices_too_far_apart_to_scan_pass_nothing_over():
    """Prices whose span times the runs would overflow int64: no run is passed over, and nothing fails."""
    import numpy as np

    from engine.exchanges.sim.capture_columns import TICKER, TRADE
    from engine.exchanges.sim.replay import _running_max, _TickerRuns

    kind = np.array([TICKER, TICKER, TRADE, TICKER, TICKER, TRADE, TICKER, TICKER])
    far = np.array([1, 2, 0, 1 << 61, 3, 0, 4, 5])
    col = {"kind": kind, "sym": np.zeros(8, dtype=np.int64), "t1": far, "t2": far + 1}
    assert _running_max(far, np.cumsum(kind == TICKER), kind == TICKER) is None
    runs = _TickerRuns(col)
    assert runs.end == [0] * 8 and runs.whole == {}
    near = _TickerRuns({**col, "t1": far % 100, "t2": far % 100 + 1})
    assert near.end == [2, 2, 0, 5, 5, 0, 8, 8] and near.whole == {0: (2, 2, 2), 3: (5, 52, 4), 6: (8, 5, 5)}
