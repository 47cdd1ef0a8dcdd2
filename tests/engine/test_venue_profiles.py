"""Exchange quirks the trader follows (engine.exchanges.profiles): client-id forms, lookup without a by-client-id
endpoint, and hedge-mode legs, on the simulated venue dressed as each exchange (its ccxt id)."""

from __future__ import annotations

import ccxt
import pytest
from sqlmodel import Session, select

from engine.clock import SimClock
from engine.exchanges import create_exchange
from engine.exchanges.profiles import PROFILES, find_order, profile_for
from engine.store import OrderRecord, make_engine
from engine.trader import Trader


def dressed_trader(config, ccxt_id: str, sim: dict | None = None) -> tuple[Trader, ccxt.Exchange, SimClock]:
    clock = SimClock()
    venue = create_exchange("sim", {"seed": 21, **(sim or {})}, clock=clock)
    venue.id = ccxt_id
    return Trader(config, venue, clock, make_engine("sqlite:///:memory:")), venue, clock


@pytest.mark.parametrize("ccxt_id", sorted(PROFILES))
def test_client_ids_fit_each_exchange_and_stay_recognisable(config, ccxt_id):
    trader, _, clock = dressed_trader(config, ccxt_id)
    prof = profile_for(ccxt_id)
    ids = []
    for _ in range(3000):
        ids.append(trader.next_client_id())
        clock.advance(0.001)
    trader._seq = 10**12  # a very long run: ids that would outgrow the limit continue under a fresh run id
    ids.append(trader.next_client_id())
    assert len(set(ids)) == len(ids)
    assert all(len(i) <= prof.client_id_max and trader.ours(i) for i in ids)
    if prof.client_id_compact:
        assert all(i.isalnum() for i in ids)
    assert all(i.startswith(prof.client_id_head + "mm") for i in ids)
    assert not trader.ours("web-1234") and not trader.ours(None)


def test_gate_ids_carry_the_t_prefix_that_gate_gives_back(config):
    trader, venue, clock = dressed_trader(config, "gate")
    trader.startup()
    trader.symbols = ["BTC/USDT"]
    trader.quote_cycle()
    ids = [o["clientOrderId"] for o in venue.fetch_open_orders()]
    assert ids and all(i.startswith("t-mm-") for i in ids)
    trader.reconcile()
    assert set(trader.orders) == set(ids)  # the store's ids match what the exchange reports: nothing cancelled


def test_without_a_by_client_id_lookup_an_unknown_order_is_found_among_open_and_closed_orders(config):
    trader, venue, clock = dressed_trader(config, "kraken")
    real_fetch_order = venue.fetch_order

    def fetch_order(id, symbol=None, params=None):  # Kraken looks up by an integer userref only
        assert id is not None, "a lookup by client id was sent to an exchange that has none"
        return real_fetch_order(id, symbol, params)

    venue.fetch_order = fetch_order
    trader.startup()
    price = venue.fetch_order_book("BTC/USDT")["bids"][10][0]
    rec = trader._pending("BTC/USDT", "buy", 0, 0.001, price, price)
    trader.flush()
    venue.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": rec.client_order_id})
    rec.status = "unknown"  # the answer was lost
    trader._refresh(rec)
    assert rec.status == "open" and rec.exchange_order_id
    venue.cancel_order(rec.exchange_order_id, "BTC/USDT")
    other = trader._pending("BTC/USDT", "buy", 1, 0.001, price, price)
    other.status = "unknown"
    trader._refresh(other)  # not among open or closed orders; an exchange may lag its own writes: look again later
    assert other.status == "unknown"
    clock.advance(5)
    trader._refresh(other)  # still not found: it never reached the exchange
    assert other.status == "rejected"
    assert find_order(venue, "BTC/USDT", rec.client_order_id)["status"] == "canceled"
    with pytest.raises(ccxt.OrderNotFound):
        find_order(venue, "BTC/USDT", "mm-nowhere-1")


def test_hedge_mode_orders_close_the_held_leg_and_open_the_other_side(config):
    trader, venue, clock = dressed_trader(config, "sim", sim={"position_mode": "hedge"})
    trader.startup()
    symbol = "BTC/USDT:USDT"
    assert trader.hedge_mode
    rec = trader.market_order(symbol, "buy", 0.01)
    trader.poll_fills(force=True)
    assert rec.status == "closed" and trader.ledger.position(symbol).qty == pytest.approx(0.01)
    # A sell within the long closes it; beyond what the long (less other closing orders) covers, it opens a short.
    assert trader.order_params(symbol, "sell", 0.004, {"clientOrderId": "mm-a-1"}) == \
        {"clientOrderId": "mm-a-1", "positionSide": "long", "reduceOnly": True}
    trader.orders["mm-a-1"] = OrderRecord(exchange="sim", symbol=symbol, client_order_id="mm-a-1", side="sell",
                                          amount=0.004, status="open")
    assert trader.order_params(symbol, "sell", 0.006, {"clientOrderId": "mm-a-2"})["positionSide"] == "long"
    trader.orders["mm-a-2"] = OrderRecord(exchange="sim", symbol=symbol, client_order_id="mm-a-2", side="sell",
                                          amount=0.006, status="open")
    assert trader.order_params(symbol, "sell", 0.001, {"clientOrderId": "mm-a-3"}) == \
        {"clientOrderId": "mm-a-3", "positionSide": "short"}
    assert trader.order_params(symbol, "buy", 0.001, {"clientOrderId": "mm-a-4"})["positionSide"] == "long"
    # Closing the position with the kill switch's path closes the long leg on the venue, leaving no short leg.
    trader.orders.clear()
    trader._closing.clear()
    assert trader.close_positions([symbol]) == [f"sell 0.01 {symbol}"]
    legs = {p["side"]: p["contracts"] for p in venue.fetch_positions([symbol]) if p["contracts"]}
    assert legs == {} and trader.ledger.position(symbol).qty == pytest.approx(0.0)


def test_hedge_mode_params_per_exchange_match_seed_000():
    assert profile_for("binanceusdm").hedge_params("long", reduce_only=True) == {"positionSide": "LONG"}
    assert profile_for("binanceusdm").hedge_params("short", reduce_only=False) == {"positionSide": "SHORT"}
    assert profile_for("okx").hedge_params("short", reduce_only=True) == {"posSide": "short"}
    assert profile_for("bybit").hedge_params("long", reduce_only=True) == {"positionIdx": 1, "reduceOnly": True}
    assert profile_for("kucoinfutures").hedge_params("long", reduce_only=True) == {"reduceOnly": True}


def test_market_orders_are_written_ahead_like_quotes(config):
    trader, venue, clock = dressed_trader(config, "sim")
    trader.startup()
    rec = trader.market_order("ETH/USDT", "buy", 0.05, reason="test")
    with Session(trader.db) as s:
        row = s.exec(select(OrderRecord).where(OrderRecord.client_order_id == rec.client_order_id)).one()
    assert row.type == "market" and row.status == "closed" and row.exchange_order_id
    trader.poll_fills(force=True)
    assert trader.ledger.position("ETH/USDT").qty == pytest.approx(0.05)


def test_an_exchange_whose_client_ids_cannot_carry_the_prefix_is_refused_with_the_reason(config):
    trader, _, _ = dressed_trader(config, "bitfinex")
    with pytest.raises(ccxt.NotSupported, match="integer client order ids"):
        trader.startup()
