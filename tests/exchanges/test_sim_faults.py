"""Faults on purpose raise ccxt's own exceptions; scripted market events happen when scheduled."""

from __future__ import annotations

import ccxt
import pytest

from engine.clock import SimClock
from engine.exchanges import create_exchange


@pytest.mark.parametrize("name", ["NetworkError", "RequestTimeout", "RateLimitExceeded", "ExchangeNotAvailable"])
def test_each_error_type_raises_its_ccxt_exception(name):
    ex = create_exchange("sim", {"faults": {"error_rates": {"fetch_ticker": 1.0}, "error_types": [name]}},
                         clock=SimClock())
    with pytest.raises(getattr(ccxt, name), match=f"injected {name}"):
        ex.fetch_ticker("BTC/USDT")
    ex.fetch_order_book("BTC/USDT")  # other methods are untouched


def test_error_rate_is_a_rate():
    ex = create_exchange("sim", {"faults": {"error_rates": {"*": 0.2}}}, clock=SimClock())
    failures = 0
    for _ in range(500):
        try:
            ex.fetch_time()
        except ccxt.NetworkError:  # every injected type is a NetworkError in ccxt's tree
            failures += 1
    assert 60 <= failures <= 140


def test_rate_limit_per_minute():
    clock = SimClock()
    ex = create_exchange("sim", {"faults": {"rate_limit_per_minute": 10}}, clock=clock)
    for _ in range(10):
        ex.fetch_time()
    with pytest.raises(ccxt.RateLimitExceeded, match="10/min"):
        ex.fetch_time()
    clock.advance(61)
    ex.fetch_time()


def test_latency_is_spent_on_the_clock():
    clock = SimClock()
    ex = create_exchange("sim", {"faults": {"latency_ms": 250, "jitter_ms": 50}}, clock=clock)
    t0 = clock.now_ms()
    ex.fetch_ticker("BTC/USDT")
    assert 250 <= clock.now_ms() - t0 <= 300


def test_timeout_after_accept_leaves_the_order_on_the_venue():
    ex = create_exchange("sim", {"faults": {"error_rates": {"create_order": 1.0}, "error_types": ["RequestTimeout"],
                                            "timeout_after_accept": 1.0}}, clock=SimClock())
    price = ex.fetch_order_book("BTC/USDT")["bids"][5][0]
    with pytest.raises(ccxt.RequestTimeout, match="after the venue accepted"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": "retry-me"})
    assert ex.fetch_order(None, params={"clientOrderId": "retry-me"})["status"] == "open"
    with pytest.raises(ccxt.DuplicateOrderId, match="retry-me"):  # a blind retry reaches the venue ...
        ex.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": "retry-me"})
    assert len(ex.fetch_open_orders()) == 1  # ... and never duplicates the order


def test_flash_crash_drags_the_price_down():
    clock = SimClock()
    ex = create_exchange("sim", {"events": [{"type": "flash_crash", "symbol": "BTC/USDT", "after_s": 60,
                                             "pct": 10, "duration_s": 30}]}, clock=clock)
    clock.advance(59)
    before = ex.fetch_ticker("BTC/USDT")["bid"]
    eth_before = ex.fetch_ticker("ETH/USDT")["bid"]
    clock.advance(32)
    after = ex.fetch_ticker("BTC/USDT")["bid"]
    assert after < before * 0.93
    assert ex.fetch_ticker("BTC/USDT:USDT")["bid"] < before * 0.93  # the perpetual follows its underlying
    assert ex.fetch_ticker("ETH/USDT")["bid"] > eth_before * 0.95


def test_spread_blowout_widens_the_book():
    clock = SimClock()
    ex = create_exchange("sim", {"events": [{"type": "spread_blowout", "symbol": "ETH/USDT", "after_s": 10,
                                             "bps": 50, "duration_s": 20}]}, clock=clock)

    def spread_bps():
        t = ex.fetch_ticker("ETH/USDT")
        return (t["ask"] - t["bid"]) / t["bid"] * 1e4

    clock.advance(5)
    assert spread_bps() < 5
    clock.advance(10)
    assert spread_bps() >= 49
    clock.advance(30)
    assert spread_bps() < 5


def test_halt_rejects_orders_and_reports_maintenance():
    clock = SimClock()
    ex = create_exchange("sim", {"events": [{"type": "halt", "after_s": 10, "duration_s": 60}]}, clock=clock)
    price = ex.fetch_order_book("BTC/USDT")["bids"][3][0]
    clock.advance(11)
    assert ex.fetch_status()["status"] == "maintenance"
    with pytest.raises(ccxt.ExchangeNotAvailable, match="halted"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.001, price)
    clock.advance(60)
    assert ex.fetch_status()["status"] == "ok"
    ex.create_order("BTC/USDT", "limit", "buy", 0.001, ex.fetch_order_book("BTC/USDT")["bids"][3][0])


def test_faults_are_off_by_default():
    ex = create_exchange("sim", clock=SimClock())
    assert not ex.faults_active()
    for _ in range(200):
        ex.fetch_ticker("BTC/USDT")


def test_latency_spike_and_error_burst_happen_only_in_their_window():
    clock = SimClock()
    ex = create_exchange("sim", {"events": [{"type": "latency_spike", "after_s": 10, "duration_s": 20, "ms": 800},
                                            {"type": "error_burst", "after_s": 60, "duration_s": 20, "rate": 0.5}]},
                         clock=clock)

    def timed() -> int:
        t0 = clock.now_ms()
        ex.fetch_time()
        return clock.now_ms() - t0

    assert timed() == 0
    clock.advance(11)
    assert timed() == 800
    clock.advance(30)
    assert timed() == 0
    clock.advance(20)
    failures = 0
    for _ in range(200):
        try:
            ex.fetch_time()
        except ccxt.NetworkError:
            failures += 1
    assert 60 <= failures <= 140
    clock.advance(30)
    for _ in range(50):
        ex.fetch_time()
