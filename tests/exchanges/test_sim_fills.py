"""Fills respect the queue: resting orders wait behind displayed size; prints through the price fill them."""

from __future__ import annotations

import ccxt
import pytest

from engine.exchanges import create_exchange
from tests.exchanges.capture import simple_book

SYMBOL = "BTC/USDT"


def venue_on(tmp_path, capture, **cfg):
    path = capture.write(tmp_path / "btcusdt_test.gz")
    ex = create_exchange("sim", {"source": {"type": "replay", "files": [path]},
                                 "balances": {"USDT": 100_000, "BTC": 10}, **cfg})
    return ex


def at(ex, ms):
    ex.clock.set_ms(simple_book().t0 + ms)


def test_queue_position_delays_fill_then_partial_then_full(tmp_path):
    cap = simple_book()
    cap.trade(1_000, "100.00", "3", buyer_is_maker=True)  # 3 of the 5 ahead of us trade
    cap.trade(2_000, "100.00", "4", buyer_is_maker=True)  # 2 left ahead, so 2 of ours fill
    cap.trade(3_000, "99.99", "1", buyer_is_maker=True)  # a print below our price: the rest fills
    ex = venue_on(tmp_path, cap)
    order = ex.create_order(SYMBOL, "limit", "buy", 3, 100.00, {"clientOrderId": "q1"})
    assert order["status"] == "open" and order["info"]["queueAhead"] == 5

    at(ex, 1_000)
    o = ex.fetch_order(order["id"], SYMBOL)
    assert o["filled"] == 0 and o["info"]["queueAhead"] == 2

    at(ex, 2_000)
    o = ex.fetch_order(order["id"], SYMBOL)
    assert o["filled"] == pytest.approx(2) and o["remaining"] == pytest.approx(1) and o["status"] == "open"

    at(ex, 3_000)
    o = ex.fetch_order(order["id"], SYMBOL)
    assert o["status"] == "closed" and o["filled"] == pytest.approx(3)
    assert o["average"] == pytest.approx(100.00)
    assert [t["takerOrMaker"] for t in o["trades"]] == ["maker", "maker"]


def test_order_joins_the_back_of_a_displayed_level(tmp_path):
    cap = simple_book().trade(1_000, "99.99", "0.5", buyer_is_maker=True)
    ex = venue_on(tmp_path, cap)
    behind = ex.create_order(SYMBOL, "limit", "buy", 1, 99.99)  # behind the 3 shown at 99.99
    at(ex, 1_000)
    assert ex.fetch_order(behind["id"])["filled"] == 0
    assert ex.fetch_order(behind["id"])["info"]["queueAhead"] == pytest.approx(2.5)


def test_cancellations_ahead_move_us_up(tmp_path):
    cap = simple_book().diff(500, bids=[("100.00", "1")])  # 4 of the 5 ahead cancel
    cap.trade(1_000, "100.00", "1.5", buyer_is_maker=True)
    ex = venue_on(tmp_path, cap)
    o = ex.create_order(SYMBOL, "limit", "buy", 1, 100.00)
    at(ex, 1_000)
    assert ex.fetch_order(o["id"])["filled"] == pytest.approx(0.5)


def test_book_moving_through_a_resting_order_fills_it(tmp_path):
    cap = simple_book().diff(1_000, bids=[("100.00", "0"), ("99.99", "0"), ("99.98", "0"), ("99.90", "5")],
                             asks=[("100.01", "0"), ("100.02", "0"), ("99.95", "2")])
    ex = venue_on(tmp_path, cap)
    o = ex.create_order(SYMBOL, "limit", "buy", 1, 99.97)
    at(ex, 1_000)
    o = ex.fetch_order(o["id"])
    assert o["status"] == "closed" and o["average"] == pytest.approx(99.97)


def test_post_only_that_would_cross_is_rejected(tmp_path):
    ex = venue_on(tmp_path, simple_book())
    with pytest.raises(ccxt.OrderImmediatelyFillable, match="best ask 100.01"):
        ex.create_order(SYMBOL, "limit", "buy", 1, 100.01, {"postOnly": True})
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        ex.create_order(SYMBOL, "limit", "sell", 1, 100.00, {"timeInForce": "PO"})
    assert ex.fetch_open_orders() == []
    ok = ex.create_order(SYMBOL, "limit", "buy", 1, 100.00, {"postOnly": True})
    assert ok["postOnly"] is True and ok["status"] == "open"


def test_market_order_walks_the_book_and_pays_taker_fees(tmp_path):
    ex = venue_on(tmp_path, simple_book())
    before = ex.fetch_balance()
    o = ex.create_order(SYMBOL, "market", "buy", 7)  # 4 @ 100.01 + 3 @ 100.02
    assert o["status"] == "closed" and o["filled"] == pytest.approx(7)
    assert o["average"] == pytest.approx((4 * 100.01 + 3 * 100.02) / 7)
    assert [(t["price"], t["amount"]) for t in o["trades"]] == [(100.01, 4), (100.02, 3)]
    cost = 4 * 100.01 + 3 * 100.02
    fee = cost * 0.0006
    assert o["fee"]["cost"] == pytest.approx(fee) and o["fee"]["currency"] == "USDT"
    assert all(t["takerOrMaker"] == "taker" for t in o["trades"])
    after = ex.fetch_balance()
    assert after["USDT"]["total"] == pytest.approx(before["USDT"]["total"] - cost - fee)
    assert after["BTC"]["total"] == pytest.approx(before["BTC"]["total"] + 7)
    book = ex.fetch_order_book(SYMBOL)
    assert book["asks"][0] == [100.02, 3]  # the liquidity we took is gone


