"""The trader on the simulated venue and a SimClock: requotes, idempotent placement, fills, store = venue."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace

import pytest
from sqlmodel import Session, select

from engine.clock import SimClock
from engine.exchanges import create_exchange
from engine.ledger import store_equity
from engine.store import OrderRecord, TradeRecord, make_engine
from engine.trader import Trader


def make_trader(config, sim=None, mode=None, db_url="sqlite:///:memory:", clock=None):
    clock = clock or SimClock()
    venue = create_exchange("sim", {"seed": 21, **(sim or {})}, clock=clock)
    if mode:
        config = replace(config, strategy=replace(config.strategy, risk_mode=mode))
    trader = Trader(config, venue, clock, make_engine(db_url))
    trader.startup()
    return trader, venue, clock


def test_first_cycle_places_the_full_ladder_with_client_ids(config):
    trader, venue, _ = make_trader(config, mode="AGGRESSIVE")
    trader.quote_cycle()
    open_orders = venue.fetch_open_orders()
    assert len(open_orders) == 3 * 2 * 5  # 3 symbols x 2 sides x 5 levels
    assert all(o["clientOrderId"].startswith(f"mm-{trader.run_id}-") for o in open_orders)
    assert all(o["postOnly"] for o in open_orders)
    with Session(trader.db) as s:
        rows = s.exec(select(OrderRecord)).all()
    assert {r.client_order_id for r in rows} == {o["clientOrderId"] for o in open_orders}
    assert {r.status for r in rows} == {"open"}


def test_requotes_on_age_respect_the_replacement_limit_and_delay(config):
    cfg = replace(config, hygiene=replace(config.hygiene, drift_bps=1000, stale_depth_bps=1000),
                  strategy=replace(config.strategy, spread_bps=200))  # 2% wide: nothing fills, only age acts
    rich = {"balances": {"USDT": 1_000_000, "BTC": 1, "ETH": 20, "SOL": 400}}  # every sell level can be funded
    trader, venue, clock = make_trader(cfg, sim=rich, mode="AGGRESSIVE_PLUS")
    trader.quote_cycle()
    first = {o["clientOrderId"] for o in venue.fetch_open_orders()}
    assert len(first) == 42
    clock.advance(60)
    trader.quote_cycle()
    assert trader.stats.replaced == 0  # young orders stay
    clock.advance(31)  # now 91 s old
    trader.quote_cycle()
    assert trader.stats.replaced == 20  # at most 20 per cycle: BTC's 14, then 6 of ETH's; SOL waits
    clock.advance(0.1)
    trader.quote_cycle()
    assert trader.stats.replaced == 34  # 100 ms later BTC and ETH are inside their 150 ms delay; SOL's 14 go
    clock.advance(0.1)
    trader.quote_cycle()
    assert trader.stats.replaced == 42  # 200 ms after ETH's requote: its last 8
    after = {o["clientOrderId"] for o in venue.fetch_open_orders()}
    assert not (after & first)  # every aged order has been replaced (or filled)


def test_requotes_on_drift(config):
    trader, venue, clock = make_trader(config, sim={"events": [
        {"type": "flash_crash", "symbol": "BTC/USDT", "after_s": 1, "pct": 0.5, "duration_s": 2}]})
    trader.quote_cycle()
    (bid,) = [o for o in venue.fetch_open_orders("BTC/USDT") if o["side"] == "buy"]
    clock.advance(4)
    trader.quote_cycle()
    (new_bid,) = [o for o in venue.fetch_open_orders("BTC/USDT") if o["side"] == "buy"]
    assert new_bid["id"] != bid["id"] and new_bid["price"] < bid["price"] * 0.997


def test_no_duplicate_orders_under_injected_request_errors(config):
    faults = {"error_rates": {"create_order": 0.3, "cancel_order": 0.3, "fetch_order": 0.2, "fetch_my_trades": 0.1,
                              "fetch_order_book": 0.05},
              "error_types": ["RequestTimeout", "NetworkError", "ExchangeNotAvailable"], "timeout_after_accept": 0.6}
    trader, venue, clock = make_trader(config, sim={"faults": faults}, mode="AGGRESSIVE")
    for i in range(600):
        clock.advance(0.25)
        trader.quote_cycle()
        if i % 40 == 39:
            trader.reconcile()
    assert trader.stats.unknown > 10  # the faults really fired
    venue.heal_network()
    trader.reconcile()
    trader.quote_cycle()
    venue_open = venue.fetch_open_orders()
    with Session(trader.db) as s:
        stored = {r.client_order_id: r for r in s.exec(select(OrderRecord))}
        trades = s.exec(select(TradeRecord)).all()
    assert all(o["clientOrderId"] in stored for o in venue_open)  # nothing on the venue the store does not know
    slots = Counter((o["symbol"], o["side"], stored[o["clientOrderId"]].level) for o in venue_open)
    assert max(slots.values()) == 1  # one order per ladder slot: no retry ever doubled an order
    assert len(venue_open) <= 30
    assert {c for c, r in stored.items() if r.status == "open"} == {o["clientOrderId"] for o in venue_open}
    assert len({t.trade_id for t in trades}) == len(trades) == len(venue.fetch_my_trades())


def test_store_equity_equals_the_venues(config):
    trader, venue, clock = make_trader(config, mode="AGGRESSIVE")
    start = {k: v for k, v in venue.fetch_balance()["total"].items() if v}
    for _ in range(2400):  # ten minutes, no funding time crossed (spot only)
        clock.advance(0.25)
        trader.quote_cycle()
    assert trader.ledger.fills > 50
    marks = {}
    for s in venue.symbols:
        ob = venue.fetch_order_book(s, 1)
        marks[s.split("/")[0] if ":" not in s else s] = (ob["bids"][0][0] + ob["asks"][0][0]) / 2
    with Session(trader.db) as s:
        equity = store_equity(s, "sim", start, marks, {m for m in venue.symbols if ":" in m})
    assert equity == pytest.approx(venue.account_summary()["equity"], abs=0.01)


def test_a_refused_side_backs_off_instead_of_retrying_every_cycle(config, caplog):
    trader, venue, clock = make_trader(config, sim={"balances": {"USDT": 1_000_000}})  # no BTC/ETH/SOL to sell
    for _ in range(40):  # ten seconds of quoting
        clock.advance(0.25)
        trader.quote_cycle()
    sells = [r for r in caplog.records if "insufficient funds" in r.getMessage() or "needs" in r.getMessage()]
    assert trader.stats.rejected == 3  # one refused sell per symbol, then the side rests for 30 s
    assert len(sells) == 3
    assert len([o for o in venue.fetch_open_orders() if o["side"] == "buy"]) == 3  # the bids keep quoting
    with Session(trader.db) as s:
        sells_before = len(s.exec(select(OrderRecord).where(OrderRecord.side == "sell")).all())
    assert sells_before == 3
    clock.advance(31)
    trader.quote_cycle()
    with Session(trader.db) as s:  # after the back-off each side tries again (and may now succeed: bids filled)
        assert len(s.exec(select(OrderRecord).where(OrderRecord.side == "sell")).all()) == 6


def test_lack_of_funds_rests_only_the_levels_that_do_not_fit(config):
    trader, venue, clock = make_trader(config, sim={"balances": {"USDT": 1_000_000, "ETH": 0.5}},
                                       mode="AGGRESSIVE_PLUS")
    trader.symbols = ["ETH/USDT"]
    trader.quote_cycle()
    sells = sorted(o["price"] for o in venue.fetch_open_orders("ETH/USDT") if o["side"] == "sell")
    assert 1 <= len(sells) < 7  # the shallow levels that 0.5 ETH covers are quoted; the rest rest
    assert len([o for o in venue.fetch_open_orders("ETH/USDT") if o["side"] == "buy"]) == 7


def test_a_real_exchange_style_trader_polls_fills_per_symbol_and_uses_its_id_format(config):
    clock = SimClock()
    venue = create_exchange("sim", {"seed": 21}, clock=clock)
    venue.id = "okx"  # as the trader sees a real exchange: per-symbol fills, OKX's letters-and-digits client ids
    trader = Trader(config, venue, clock, make_engine("sqlite:///:memory:"))
    assert trader.fills_per_symbol and trader.next_client_id().isalnum()
    trader.startup()
    for _ in range(2400):  # ten minutes
        clock.advance(0.25)
        trader.quote_cycle()
    trader.reconcile()
    ids = [o["clientOrderId"] for o in venue.fetch_open_orders()]
    assert ids and all(i.isalnum() and len(i) <= 32 and i.startswith("mm") for i in ids)
    with Session(trader.db) as s:
        stored = {t.trade_id for t in s.exec(select(TradeRecord))}
    assert stored == {t["id"] for t in venue.fetch_my_trades()} and len(stored) > 50  # per-symbol polling lost none


def test_the_reference_mid_is_a_column_and_adopted_orders_get_one(config):
    cfg = replace(config, engine=replace(config.engine, unknown_orders="adopt"))
    trader, venue, clock = make_trader(cfg)
    trader.quote_cycle()
    with Session(trader.db) as s:
        rows = s.exec(select(OrderRecord)).all()
    mids = {s: v.mid for s, (_, v) in trader.views.items()}
    assert rows and all(r.ref_mid == mids[r.symbol] and "mid=" not in r.reason for r in rows)
    price = venue.fetch_order_book("SOL/USDT")["bids"][12][0]
    venue.create_order("SOL/USDT", "limit", "buy", 1, price, {"clientOrderId": f"mm-{trader.run_id}-999"})
    trader.reconcile()
    adopted = trader.orders[f"mm-{trader.run_id}-999"]
    assert adopted.reason == "adopted" and adopted.ref_mid == mids["SOL/USDT"]


def test_a_reconciliation_writes_only_the_orders_the_exchange_changed(config):
    """Open orders the exchange lists unchanged keep their rows (updated_ms is their last change); one cancelled on
    the exchange behind the engine's back is written as cancelled."""
    cfg = replace(config, strategy=replace(config.strategy, spread_bps=200))  # 2% wide: nothing fills by itself
    trader, venue, clock = make_trader(cfg, mode="AGGRESSIVE")
    trader.quote_cycle()
    with Session(trader.db) as s:
        before = {r.client_order_id: (r.updated_ms, r.status) for r in s.exec(select(OrderRecord)).all()}
    clock.advance(5)
    bid = next(o for o in venue.fetch_open_orders("BTC/USDT") if o["side"] == "buy")
    venue.cancel_order(bid["id"], "BTC/USDT")  # by hand, on the exchange's own page
    trader.reconcile()
    with Session(trader.db) as s:
        after = {r.client_order_id: (r.updated_ms, r.status) for r in s.exec(select(OrderRecord)).all()}
    assert len(before) == 30 and {cid for cid in before if after[cid] != before[cid]} == {bid["clientOrderId"]}
    assert after[bid["clientOrderId"]] == (clock.now_ms(), "canceled")
