"""Paper trading on live data: the simulated venue streams a real exchange's public market (here the local Binance
imitation, over REST and over its websocket) and matches our orders against it with the queue-aware rules."""

from __future__ import annotations

import time
from collections.abc import Callable

import ccxt
import pytest

from engine.exchanges.sim import SimConfigError, SimExchange
from engine.exchanges.sim.config import parse_sim_config
from tests.fakes.binance import FakeBinance, FakeBinanceFutures
from tests.fakes.binance_market import ScriptedMarket
from tests.fakes.binance_ws import FakeBinanceStreams

BOOK = ([(100.00, 2.0), (99.99, 1.0)], [(100.10, 3.0), (100.11, 1.0)])


def eventually(check: Callable[[], object], timeout_s: float = 8.0, what: str = "the condition") -> object:
    """Wait (polling) until ``check()`` is truthy; fail naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def paper_venue(url: str, **source: object) -> SimExchange:
    return SimExchange({"source": {"type": "live", "exchange": "binance", "symbols": ["BTC/USDT"],
                                   "transport": "rest", "poll_ms": 100, "api_url": url, "warmup_minutes": 0,
                                   "stale_after_s": 1.5, **source}})


def fresh_book(venue: SimExchange, symbol: str = "BTC/USDT") -> dict | None:
    """The venue's book of ``symbol``, or None while its live data is not fresh."""
    try:
        return venue.fetch_order_book(symbol)
    except ccxt.ExchangeNotAvailable:
        return None


def printed(venue: SimExchange, n: int) -> bool:
    return len(venue.fetch_trades("BTC/USDT")) >= n


@pytest.fixture
def market():
    m = ScriptedMarket()
    m.set_book("BTCUSDT", *BOOK)
    return m


def test_an_order_rests_and_a_print_at_its_price_fills_it_behind_the_queue(market):
    with FakeBinance(SimExchange({}), market=market) as fake:
        venue = paper_venue(fake.url)
        try:
            book = eventually(lambda: fresh_book(venue), what="the first book")
            assert book["bids"][0] == [100.0, 2.0] and book["asks"][0] == [100.1, 3.0]
            # The exchange's own market: its tick, lot and minimum notional from exchangeInfo, 0.1% fees.
            spec = venue.specs["BTC/USDT"]
            assert (spec.tick, spec.min_cost, spec.maker) == (0.01, 5.0, 0.001)
            order = venue.create_order("BTC/USDT", "limit", "buy", 0.5, 100.0, {"clientOrderId": "mm-paper-1"})
            assert order["status"] == "open"  # 2.0 BTC rest ahead of it at 100.00

            market.print_trade("BTCUSDT", 100.0, 1.5, buyer_maker=True)  # a sell takes 1.5 of the 2.0 ahead
            eventually(lambda: printed(venue, 1), what="the first print")
            assert venue.fetch_order(order["id"], "BTC/USDT")["filled"] == 0.0

            market.print_trade("BTCUSDT", 100.0, 1.0, buyer_maker=True)  # 0.5 left ahead, then 0.5 of ours
            done = eventually(lambda: (o := venue.fetch_order(order["id"], "BTC/USDT"))["status"] == "closed" and o,
                              what="the fill")
            assert done["filled"] == 0.5 and done["average"] == 100.0
            fill = venue.fetch_my_trades("BTC/USDT")[-1]
            assert fill["takerOrMaker"] == "maker" and fill["fee"]["cost"] == pytest.approx(0.5 * 100.0 * 0.001)
            assert venue.fetch_balance()["BTC"]["total"] == pytest.approx(0.05 + 0.5)
            # A print on the other side, away from our price, fills nothing more.
            market.print_trade("BTCUSDT", 100.10, 0.2, buyer_maker=False)
            eventually(lambda: printed(venue, 3), what="the third print")
            assert len(venue.fetch_my_trades("BTC/USDT")) == 1
            # Nothing was sent to the exchange but reads: no order endpoint was ever called.
            assert {r["path"] for r in fake.requests} <= {"/api/v3/exchangeInfo", "/api/v3/depth",
                                                            "/api/v3/aggTrades", "/api/v3/klines"}
        finally:
            venue.close()


