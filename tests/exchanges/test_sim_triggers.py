"""Stop-loss and take-profit orders on the simulated venue (ccxt's unified ``stopLossPrice`` / ``takeProfitPrice`` /
``triggerPrice``): they wait off the book, go at market when the mid reaches them, and keep ccxt's order format."""

from __future__ import annotations

import ccxt
import pytest
from ccxt.test.exchange.base.test_order import test_order as check_order

from engine.clock import SimClock
from engine.exchanges import create_exchange

PERP = "BTC/USDT:USDT"


def venue(events: list | None = None):
    clock = SimClock()
    ex = create_exchange("sim", {"seed": 5, "events": events or []}, clock=clock)
    ex.load_markets()
    return ex, clock


def mid(ex, symbol: str = PERP) -> float:
    book = ex.fetch_order_book(symbol, 1)
    return (book["bids"][0][0] + book["asks"][0][0]) / 2


def test_a_stop_loss_waits_off_the_book_then_closes_the_position_on_a_drop():
    ex, clock = venue([{"type": "flash_crash", "symbol": PERP, "after_s": 60, "pct": 5, "duration_s": 60}])
    ex.create_order(PERP, "market", "buy", 0.01)
    trigger = round(mid(ex) * 0.98, 1)
    stop = ex.create_order(PERP, "market", "sell", 0.01, None,
                           {"stopLossPrice": trigger, "reduceOnly": True, "clientOrderId": "mm-stop-1"})
    assert stop["status"] == "open" and stop["stopLossPrice"] == trigger == stop["triggerPrice"]
    check_order(ex, {}, "createOrder", stop, PERP, ex.milliseconds())
    assert [o["id"] for o in ex.fetch_open_orders(PERP)] == [stop["id"]]
    book = ex.fetch_order_book(PERP, 50)
    assert all(level[0] != trigger or level[1] != 0.01 for level in book["asks"])  # not in the public book
    clock.advance(30)
    assert ex.fetch_order(stop["id"], PERP)["status"] == "open"  # the market has not reached it
    clock.advance(90)  # the crash
    done = ex.fetch_order(stop["id"], PERP)
    assert done["status"] == "closed" and done["filled"] == pytest.approx(0.01)
    assert done["average"] <= trigger * 1.001 and [t["takerOrMaker"] for t in done["trades"]] == ["taker"]
    assert not [p for p in ex.fetch_positions([PERP]) if p["contracts"]]  # flat


def test_a_short_takes_its_profit_on_a_drop_and_a_cancelled_one_never_fires():
    ex, clock = venue([{"type": "flash_crash", "symbol": PERP, "after_s": 60, "pct": 5, "duration_s": 60}])
    ex.create_order(PERP, "market", "sell", 0.02)
    below = round(mid(ex) * 0.98, 1)
    tp = ex.create_order(PERP, "market", "buy", 0.01, None, {"takeProfitPrice": below, "reduceOnly": True})
    other = ex.create_order(PERP, "market", "buy", 0.01, None, {"takeProfitPrice": below, "reduceOnly": True})
    ex.cancel_order(other["id"], PERP)
    clock.advance(150)
    assert ex.fetch_order(tp["id"], PERP)["status"] == "closed"
    assert ex.fetch_order(other["id"], PERP)["status"] == "canceled"
    (pos,) = [p for p in ex.fetch_positions([PERP]) if p["contracts"]]
    assert pos["contracts"] == pytest.approx(0.01)


def test_what_a_venue_would_refuse_is_refused():
    ex, _ = venue()
    ex.create_order(PERP, "market", "buy", 0.01)
    m = mid(ex)
    with pytest.raises(ccxt.OrderImmediatelyFillable, match="would trigger immediately"):
        ex.create_order(PERP, "market", "sell", 0.01, None, {"stopLossPrice": round(m * 1.01, 1)})
    with pytest.raises(ccxt.NotSupported, match="perpetuals, not on spot"):
        ex.create_order("BTC/USDT", "market", "sell", 0.001, None, {"stopLossPrice": round(m * 0.9, 1)})
    with pytest.raises(ccxt.InvalidOrder, match="use type 'market'"):
        ex.create_order(PERP, "limit", "sell", 0.01, m, {"stopLossPrice": round(m * 0.9, 1)})
    with pytest.raises(ccxt.InvalidOrder, match="would not reduce"):
        ex.create_order(PERP, "market", "buy", 0.01, None, {"stopLossPrice": round(m * 1.1, 1), "reduceOnly": True})
    assert ex.has["createStopLossOrder"] and ex.has["createTakeProfitOrder"]
