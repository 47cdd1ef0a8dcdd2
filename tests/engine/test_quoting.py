"""Ladder quoting: the seed's prices and sizes to the tick, skew direction, minimum spread, no crossing."""

from __future__ import annotations

import pytest

from engine.quoting import MarketView, QuoteParams, build_ladder, order_size_usd, volatility_bps

BTC = MarketView("BTC/USDT", best_bid=99_999.99, best_ask=100_000.01, tick=0.01, lot=0.00001, min_amount=0.00001,
                 min_cost=5.0, maker_fee=0.0002)
MODES = {"CONSERVATIVE": 1, "AGGRESSIVE": 5, "AGGRESSIVE_PLUS": 7}


def prices(quotes, side):
    return [q.price for q in sorted((q for q in quotes if q.side == side), key=lambda q: q.level)]


@pytest.mark.parametrize("mode, levels", MODES.items())
def test_seed_ladder_prices_to_the_tick(mode, levels):
    quotes = build_ladder(BTC, 0.0, 2.0, QuoteParams(levels=levels, skew=False))
    # bid n = mid * (1 - 6bps/2) - n * 1.6bps * mid ; ask n = mid * (1 + 6bps/2) + n * 1.6bps * mid ; mid = 100000
    assert prices(quotes, "buy") == [99_970.0 - 16.0 * n for n in range(levels)]
    assert prices(quotes, "sell") == [100_030.0 + 16.0 * n for n in range(levels)]
    # $100 = 1 x 2bps x $50, rounded down to lots of 0.00001 at each price
    assert all(q.amount == pytest.approx(int(100 / q.price / 0.00001) * 0.00001) for q in quotes)
    assert {q.amount for q in quotes if q.side == "buy" and q.level == 0} == {0.001}


def test_prices_round_away_from_the_mid():
    m = MarketView("X/USDT", 10.0, 10.02, tick=0.01, lot=0.1, min_cost=1.0)  # mid 10.01
    q = build_ladder(m, 0.0, 1.0, QuoteParams(levels=1, spread_bps=30, skew=False, fee_aware=False))
    # raw bid 10.01 * (1 - 0.0015) = 9.994985 -> 9.99 ; raw ask 10.025015 -> 10.03
    assert prices(q, "buy") == [9.99] and prices(q, "sell") == [10.03]


@pytest.mark.parametrize("vol, usd", [(0.0, 50.0), (1.5, 75.0), (4.0, 200.0), (25.0, 500.0)])
def test_size_is_volume_factor_times_volatility_times_usd_clamped(vol, usd):
    assert order_size_usd(vol, QuoteParams()) == usd
    (bid,) = [q for q in build_ladder(BTC, 0.0, vol, QuoteParams(skew=False)) if q.side == "buy"]
    assert bid.amount == pytest.approx(int(usd / bid.price / 0.00001) * 0.00001)


def test_amount_is_raised_to_the_venue_minimum():
    m = MarketView("BTC/USDT:USDT", 99_999.9, 100_000.1, tick=0.1, lot=0.001, min_amount=0.001, min_cost=100.0)
    (bid, ask) = build_ladder(m, 0.0, 0.0, QuoteParams(skew=False))  # $50 wanted, $100 minimum notional
    assert (bid.price, bid.amount) == (99_970.0, 0.002)  # one lot is $99.97: two are needed
    assert (ask.price, ask.amount) == (100_030.0, 0.001)  # one lot is $100.03: enough
    assert bid.amount * bid.price >= 100 and ask.amount * ask.price >= 100


def test_long_inventory_skews_quotes_down_and_shrinks_bids():
    p = QuoteParams(levels=1, gamma=0.1, tau_s=60, max_inventory_usd=10_000)
    flat = {q.side: q for q in build_ladder(BTC, 0.0, 4.0, p)}
    long = {q.side: q for q in build_ladder(BTC, 0.05, 4.0, p)}  # $5,000 long = half the cap
    short = {q.side: q for q in build_ladder(BTC, -0.05, 4.0, p)}
    assert long["buy"].price < flat["buy"].price and long["sell"].price < flat["sell"].price
    assert short["buy"].price > flat["buy"].price and short["sell"].price > flat["sell"].price
    # r = mid (1 - q gamma sigma^2 tau / 1e4) = 100000 (1 - 0.5 * 0.1 * 16 * 1 / 1e4) = 99992
    assert long["buy"].price == 99_962.0 and long["sell"].price == 100_022.0
    assert long["buy"].amount < flat["buy"].amount  # the side that adds inventory shrinks (by 0.5 x 0.5)
    assert long["buy"].amount * long["buy"].price == pytest.approx(200 * 0.75, abs=1.0)
    assert long["sell"].amount * long["sell"].price == pytest.approx(200, abs=1.0)
    assert short["sell"].amount < flat["sell"].amount


def test_inventory_at_the_cap_blocks_the_side_that_grows_it():
    p = QuoteParams(levels=3, max_inventory_usd=1_000)
    assert {q.side for q in build_ladder(BTC, 0.02, 2.0, p)} == {"sell"}
    assert {q.side for q in build_ladder(BTC, -0.02, 2.0, p)} == {"buy"}


def test_minimum_spread_and_fee_awareness():
    tight = QuoteParams(levels=1, spread_bps=1.0, min_spread_bps=2.0, skew=False, fee_aware=False)
    bid, ask = sorted(build_ladder(BTC, 0.0, 2.0, tight), key=lambda q: q.price)
    assert (ask.price - bid.price) / 100_000 * 1e4 == pytest.approx(2.0, abs=0.01)
    costly = MarketView(**{**BTC.__dict__, "maker_fee": 0.0005})
    bid, ask = sorted(build_ladder(costly, 0.0, 2.0, QuoteParams(levels=1, skew=False)), key=lambda q: q.price)
    assert (ask.price - bid.price) / 100_000 * 1e4 >= 10.0 - 0.01  # two maker fees of 5 bps


def test_no_quote_crosses_the_book():
    p = QuoteParams(levels=3, gamma=50.0, max_inventory_usd=1_000)  # a huge short skews bids far up
    quotes = build_ladder(BTC, -0.009, 10.0, p)
    assert all(q.price < BTC.best_ask for q in quotes if q.side == "buy")
    assert all(q.price > BTC.best_bid for q in quotes if q.side == "sell")
    assert len({q.price for q in quotes if q.side == "buy"}) == len([q for q in quotes if q.side == "buy"])


def test_margin_budget_caps_the_ladder():
    p = QuoteParams(levels=5, usd_per_order=100, skew=False, capital_usd=10_000, margin_pct=1, leverage=1)
    quotes = build_ladder(BTC, 0.0, 5.0, p)  # wants $500 per order; budget $100 per side over 5 levels
    assert all(q.amount * q.price <= 20.0 + 5.0 for q in quotes)


def test_volatility_is_stdev_of_one_minute_returns_in_bps():
    assert volatility_bps([100, 100.01, 100, 100.01, 100]) == pytest.approx(1.1547, rel=1e-3)
    assert volatility_bps([100, 101]) == 0.0