def test_a_dropped_stream_reconnects_and_resumes_without_applying_anything_twice(market):
    with FakeBinance(SimExchange({}), market=market) as fake:
        venue = paper_venue(fake.url)
        try:
            eventually(lambda: fresh_book(venue), what="the first book")
            order = venue.create_order("BTC/USDT", "limit", "sell", 0.05, 100.11, {"clientOrderId": "mm-paper-2"})
            market.print_trade("BTCUSDT", 100.10, 0.4, buyer_maker=False)
            eventually(lambda: printed(venue, 1), what="the first print")

            fake.down = True  # the exchange stops answering: every poll fails and the stream reconnects
            status = eventually(lambda: (s := venue.source.status())["reconnects"] >= 2 and s, what="reconnects")
            assert "BTC/USDT" in status["reconnecting"] and "-1001" in status["last_error"]
            with pytest.raises(ccxt.ExchangeNotAvailable, match="book is .* old .*reconnecting"):
                eventually(lambda: fresh_book(venue) is None and venue.fetch_order_book("BTC/USDT"),
                           what="the book to go stale")
            with pytest.raises(ccxt.ExchangeNotAvailable):  # no order is matched against a book we cannot see
                venue.create_order("BTC/USDT", "limit", "buy", 0.01, 99.0)
            # Meanwhile the market goes on: the ask at our price is taken, and a print goes through our order.
            market.set_book("BTCUSDT", BOOK[0], [(100.11, 1.0), (100.12, 4.0)])
            market.print_trade("BTCUSDT", 100.12, 1.5, buyer_maker=False)

            fake.down = False
            eventually(lambda: fresh_book(venue), what="the stream to come back")
            eventually(lambda: printed(venue, 2), what="the print made while it was down")
            time.sleep(0.5)  # several more polls: each repeats the newest print and the same book
            prints = venue.fetch_trades("BTC/USDT")
            assert [(t["price"], t["amount"]) for t in prints] == [(100.10, 0.4), (100.12, 1.5)]
            market_status = venue.source.status()["markets"]["BTC/USDT"]
            assert market_status["repeats_dropped"] >= 3 and market_status["books"] == 2  # two update ids, once each
            assert venue.source._markets["BTC/USDT"].stale_books_dropped >= 3
            # The print through our price filled us once, at our price, as a maker.
            filled = venue.fetch_order(order["id"], "BTC/USDT")
            assert filled["status"] == "closed" and len(venue.fetch_my_trades("BTC/USDT")) == 1
            assert venue.fetch_order_book("BTC/USDT")["asks"][:2] == [[100.11, 1.0], [100.12, 4.0]]
        finally:
            venue.close()


def test_paper_trading_settings_are_checked_before_anything_streams(market):
    with pytest.raises(SimConfigError, match="sim.source.exchange = 'nowhere'"):
        parse_sim_config({"source": {"type": "live", "exchange": "nowhere", "symbols": ["BTC/USDT"]}})
    with pytest.raises(SimConfigError, match="sim.source.transport = 'pigeon'"):
        parse_sim_config({"source": {"type": "live", "exchange": "binance", "transport": "pigeon"}})
    with pytest.raises(SimConfigError, match=r"sim.source.poll_ms is for paper trading on live data"):
        parse_sim_config({"source": {"type": "synthetic", "poll_ms": 100}})
    with FakeBinance(SimExchange({}), market=market) as fake:
        with pytest.raises(SimConfigError, match="binance does not list 'DOGE/EUR'"):
            paper_venue(fake.url, symbols=["BTC/USDT", "DOGE/EUR"])
        with pytest.raises(SimConfigError, match="symbols is empty"):
            paper_venue(fake.url, symbols=[])


def test_an_unreachable_exchange_is_named_with_the_fix():
    with pytest.raises(ccxt.ExchangeNotAvailable, match=r"paper trading: could not reach binance for its markets "
                                                        r"\(NetworkError\); check the network"):
        paper_venue("http://127.0.0.1:9")  # nothing listens on the discard port


def test_a_paper_account_kept_on_another_market_is_not_reused(market, tmp_path):
    state = str(tmp_path / "paper.sqlite")
    SimExchange({"state_path": state}).close()  # a synthetic-market account
    with FakeBinance(SimExchange({}), market=market) as fake:
        with pytest.raises(SimConfigError, match="kept on the synthetic market; this venue trades the binance live "
                                                 "market: give it its own state_path"):
            SimExchange({"state_path": state, "source": {"type": "live", "exchange": "binance", "symbols": ["BTC/USDT"],
                                                         "transport": "rest", "api_url": fake.url}})
        venue = paper_venue(fake.url, warmup_minutes=0)
        venue.close()


