"""Every structure the simulated venue returns passes ccxt's own validators (ccxt/test/exchange/base)."""

from __future__ import annotations

import pytest
from ccxt.test.exchange.base.test_balance import test_balance as check_balance
from ccxt.test.exchange.base.test_currency import test_currency as check_currency
from ccxt.test.exchange.base.test_market import test_market as check_market
from ccxt.test.exchange.base.test_ohlcv import test_ohlcv as check_ohlcv
from ccxt.test.exchange.base.test_order import test_order as check_order
from ccxt.test.exchange.base.test_order_book import test_order_book as check_order_book
from ccxt.test.exchange.base.test_position import test_position as check_position
from ccxt.test.exchange.base.test_status import test_status as check_status
from ccxt.test.exchange.base.test_ticker import test_ticker as check_ticker
from ccxt.test.exchange.base.test_trade import test_trade as check_trade

from engine.clock import SimClock
from engine.exchanges import create_exchange

SKIP: dict = {}


@pytest.fixture(scope="module")
def venue():
    """A synthetic venue with some history, open orders, fills and positions on both kinds of market."""
    clock = SimClock()
    ex = create_exchange("sim", {"seed": 11}, clock=clock)
    ex.load_markets()
    ex.set_margin_mode("isolated", "ETH/USDT:USDT")
    for symbol in ("BTC/USDT", "ETH/USDT:USDT", "BTC/USDT:USDT"):
        ob = ex.fetch_order_book(symbol)
        ex.create_order(symbol, "market", "buy", ex.markets[symbol]["limits"]["amount"]["min"] * 100)
        bid = ob["bids"][3][0]
        ask = ob["asks"][3][0]
        amount = ex.markets[symbol]["limits"]["amount"]["min"] * 200
        ex.create_order(symbol, "limit", "buy", amount, bid, {"clientOrderId": f"b-{symbol[:3]}-{len(symbol)}"})
        ex.create_order(symbol, "limit", "sell", amount, ask, {"postOnly": True})
    clock.advance(120)
    return ex


def test_markets_and_currencies(venue):
    markets = venue.fetch_markets()
    symbols = {m["symbol"] for m in markets}
    assert {"BTC/USDT", "ETH/USDT", "SOL/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT", "SOL/USDT:USDT"} <= symbols
    for m in markets:
        check_market(venue, SKIP, "fetchMarkets", m)
    for c in venue.fetch_currencies().values():
        check_currency(venue, SKIP, "fetchCurrencies", c)


@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT:USDT"])
def test_market_data(venue, symbol):
    now = venue.fetch_time()
    check_ticker(venue, SKIP, "fetchTicker", venue.fetch_ticker(symbol), symbol)
    book = venue.fetch_order_book(symbol)
    check_order_book(venue, SKIP, "fetchOrderBook", book, symbol)
    assert len(book["bids"]) >= 20 and len(book["asks"]) >= 20
    candles = venue.fetch_ohlcv(symbol, "1m", limit=200)
    assert len(candles) >= 100
    for c in candles:
        check_ohlcv(venue, SKIP, "fetchOHLCV", c, symbol, now)
    for c in venue.fetch_ohlcv(symbol, "1h"):
        check_ohlcv(venue, SKIP, "fetchOHLCV", c, symbol, now)
    trades = venue.fetch_trades(symbol, limit=50)
    assert trades
    for t in trades:
        check_trade(venue, SKIP, "fetchTrades", t, symbol, now, True)


def test_tickers(venue):
    tickers = venue.fetch_tickers()
    assert set(tickers) == set(venue.symbols)
    for s, t in tickers.items():
        check_ticker(venue, SKIP, "fetchTickers", t, s)


def test_account_structures(venue):
    now = venue.fetch_time()
    check_balance(venue, SKIP, "fetchBalance", venue.fetch_balance())
    open_orders = venue.fetch_open_orders()
    closed = venue.fetch_closed_orders()
    assert open_orders and closed
    for o in open_orders + closed:
        check_order(venue, SKIP, "fetchOrders", o, o["symbol"], now)
    o = open_orders[0]
    check_order(venue, SKIP, "fetchOrder", venue.fetch_order(o["id"], o["symbol"]), o["symbol"], now)
    trades = venue.fetch_my_trades()
    assert trades
    for t in trades:
        check_trade(venue, SKIP, "fetchMyTrades", t, t["symbol"], now, False)
    positions = venue.fetch_positions()
    assert {p["marginMode"] for p in positions} == {"cross", "isolated"}
    for p in positions:
        check_position(venue, SKIP, "fetchPositions", p, p["symbol"], now)
    check_status(venue, SKIP, "fetchStatus", venue.fetch_status(), now)


def test_order_lifecycle_structures(venue):
    now = venue.fetch_time()
    book = venue.fetch_order_book("SOL/USDT")
    created = venue.create_order("SOL/USDT", "limit", "buy", 1, book["bids"][5][0], {"clientOrderId": "life-1"})
    check_order(venue, SKIP, "createOrder", created, "SOL/USDT", now)
    canceled = venue.cancel_order(created["id"], "SOL/USDT")
    assert canceled["status"] == "canceled"
    check_order(venue, SKIP, "cancelOrder", canceled, "SOL/USDT", now)
    venue.create_order("SOL/USDT", "limit", "buy", 1, book["bids"][6][0])
    for o in venue.cancel_all_orders("SOL/USDT"):
        check_order(venue, SKIP, "cancelAllOrders", o, "SOL/USDT", now)


def test_derivative_settings(venue):
    assert venue.set_leverage(20, "SOL/USDT:USDT")["leverage"] == 20
    assert venue.set_margin_mode("isolated", "SOL/USDT:USDT")["marginMode"] == "isolated"
    assert venue.set_position_mode(False)["hedged"] is False
    rate = venue.fetch_funding_rate("BTC/USDT:USDT")
    assert rate["symbol"] == "BTC/USDT:USDT"
    assert -0.0075 <= rate["fundingRate"] <= 0.0075
    assert rate["fundingTimestamp"] > venue.fetch_time()
    assert rate["fundingTimestamp"] % (8 * 3_600_000) == 0
