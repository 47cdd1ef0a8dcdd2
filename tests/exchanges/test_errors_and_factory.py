"""Errors at the boundary (hierarchy, retries, no duplicate orders) and the exchange factory."""

from __future__ import annotations

import random

import ccxt
import pytest

from engine.clock import SimClock
from engine.config import Credentials, Secret
from engine.exchanges import create_exchange
from engine.exchanges.errors import (
    AuthError,
    ExchangeFailure,
    FundsError,
    MarketError,
    OrderRejected,
    TransientError,
    backoff_s,
    call_with_retry,
    classify,
    place_order_safely,
)
from engine.exchanges.factory import ExchangeConfigError, build_ccxt, prepare


@pytest.mark.parametrize("ccxt_exc, ours", [
    (ccxt.RequestTimeout, TransientError), (ccxt.NetworkError, TransientError),
    (ccxt.ExchangeNotAvailable, TransientError), (ccxt.RateLimitExceeded, TransientError),
    (ccxt.DDoSProtection, TransientError), (ccxt.AuthenticationError, AuthError), (ccxt.PermissionDenied, AuthError),
    (ccxt.AccountSuspended, AuthError), (ccxt.InsufficientFunds, FundsError), (ccxt.InvalidOrder, OrderRejected),
    (ccxt.OrderImmediatelyFillable, OrderRejected), (ccxt.BadSymbol, MarketError),
    (ccxt.ExchangeError, ExchangeFailure),
])
def test_ccxt_errors_map_to_the_hierarchy_with_advice(ccxt_exc, ours):
    err = classify(ccxt_exc("boom"))
    assert type(err) is ours and isinstance(err.cause, ccxt_exc) and err.advice


def test_only_transient_errors_are_retried_with_growing_backoff():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise ccxt.RequestTimeout("slow")
        return "ok"

    assert call_with_retry(flaky, sleep=sleeps.append, rng=random.Random(1)) == "ok"
    assert len(calls) == 3 and len(sleeps) == 2 and sleeps[1] > sleeps[0] * 1.2
    calls.clear()

    def refused():
        calls.append(1)
        raise ccxt.InsufficientFunds("no money")

    with pytest.raises(FundsError, match="no money"):
        call_with_retry(refused, sleep=sleeps.append)
    assert len(calls) == 1  # a refusal is never retried
    assert all(0.5 * 2 ** a * 0.75 <= backoff_s(a, rng=random.Random(a)) <= 0.5 * 2 ** a * 1.25 for a in range(4))
    assert backoff_s(10) <= 8.0 * 1.25


def test_retries_give_up_with_the_transient_error():
    def down():
        raise ccxt.ExchangeNotAvailable("maintenance")

    with pytest.raises(TransientError, match="maintenance"):
        call_with_retry(down, retries=2, sleep=lambda s: None)


def test_no_duplicate_order_under_a_timeout_after_the_exchange_accepted_it():
    clock = SimClock()
    venue = create_exchange("sim", {"faults": {"error_rates": {"create_order": 1.0}, "error_types": ["RequestTimeout"],
                                               "timeout_after_accept": 1.0}}, clock=clock)
    price = venue.fetch_order_book("BTC/USDT")["bids"][5][0]
    order = place_order_safely(venue, "BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": "safe-1"},
                               sleep=lambda s: None)
    assert order["clientOrderId"] == "safe-1" and order["status"] == "open"
    assert len(venue.fetch_open_orders()) == 1  # the timed-out request got through once; it was not sent again


def test_a_lost_request_is_sent_again_with_the_same_id():
    clock = SimClock()
    venue = create_exchange("sim", {"seed": 3, "faults": {"error_rates": {"create_order": 0.6},
                                                          "error_types": ["RequestTimeout", "NetworkError"],
                                                          "timeout_after_accept": 0.5}}, clock=clock)
    price = venue.fetch_order_book("ETH/USDT")["bids"][5][0]
    for i in range(30):
        try:
            place_order_safely(venue, "ETH/USDT", "limit", "buy", 0.01, price, {"clientOrderId": f"x-{i}"},
                               retries=8, sleep=lambda s: None)
        except TransientError:
            pass
    ids = [o["clientOrderId"] for o in venue.fetch_open_orders()]
    assert len(ids) == len(set(ids)) and len(ids) >= 25  # every order at most once, almost all placed


def test_place_order_safely_needs_a_client_id():
    with pytest.raises(OrderRejected, match="clientOrderId"):
        place_order_safely(create_exchange("sim", clock=SimClock()), "BTC/USDT", "limit", "buy", 0.001, 50_000, {})


