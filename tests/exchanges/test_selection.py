"""Exchange selection strategies with scripted health."""

from __future__ import annotations

from collections import Counter

import pytest

from engine.exchanges.selection import VenueHealth, choose

ALL = frozenset({"BTC/USDT", "ETH/USDT", "SOL/USDT"})


def v(name, healthy=True, latency=50.0, success=1.0, symbols=ALL):
    return VenueHealth(name, healthy, latency, success, frozenset(symbols))


def test_failover_takes_the_next_healthy_exchange_that_lists_the_symbol():
    venues = [v("binance"), v("kucoin"), v("okx")]
    assert choose("BTC/USDT", venues, "FAILOVER") == "binance"
    venues[0] = v("binance", healthy=False)
    assert choose("BTC/USDT", venues, "FAILOVER") == "kucoin"
    venues[1] = v("kucoin", symbols={"ETH/USDT"})  # kucoin does not list BTC here
    assert choose("BTC/USDT", venues, "FAILOVER") == "okx"
    assert choose("BTC/USDT", [v("a", healthy=False), v("b", healthy=False)], "FAILOVER") is None


def test_best_execution_scores_success_and_latency():
    venues = [v("a", latency=300, success=1.0), v("b", latency=40, success=0.99), v("c", latency=10, success=0.90)]
    # a: 100 - 30 = 70 ; b: 99 - 4 = 95 ; c: 90 - 1 = 89
    assert choose("BTC/USDT", venues, "BEST_EXECUTION") == "b"
    venues[1] = v("b", healthy=False)
    assert choose("BTC/USDT", venues, "BEST_EXECUTION") == "c"


def test_load_balance_follows_the_weights_and_is_stable_per_symbol():
    venues = [v("binance"), v("kucoin"), v("okx")]
    weights = {"binance": 40, "kucoin": 25, "okx": 20}
    symbols = [f"ALT{i}/USDT" for i in range(3000)]
    picks = Counter(choose(s, [VenueHealth(x.name, True, 50, 1.0, frozenset(symbols)) for x in venues],
                           "LOAD_BALANCE", weights) for s in symbols)
    assert picks["binance"] / 3000 == pytest.approx(40 / 85, abs=0.04)
    assert picks["okx"] / 3000 == pytest.approx(20 / 85, abs=0.04)
    first = choose("BTC/USDT", venues, "LOAD_BALANCE", weights)
    assert all(choose("BTC/USDT", venues, "LOAD_BALANCE", weights) == first for _ in range(10))


def test_single_uses_only_the_primary():
    assert choose("BTC/USDT", [v("binance"), v("kucoin")], "SINGLE") == "binance"
    assert choose("BTC/USDT", [v("binance", healthy=False), v("kucoin")], "SINGLE") is None


def test_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="use one of FAILOVER"):
        choose("BTC/USDT", [v("a")], "RANDOM")
