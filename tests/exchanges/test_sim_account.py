"""The paper account: funding, liquidation, and equity that reconciles to the cent."""

from __future__ import annotations

import random

import ccxt
import pytest

from engine.clock import SimClock
from engine.exchanges import create_exchange
from tests.exchanges.capture import T0, simple_book

PERP = "BTC/USDT:USDT"
EIGHT_H = 8 * 3_600_000


def perp_venue(tmp_path, capture, **cfg):
    path = capture.write(tmp_path / "usdm_btcusdt.gz")
    return create_exchange("sim", {"source": {"type": "replay", "files": [path]}, "balances": {"USDT": 10_000},
                                   **cfg})


def identity_gap(ex) -> float:
    s = ex.account_summary()
    return s["equity"] - (s["startEquity"] + s["realizedPnl"] + s["unrealizedPnl"] - s["fees"] + s["funding"])


def test_funding_is_paid_on_the_schedule(tmp_path):
    t0 = T0 + EIGHT_H - 60_000  # one minute before the 08:00 UTC funding
    cap = simple_book(futures=True, t0=t0)
    ex = perp_venue(tmp_path, cap, funding_rate=0.0001)
    ex.create_order(PERP, "market", "buy", 2)
    wallet = ex.account_summary()["walletBalance"]
    ex.clock.set_ms(t0 + 59_000)
    assert ex.account_summary()["funding"] == 0
    ex.clock.set_ms(t0 + 61_000)
    ex.fetch_time()
    mark = (100.0 + 100.1) / 2
    paid = 2 * mark * 0.0001
    s = ex.account_summary()
    assert s["funding"] == pytest.approx(-paid)
    assert s["walletBalance"] == pytest.approx(wallet - paid)
    rate = ex.fetch_funding_rate(PERP)
    assert rate["previousFundingTimestamp"] == T0 + EIGHT_H and rate["previousFundingRate"] == 0.0001
    assert rate["fundingTimestamp"] == T0 + 2 * EIGHT_H
    assert abs(identity_gap(ex)) < 0.01


def test_short_receives_funding(tmp_path):
    t0 = T0 + EIGHT_H - 60_000
    ex = perp_venue(tmp_path, simple_book(futures=True, t0=t0), funding_rate=0.0002)
    ex.create_order(PERP, "market", "sell", 3)
    ex.clock.set_ms(t0 + 61_000)
    ex.fetch_time()
    assert ex.account_summary()["funding"] == pytest.approx(3 * 100.05 * 0.0002)


def test_isolated_position_is_liquidated_below_maintenance_margin(tmp_path):
    cap = simple_book(futures=True)
    cap.diff(5_000, bids=[("100.0", "0"), ("99.9", "0"), ("99.8", "0"), ("98.0", "9")],
             asks=[("100.1", "0"), ("100.2", "0"), ("100.3", "0"), ("98.1", "9")])
    ex = perp_venue(tmp_path, cap)
    ex.set_margin_mode("isolated", PERP)
    ex.set_leverage(50, PERP)
    ex.create_order(PERP, "market", "buy", 2)  # 2 @ 100.1, margin 200.2 / 50 = 4.004
    resting = ex.create_order(PERP, "limit", "sell", 1, 101.0)
    (pos,) = ex.fetch_positions([PERP])
    assert pos["marginMode"] == "isolated" and pos["positionMargin"] == pytest.approx(4.004)
    expected_liq = (100.1 * 2 - 4.004) / (2 * (1 - 0.004))
    assert pos["liquidationPrice"] == pytest.approx(expected_liq)
    wallet = ex.account_summary()["walletBalance"]

    ex.clock.set_ms(T0 + 5_000)  # mark falls to 98.05, below the liquidation price
    assert ex.fetch_positions([PERP]) == []
    s = ex.account_summary()
    assert s["liquidations"] == 1
    # The loss, liquidation fee included, stops at the position's margin (the fee comes out of what is left).
    assert s["walletBalance"] == pytest.approx(wallet - 4.004)
    assert ex.fetch_order(resting["id"])["status"] == "canceled"
    assert abs(identity_gap(ex)) < 0.01


def test_healthy_isolated_position_survives(tmp_path):
    cap = simple_book(futures=True).diff(5_000, bids=[("99.5", "9")], asks=[("99.6", "9")])
    ex = perp_venue(tmp_path, cap)
    ex.set_margin_mode("isolated", PERP)
    ex.set_leverage(10, PERP)
    ex.create_order(PERP, "market", "buy", 2)
    ex.clock.set_ms(T0 + 5_000)
    assert len(ex.fetch_positions()) == 1