def test_maker_fee_on_resting_fill(tmp_path):
    cap = simple_book().trade(1_000, "100.01", "5", buyer_is_maker=False)  # a buyer lifts 5 at 100.01
    ex = venue_on(tmp_path, cap, fees={"maker": 0.0001, "taker": 0.0005})
    far = ex.create_order(SYMBOL, "limit", "sell", 2, 100.02)
    near = ex.create_order(SYMBOL, "limit", "sell", 2, 100.01)  # behind the 4 shown
    usdt = ex.fetch_balance()["USDT"]["total"]
    at(ex, 1_000)
    assert ex.fetch_order(far["id"])["filled"] == 0  # the print did not reach 100.02
    near = ex.fetch_order(near["id"])
    assert near["filled"] == pytest.approx(1)
    (trade,) = ex.fetch_my_trades(SYMBOL)
    assert trade["takerOrMaker"] == "maker"
    assert trade["fee"] == {"cost": pytest.approx(100.01 * 0.0001), "currency": "USDT", "rate": 0.0001}
    assert ex.fetch_balance()["USDT"]["total"] == pytest.approx(usdt + 100.01 * (1 - 0.0001))


def test_partial_taker_then_rest_on_book(tmp_path):
    ex = venue_on(tmp_path, simple_book())
    o = ex.create_order(SYMBOL, "limit", "buy", 6, 100.01)  # takes the 4 at 100.01, rests 2
    assert o["status"] == "open" and o["filled"] == pytest.approx(4) and o["remaining"] == pytest.approx(2)
    book = ex.fetch_order_book(SYMBOL)
    assert book["bids"][0] == [100.01, 2] and book["asks"][0][0] == 100.02


def test_ioc_and_fok(tmp_path):
    ex = venue_on(tmp_path, simple_book())
    ioc = ex.create_order(SYMBOL, "limit", "buy", 6, 100.01, {"timeInForce": "IOC"})
    assert ioc["status"] == "canceled" and ioc["filled"] == pytest.approx(4)
    fok = ex.create_order(SYMBOL, "limit", "buy", 100, 100.03, {"timeInForce": "FOK"})
    assert fok["status"] == "canceled" and fok["filled"] == 0


def test_duplicate_client_order_id_is_refused(tmp_path):
    ex = venue_on(tmp_path, simple_book())
    ex.create_order(SYMBOL, "limit", "buy", 1, 99.0, {"clientOrderId": "mm-1"})
    with pytest.raises(ccxt.DuplicateOrderId, match="mm-1"):
        ex.create_order(SYMBOL, "limit", "buy", 1, 99.0, {"clientOrderId": "mm-1"})
    assert len(ex.fetch_open_orders()) == 1
    assert ex.fetch_order(None, params={"clientOrderId": "mm-1"})["clientOrderId"] == "mm-1"


def test_cancel_releases_funds_and_cannot_repeat(tmp_path):
    ex = venue_on(tmp_path, simple_book())
    free = ex.fetch_balance()["USDT"]["free"]
    o = ex.create_order(SYMBOL, "limit", "buy", 100, 99.0)
    assert ex.fetch_balance()["USDT"]["free"] == pytest.approx(free - 100 * 99.0 * 1.0006)
    ex.cancel_order(o["id"], SYMBOL)
    assert ex.fetch_balance()["USDT"]["free"] == pytest.approx(free)
    with pytest.raises(ccxt.OrderNotFound, match="already canceled"):
        ex.cancel_order(o["id"], SYMBOL)


@pytest.mark.parametrize("limit", [1, 2, 3, None])
def test_our_resting_orders_are_part_of_the_public_book_at_every_depth(tmp_path, limit):
    """The book's best ``limit`` levels with our own orders added where they rest: at a level of the book, in a gap
    between levels, better than the best, and behind the deepest asked for (left out)."""
    ex = venue_on(tmp_path, simple_book())  # bids 100.00 x5, 99.99 x3, 99.98 x10; asks 100.01 x4, 100.02 x6, ...
    for side, price, qty in (("buy", 99.99, 1), ("buy", 99.97, 2), ("buy", 90.00, 1), ("sell", 100.02, 0.5),
                             ("sell", 100.05, 1)):
        ex.create_order(SYMBOL, "limit", side, qty, price, {"postOnly": True})
    full = {"bids": [[100.0, 5], [99.99, 4], [99.98, 10], [99.97, 2], [90.0, 1]],
            "asks": [[100.01, 4], [100.02, 6.5], [100.03, 10], [100.05, 1]]}
    book = ex.fetch_order_book(SYMBOL, limit)
    n = 100 if limit is None else limit
    assert book["bids"] == full["bids"][:n] and book["asks"] == full["asks"][:n]