@pytest.mark.parametrize("name, market_type, ccxt_id", [
    ("binance", "spot", "binance"), ("binance", "swap", "binanceusdm"), ("kucoin", "spot", "kucoin"),
    ("kucoin", "swap", "kucoinfutures"), ("okx", "swap", "okx"), ("bybit", "spot", "bybit"), ("gate", "swap", "gate"),
    ("huobi", "spot", "htx"), ("kraken", "swap", "krakenfutures"), ("coinbase", "spot", "coinbase"),
    ("bitfinex", "spot", "bitfinex"),
])
def test_factory_builds_rate_limited_ccxt_exchanges(name, market_type, ccxt_id):
    ex = build_ccxt(name, market_type, Credentials(Secret("k" * 24), Secret("s" * 32), Secret("p" * 12)))
    assert ex.id == ccxt_id and ex.enableRateLimit and ex.apiKey == "k" * 24
    if market_type == "swap" and name in ("okx", "gate"):
        assert ex.options["defaultType"] == "swap"


def test_factory_refuses_defunct_unknown_and_impossible_settings():
    with pytest.raises(ExchangeConfigError, match="FTX went bankrupt in November 2022"):
        build_ccxt("ftx")
    with pytest.raises(ExchangeConfigError, match="'mtgox' is not supported"):
        build_ccxt("mtgox")
    with pytest.raises(ExchangeConfigError, match="no perpetual futures"):
        build_ccxt("coinbase", "swap")
    with pytest.raises(ExchangeConfigError, match="must look like https://host"):
        build_ccxt("kucoin", api_url="localhost")


def test_sandbox_and_api_url_override():
    ex = build_ccxt("binance", "spot", sandbox=True)
    assert "testnet" in str(ex.urls["api"])
    local = build_ccxt("kucoin", "spot", api_url="http://127.0.0.1:18080")
    urls = [u for u in local.urls["api"].values() if isinstance(u, str)]
    assert urls and all(u.startswith("http://127.0.0.1:18080") for u in urls)


def test_connect_sequence_sets_position_mode_margin_and_leverage_and_reports_failures():
    venue = create_exchange("sim", clock=SimClock())
    steps = prepare(venue, {"BTC/USDT:USDT": 20, "ETH/USDT:USDT": 500, "BTC/USDT": 1, "DOGE/USDT": 1})
    report = {s.step: s for s in steps}
    assert report["load markets"].ok and report["position mode one-way"].ok
    assert report["BTC/USDT:USDT margin mode isolated"].ok and report["BTC/USDT:USDT leverage 20x"].ok
    assert venue.fetch_margin_mode("BTC/USDT:USDT")["marginMode"] == "isolated"
    assert venue.fetch_leverage("BTC/USDT:USDT")["longLeverage"] == 20
    refused = report["ETH/USDT:USDT leverage 500x"]
    assert not refused.ok and "from 1 to 100" in refused.message
    assert not report["symbol DOGE/USDT"].ok and "does not list DOGE/USDT" in report["symbol DOGE/USDT"].message


def test_the_engine_builds_real_exchanges_from_connections_settings(tmp_path):
    from engine.config import load_config
    from engine.runtime import build_exchange, request_budget
    from tests.engine.test_runtime import make_config_dir

    cdir = make_config_dir(tmp_path, connections={
        "kucoin": {"market": "swap", "api_url": "http://127.0.0.1:18081"},
        "binance": {"sandbox": True}, "okx": {"requests_per_min": 300}})
    cfg = load_config(cdir, env={"KUCOIN_API_KEY": "k" * 24, "KUCOIN_API_SECRET": "s" * 36,
                                 "KUCOIN_PASSPHRASE": "p" * 12})
    kucoin = build_exchange(cfg, name="kucoin")
    assert kucoin.id == "kucoinfutures" and kucoin.password == "p" * 12
    assert all(u.startswith("http://127.0.0.1:18081") for u in kucoin.urls["api"].values() if isinstance(u, str))
    assert "testnet" in str(build_exchange(cfg, name="binance").urls["api"])
    budgets = [request_budget(cfg, name) for name in ("binance", "kucoin", "gate", "okx", "sim")]
    assert budgets == [1200, 600, 600, 300, None]  # seed 003's published limits unless the connection sets its own
    (tmp_path / "bad").mkdir()
    bad = make_config_dir(tmp_path / "bad", connections={"kucoin": {"market": "futures"}})
    with pytest.raises(Exception, match="connections.kucoin.market = 'futures': must be one of spot, swap"):
        load_config(bad, env={})


def test_the_websocket_twin_follows_the_api_url_override_and_the_sandbox():
    from engine.feed import watcher_for

    rest = build_ccxt("binance", "spot", api_url="http://127.0.0.1:18099")
    twin = watcher_for(rest)
    urls = [u for u in _strings(twin.urls["api"]) if u.startswith(("ws", "http"))]
    assert urls and all(u.startswith(("ws://127.0.0.1:18099/", "http://127.0.0.1:18099/")) for u in urls)
    sandboxed = watcher_for(build_ccxt("okx", "swap", sandbox=True))
    assert sandboxed.isSandboxModeEnabled


def _strings(value):
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _strings(v)