def test_one_way_fills_net_and_flip(tmp_path):
    ex = perp_venue(tmp_path, simple_book(futures=True))
    ex.create_order(PERP, "market", "buy", 2)
    ex.create_order(PERP, "market", "sell", 3)  # closes 2, opens 1 short
    (pos,) = ex.fetch_positions()
    assert pos["side"] == "short" and pos["contracts"] == pytest.approx(1)
    with pytest.raises(ccxt.InvalidOrder, match="would not reduce"):
        ex.create_order(PERP, "market", "sell", 1, None, {"reduceOnly": True})
    ex.create_order(PERP, "market", "buy", 1, None, {"reduceOnly": True})
    assert ex.fetch_positions() == []


def test_hedge_mode_keeps_both_sides(tmp_path):
    ex = perp_venue(tmp_path, simple_book(futures=True))
    ex.set_position_mode(True)
    ex.create_order(PERP, "market", "buy", 2, None, {"positionSide": "long"})
    ex.create_order(PERP, "market", "sell", 1, None, {"positionSide": "short"})
    sides = {p["side"]: p["contracts"] for p in ex.fetch_positions()}
    assert sides == {"long": 2, "short": 1}
    with pytest.raises(ccxt.BadRequest, match="position mode"):
        ex.set_position_mode(False)


def test_insufficient_margin_is_refused(tmp_path):
    ex = perp_venue(tmp_path, simple_book(futures=True), balances={"USDT": 50})
    ex.set_leverage(1, PERP)
    with pytest.raises(ccxt.InsufficientFunds, match="USDT"):
        ex.create_order(PERP, "limit", "buy", 2, 99.0)


def _trade_randomly(ex, clock, symbols, minutes, rng):
    """Quote and take around the market for a while: many fills of every kind."""
    for _ in range(minutes * 6):
        for s in symbols:
            m = ex.markets[s]
            book = ex.fetch_order_book(s, 5)
            lot = m["precision"]["amount"]
            qty = max(m["limits"]["amount"]["min"], round(200 / book["bids"][0][0] / lot) * lot)
            qty = round(qty * rng.choice([1, 2, 3]), 8)
            try:
                ex.create_order(s, "limit", "buy", qty, book["bids"][rng.randrange(3)][0])
                ex.create_order(s, "limit", "sell", qty, book["asks"][rng.randrange(3)][0])
                if rng.random() < 0.2:
                    ex.create_order(s, "market", rng.choice(["buy", "sell"]), qty)
            except ccxt.InsufficientFunds:
                pass
        clock.advance(10)
        if rng.random() < 0.3:
            ex.cancel_all_orders()


def test_equity_identity_holds_to_the_cent_over_a_busy_session():
    start = SimClock.DEFAULT_START_MS + EIGHT_H - 30 * 60_000  # the session crosses a funding time
    clock = SimClock(start)
    ex = create_exchange("sim", {"seed": 3}, clock=clock)
    ex.set_margin_mode("isolated", "ETH/USDT:USDT")
    _trade_randomly(ex, clock, ["BTC/USDT", "ETH/USDT", "BTC/USDT:USDT", "ETH/USDT:USDT"], 60, random.Random(5))
    s = ex.account_summary()
    assert len(ex.fetch_my_trades()) > 200
    assert s["fees"] > 0 and s["funding"] != 0 and s["realizedPnl"] != 0
    assert abs(identity_gap(ex)) < 0.01
    balance = ex.fetch_balance()
    assert balance["USDT"]["total"] == pytest.approx(s["walletBalance"] + sum(
        p["unrealizedPnl"] for p in ex.fetch_positions()), abs=1e-6)


def test_flat_account_equity_is_start_plus_realized_minus_fees_plus_funding():
    start = SimClock.DEFAULT_START_MS + EIGHT_H - 30 * 60_000
    clock = SimClock(start)
    ex = create_exchange("sim", {"seed": 9, "markets": ["BTC/USDT:USDT", "SOL/USDT:USDT"],
                                 "balances": {"USDT": 50_000}}, clock=clock)
    _trade_randomly(ex, clock, ["BTC/USDT:USDT", "SOL/USDT:USDT"], 60, random.Random(2))
    ex.cancel_all_orders()
    for p in ex.fetch_positions():
        ex.create_order(p["symbol"], "market", "sell" if p["side"] == "long" else "buy", p["contracts"], None,
                        {"reduceOnly": True})
    assert ex.fetch_positions() == []
    s = ex.account_summary()
    assert s["funding"] != 0
    assert round(s["equity"], 2) == round(s["startEquity"] + s["realizedPnl"] - s["fees"] + s["funding"], 2)
    assert ex.fetch_balance()["USDT"]["total"] == pytest.approx(s["equity"], abs=1e-6)
