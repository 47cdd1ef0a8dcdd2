"""A paper account survives a restart of the process; an explicit reset wipes it."""

from __future__ import annotations

import pytest

from engine.clock import SimClock
from engine.exchanges import create_exchange


def test_paper_account_is_restored_after_restart(tmp_path):
    state = str(tmp_path / "sim_state.sqlite")
    clock = SimClock()
    ex = create_exchange("sim", {"state_path": state, "seed": 4}, clock=clock)
    book = ex.fetch_order_book("BTC/USDT:USDT")
    ex.create_order("BTC/USDT:USDT", "market", "buy", 0.01)
    ex.create_order("ETH/USDT", "market", "sell", 0.5)
    resting = ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.002, book["bids"][10][0], {"clientOrderId": "keep-1"})
    ex.set_leverage(25, "ETH/USDT:USDT")
    clock.advance(30)
    before = {
        "balance": ex.fetch_balance()["total"],
        "positions": [(p["symbol"], p["side"], p["contracts"], p["entryPrice"]) for p in ex.fetch_positions()],
        "open": [o["id"] for o in ex.fetch_open_orders()],
        "trades": [t["id"] for t in ex.fetch_my_trades()],
        "summary": ex.account_summary(),
    }
    del ex  # the process dies without a goodbye: nothing but the write-through state remains

    again = create_exchange("sim", {"state_path": state, "seed": 4}, clock=clock)
    assert again.fetch_balance()["total"].keys() == before["balance"].keys()
    assert again.account.cash == pytest.approx(
        {k: v for k, v in again.account.cash.items()})  # loaded
    assert [(p["symbol"], p["side"], p["contracts"], p["entryPrice"]) for p in again.fetch_positions()] \
        == before["positions"]
    assert [o["id"] for o in again.fetch_open_orders()] == before["open"]
    assert again.fetch_order(None, params={"clientOrderId": "keep-1"})["id"] == resting["id"]
    assert [t["id"] for t in again.fetch_my_trades()] == before["trades"]
    for key in ("startEquity", "walletBalance", "realizedPnl", "fees", "funding"):
        assert again.account_summary()[key] == pytest.approx(before["summary"][key])
    assert again.fetch_leverage("ETH/USDT:USDT")["longLeverage"] == 25
    new = again.create_order("ETH/USDT", "market", "buy", 0.1)  # ids keep counting, never reused
    assert int(new["id"]) > max(int(i) for i in before["open"])
    assert int(new["trades"][0]["id"]) > max(int(t) for t in before["trades"])


def test_reset_wipes_the_paper_account(tmp_path):
    state = str(tmp_path / "sim_state.sqlite")
    ex = create_exchange("sim", {"state_path": state}, clock=SimClock())
    ex.create_order("BTC/USDT", "market", "buy", 0.01)
    ex.reset_account()
    assert ex.fetch_my_trades() == [] and ex.fetch_open_orders() == []
    assert ex.fetch_balance()["total"]["BTC"] == 0.05
    ex.close()
    fresh = create_exchange("sim", {"state_path": state}, clock=SimClock())
    assert fresh.fetch_my_trades() == [] and fresh.fetch_balance()["total"]["USDT"] == 100_000


def test_closed_order_history_is_bounded_in_memory_and_on_disk(tmp_path, monkeypatch):
    import sqlite3

    from engine.exchanges.sim import matching as venue_module  # where the limit is applied

    monkeypatch.setattr(venue_module, "CLOSED_ORDERS_KEPT", 50)
    state = str(tmp_path / "sim_state.sqlite")
    ex = create_exchange("sim", {"state_path": state}, clock=SimClock())
    price = ex.fetch_order_book("BTC/USDT")["bids"][10][0]
    ids = []
    for i in range(120):
        o = ex.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": f"c{i}"})
        ex.cancel_order(o["id"])
        ids.append(o["id"])
    closed = ex.fetch_closed_orders("BTC/USDT")
    assert [o["id"] for o in closed] == ids[-50:]
    with pytest.raises(Exception, match="no order"):
        ex.fetch_order(ids[0])
    rows = sqlite3.connect(state).execute("SELECT COUNT(*) FROM orders").fetchone()[0]
    assert rows == 50
    ex.close()
    again = create_exchange("sim", {"state_path": state}, clock=SimClock())
    assert [o["id"] for o in again.fetch_closed_orders()] == ids[-50:]
