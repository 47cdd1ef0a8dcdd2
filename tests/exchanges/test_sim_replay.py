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