def test_over_the_websocket_a_dropped_connection_resubscribes_and_resyncs_the_book_once(market):
    with FakeBinanceStreams(FakeBinance(SimExchange({}), market=market), market) as fake:
        venue = paper_venue(fake.url, transport="auto")  # ccxt.pro streams Binance: the websocket it is
        try:
            assert venue.source.transport == "websocket"
            eventually(lambda: fresh_book(venue), what="the first book")
            assert {"btcusdt@depth@100ms", "btcusdt@trade"} <= set(fake.subscriptions)
            order = venue.create_order("BTC/USDT", "limit", "buy", 0.5, 100.0, {"clientOrderId": "mm-paper-ws"})
            market.set_book("BTCUSDT", [(100.00, 2.5), (99.99, 1.0)], BOOK[1])  # 0.5 joins behind us: 2.0 ahead
            eventually(lambda: venue.fetch_order_book("BTC/USDT")["bids"][0] == [100.0, 3.0],
                       what="the diff (2.5 shown plus our 0.5)")
            market.print_trade("BTCUSDT", 100.0, 1.5, buyer_maker=True)
            eventually(lambda: printed(venue, 1), what="the first streamed print")
            assert venue.fetch_order(order["id"], "BTC/USDT")["filled"] == 0.0

            books_before = venue.source.status()["markets"]["BTC/USDT"]["books"]
            fake.drop()  # the connection is cut: ccxt.pro fails the watches, the feed reconnects and resubscribes
            eventually(lambda: fake.connections >= 2 and venue.source.status()["reconnects"] >= 1,
                       what="the reconnect")
            eventually(lambda: fake.subscriptions.count("btcusdt@depth@100ms") >= 2, what="the resubscription")
            time.sleep(0.5)
            # The fresh snapshot has the sequence already applied: it is not applied again.
            assert venue.source.status()["markets"]["BTC/USDT"]["books"] == books_before
            market.print_trade("BTCUSDT", 100.0, 1.0, buyer_maker=True)  # 0.5 ahead left, then 0.5 of ours
            done = eventually(lambda: (o := venue.fetch_order(order["id"], "BTC/USDT"))["status"] == "closed" and o,
                              what="the fill after the reconnect")
            assert done["filled"] == 0.5
            assert [t["amount"] for t in venue.fetch_trades("BTC/USDT")] == [1.5, 1.0]  # each print once
            assert not [r for r in fake.rest.requests if r["method"] != "GET"]  # nothing but reads reached Binance
        finally:
            venue.close()


def test_a_perpetual_is_paper_traded_on_the_exchanges_contract_and_funding_rate():
    market = ScriptedMarket()
    market.set_book("BTCUSDT", [(60_000.0, 3.0)], [(60_000.1, 2.0)])
    market.funding["BTCUSDT"] = 0.00037
    with FakeBinanceFutures(SimExchange({}), market=market) as fake:
        venue = paper_venue(fake.url, symbols=["BTC/USDT:USDT"])
        try:
            spec = venue.specs["BTC/USDT:USDT"]
            assert spec.contract and spec.settle == "USDT"  # USD-M, from /fapi/v1/exchangeInfo
            eventually(lambda: fresh_book(venue, "BTC/USDT:USDT"), what="the book")
            rate = eventually(lambda: venue.source.funding_rate("BTC/USDT:USDT"), what="the funding rate")
            assert rate == 0.00037 and venue.fetch_funding_rate("BTC/USDT:USDT")["fundingRate"] == 0.00037
            venue.set_leverage(5, "BTC/USDT:USDT")
            order = venue.create_order("BTC/USDT:USDT", "limit", "buy", 0.01, 60_000.0, {"clientOrderId": "mm-perp"})
            market.print_trade("BTCUSDT", 59_999.0, 1.0, buyer_maker=True)  # through our bid
            done = eventually(lambda: (o := venue.fetch_order(order["id"], "BTC/USDT:USDT"))["status"] == "closed"
                              and o, what="the fill")
            assert done["filled"] == 0.01
            position = venue.fetch_positions(["BTC/USDT:USDT"])[0]
            assert position["contracts"] == 0.01 and position["side"] == "long" and position["leverage"] == 5
            assert {r["path"] for r in fake.requests} <= {"/fapi/v1/exchangeInfo", "/fapi/v1/depth",
                                                            "/fapi/v1/aggTrades", "/fapi/v1/premiumIndex"}
        finally:
            venue.close()



def test_an_unread_venue_keeps_its_queue_bounded(market, monkeypatch):
    from engine.exchanges.sim import live_source

    monkeypatch.setattr(live_source, "INBOX_MAX", 40)
    with FakeBinance(SimExchange({}), market=market) as fake:
        venue = paper_venue(fake.url)
        try:
            eventually(lambda: venue.source.compacted > 0, what="the queue to be compacted")  # books every 100 ms
            assert len(venue.source._inbox) <= 41
            book = fresh_book(venue)  # the newest book is still there
            assert book is not None and book["bids"][0] == [100.0, 2.0]
        finally:
            venue.close()
