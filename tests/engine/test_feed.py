"""The websocket book feed: its own thread and event loop, reconnect with backoff, and REST only as fallback."""

from __future__ import annotations

import time

import ccxt

from engine import service
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.feed import BookFeed, SimWatcher
from engine.runtime import Engine
from tests.engine.test_runtime import make_config_dir


def test_feed_keeps_books_fresh_and_reconnects_after_errors():
    venue = create_exchange("sim", {"faults": {"error_rates": {"fetch_order_book": 0.3}}})  # real time
    feed = BookFeed(SimWatcher(venue, interval_s=0.02), ["BTC/USDT", "ETH/USDT"], backoff_base_s=0.01,
                    backoff_max_s=0.05)
    feed.start()
    try:
        deadline = time.monotonic() + 10
        while (feed.updates < 40 or feed.reconnects < 3) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert feed.updates >= 40 and feed.reconnects >= 3  # errors happen, and books keep coming
        assert "NetworkError" in feed.last_error or "Request" in feed.last_error or "Exchange" in feed.last_error
        book = feed.latest("BTC/USDT")
        assert book["symbol"] == "BTC/USDT" and book["bids"][0][0] < book["asks"][0][0]
    finally:
        feed.stop()
    assert not feed.running  # the thread and its event loop are gone
    time.sleep(2.1)
    assert feed.latest("BTC/USDT") is None  # a stale book is not served


def test_the_trader_reads_books_from_the_feed_not_rest(tmp_path):
    cfg = load_config(make_config_dir(tmp_path, engine={"feed": "on"}), env={})
    engine = Engine(cfg)  # the wall clock
    engine.start(schedule=False)
    try:
        assert engine.trader.feed is not None and engine.trader.feed.running
        deadline = time.monotonic() + 10
        while any(engine.trader.feed.latest(s) is None for s in engine.trader.symbols):
            feed = engine.trader.feed
            assert time.monotonic() < deadline, (feed.running, feed.updates, feed.reconnects, feed.last_error)
            time.sleep(0.05)
        before = engine.api.by_method["fetch_order_book"]
        for _ in range(20):
            engine.risk_cycle()
            engine.quote_cycle()
            time.sleep(0.05)
        assert engine.api.by_method["fetch_order_book"] == before  # no REST book request while the feed is fresh
        assert engine.exchange.fetch_open_orders()
        # A symbol enabled while the feed runs streams its book too (it used to be read over REST until a restart).
        assert "BTC/USDT:USDT" not in engine.trader.symbols
        service.apply_changes(engine, {"symbols": {"sim": {"BTC/USDT:USDT": {"enabled": True}}}})
        assert "BTC/USDT:USDT" in engine.trader.feed.symbols
        deadline = time.monotonic() + 10
        while engine.trader.feed.latest("BTC/USDT:USDT") is None:
            assert time.monotonic() < deadline, engine.trader.feed.last_error
            time.sleep(0.05)
    finally:
        engine.stop()
    assert engine.trader.feed is None


def test_fills_arrive_over_the_stream_and_rest_is_only_a_safety_net(tmp_path):
    cfg = load_config(make_config_dir(tmp_path, engine={"feed": "on"},
                                      strategy={"spread_bps": 2, "min_spread_bps": 1, "fee_aware": False}), env={})
    engine = Engine(cfg)  # the wall clock: the market moves in real time
    engine.start(schedule=False)
    try:
        assert engine.trader.account_feed is not None and engine.trader.account_feed.running
        rest_before = engine.api.by_method["fetch_my_trades"]
        deadline = time.monotonic() + 40
        while engine.trader.ledger.fills < 3:
            feed = engine.trader.account_feed
            assert time.monotonic() < deadline, (feed.updates, feed.last_error)
            engine.risk_cycle()
            engine.quote_cycle()
            time.sleep(0.1)
        assert engine.trader.account_feed.updates >= 1  # the fills came over the stream
        assert engine.api.by_method["fetch_my_trades"] - rest_before <= 2  # REST only as the 30 s safety net
    finally:
        engine.stop()
    assert engine.trader.account_feed is None


def test_order_updates_arrive_over_the_stream_and_rest_reconciliation_becomes_a_safety_net(tmp_path):
    cfg = load_config(make_config_dir(tmp_path, engine={"feed": "on"}), env={})
    engine = Engine(cfg)  # the wall clock
    engine.start(schedule=False)
    try:
        feed = engine.trader.account_feed
        assert feed is not None and feed.orders and feed.fills
        assert service.venue_rows(engine)[0]["streams"] == "books, tickers, fills, orders"  # the connections page
        engine.quote_cycle()
        rec = next(r for r in engine.trader.orders.values() if r.status == "open")
        rest_before = (engine.api.by_method["fetch_open_orders"], engine.api.by_method["fetch_order"])
        engine.exchange.cancel_order(rec.exchange_order_id, rec.symbol)  # cancelled elsewhere (the web UI, say)
        deadline = time.monotonic() + 10
        while rec.client_order_id in engine.trader.orders:
            assert time.monotonic() < deadline, (feed.order_updates, feed.last_error)
            time.sleep(0.05)
            with engine.work:
                engine.trader.apply_streamed_orders()
        assert rec.status == "canceled"  # learned from the stream ...
        assert (engine.api.by_method["fetch_open_orders"], engine.api.by_method["fetch_order"]) == rest_before
        assert engine.trader.reconcile_due() is None  # ... so REST reconciliation waits for its 60 s safety net
    finally:
        engine.stop()
    assert engine.trader.account_feed is None
    assert service.venue_rows(engine)[0]["streams"] == "none (REST polling)"


def test_marks_for_held_currencies_come_from_streamed_tickers(tmp_path):
    symbols = {"sim": {"BTC/USDT": {"enabled": True}, "ETH/USDT": {"enabled": False},
                       "SOL/USDT": {"enabled": False}}}
    cfg = load_config(make_config_dir(tmp_path, engine={"feed": "on"}, symbols=symbols), env={})
    engine = Engine(cfg)
    engine.start(schedule=False)
    try:
        feed = engine.trader.feed
        assert set(feed.ticker_symbols) >= {"ETH/USDT", "SOL/USDT"}
        deadline = time.monotonic() + 10
        while feed.ticker("SOL/USDT") is None or feed.latest("BTC/USDT") is None:
            assert time.monotonic() < deadline, (feed.updates, feed.last_error)
            time.sleep(0.05)
        engine.quote_cycle()  # a fresh view of BTC/USDT
        before = engine.api.by_method["fetch_tickers"]
        engine.metrics_cycle()
        engine.risk_cycle()
        assert engine.api.by_method["fetch_tickers"] == before  # ETH and SOL (held, not quoted) priced from the stream
        engine.marks(engine.api.fetch_balance(), views=engine.trader.views)  # without the stream: one REST request
        assert engine.api.by_method["fetch_tickers"] == before + 1
    finally:
        engine.stop()


class _NoFillStream(SimWatcher):
    """An exchange whose websocket has order updates but needs a symbol for fills (as some do in ccxt.pro)."""

    async def watch_my_trades(self, symbol=None, since=None, limit=None):
        raise ccxt.ArgumentsRequired("watchMyTrades() requires a symbol argument")


def test_a_stream_the_exchange_cannot_give_falls_back_to_rest_at_full_pace(tmp_path, caplog):
    from engine.feed import AccountFeed

    cfg = load_config(make_config_dir(tmp_path), env={})
    engine = Engine(cfg)
    engine.start(schedule=False)
    feed = AccountFeed(_NoFillStream(engine.exchange), backoff_base_s=0.01)
    engine.trader.account_feed = feed
    feed.start()
    try:
        deadline = time.monotonic() + 5
        while "my trades" not in feed.failing:
            assert time.monotonic() < deadline
            time.sleep(0.02)
        time.sleep(0.3)
        assert not feed.fills_up and feed.running  # the order stream still runs
        assert feed.reconnects == 0 and caplog.text.count("not available over the websocket") == 1  # no retry loop
        before = engine.api.by_method["fetch_my_trades"]
        for _ in range(3):
            engine.trader.poll_fills()
        assert engine.api.by_method["fetch_my_trades"] == before + 3  # REST every cycle, not every 30 s
        assert "fills" not in service.venue_rows(engine)[0]["streams"]
    finally:
        feed.stop()
        engine.trader.account_feed = None
        engine.stop()
