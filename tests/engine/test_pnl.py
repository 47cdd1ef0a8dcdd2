"""PnL an operator can read (engine/pnl.py, engine/ledger.spread_capture) on hand-made fills."""

from __future__ import annotations

import pytest
from sqlmodel import Session

from engine.ledger import spread_capture
from engine.pnl import breakdown
from engine.store import TradeRecord, make_engine


def test_spread_capture_is_the_distance_from_the_orders_mid():
    assert spread_capture("buy", 99.0, 2.0, 100.0) == 2.0  # a bid 1 under the mid, 2 units
    assert spread_capture("sell", 101.0, 2.0, 100.0) == 2.0
    assert spread_capture("buy", 100.5, 1.0, 100.0) == -0.5  # a taker pays
    assert spread_capture("buy", 99.0, 1.0, None) == 0.0


def test_trading_inventory_and_net_pnl_add_up(tmp_path):
    db = make_engine(f"sqlite:///{tmp_path}/s.db")
    with Session(db) as s:  # bought 1 at 99 (mid 100), sold 1 at 101 (mid 100): 2 captured, 0.2 fees
        s.add(TradeRecord(exchange="sim", symbol="X/USDT", trade_id="1", side="buy", price=99, amount=1, cost=99,
                          fee=0.1, edge=1.0, ts=1))
        s.add(TradeRecord(exchange="sim", symbol="X/USDT", trade_id="2", side="sell", price=101, amount=1, cost=101,
                          fee=0.1, realized_pnl=2.0, edge=1.0, ts=2))
        s.add(TradeRecord(exchange="sim", symbol="Y/USDT", trade_id="3", side="buy", price=10, amount=1, cost=10,
                          fee=0.01, edge=0.05, ts=3))  # still held, marked at 9: -1 unrealized
        s.commit()
    lines, total = breakdown(db, {("sim", "Y/USDT"): -1.0})
    x, y = lines
    assert (x.spread_capture, x.fees, x.trading_net, x.inventory_pnl) == pytest.approx((2.0, 0.2, 1.8, 0.0))
    assert (y.trading_net, y.inventory_pnl, y.net_pnl) == pytest.approx((0.04, -1.05, -1.01))
    assert total.net_pnl == pytest.approx(total.trading_net + total.inventory_pnl)
    assert total.net_pnl == pytest.approx(total.realized + total.unrealized - total.fees)


def test_a_quoting_engine_books_spread_capture_per_fill_and_the_parts_add_up(tmp_path):
    from sqlmodel import select

    from engine import service
    from engine.clock import SimClock
    from engine.config import load_config
    from engine.exchanges import create_exchange
    from engine.runtime import Engine
    from engine.store import OrderRecord
    from tests.engine.test_runtime import make_config_dir

    cdir = make_config_dir(tmp_path, strategy={"spread_bps": 2, "min_spread_bps": 1, "fee_aware": False})
    cfg = load_config(cdir, env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    engine.run_simulated(600)
    with Session(engine.db) as s:
        fills = s.exec(select(TradeRecord)).all()
        mids = dict(s.exec(select(OrderRecord.client_order_id, OrderRecord.ref_mid)).all())
    assert len(fills) > 5
    for f in fills:  # each fill measured against the mid its own order was priced at
        assert f.edge == pytest.approx(spread_capture(f.side, f.price, f.amount, mids[f.client_order_id]))
    assert sum(f.edge for f in fills) > 0  # resting maker quotes capture spread
    total = service.summary(engine)
    assert total["spread_capture"] == pytest.approx(sum(f.edge for f in fills))
    assert total["fees"] == pytest.approx(sum(f.fee for f in fills))
    assert total["net_pnl"] == pytest.approx(total["trading_net"] + total["inventory_pnl"])
    engine.stop()


def test_the_sums_follow_new_fills_without_reading_old_ones_again(tmp_path):
    from engine.pnl import fill_sums

    db = make_engine(f"sqlite:///{tmp_path}/s.db")
    with Session(db) as s:
        s.add(TradeRecord(exchange="sim", symbol="X/USDT", trade_id="1", side="buy", price=99, amount=1, cost=99,
                          fee=0.1, edge=1.0, ts=1))
        s.commit()
    assert fill_sums(db) == {("sim", "X/USDT"): (0.0, 1.0, 0.1)}
    with Session(db) as s:
        s.add(TradeRecord(exchange="sim", symbol="X/USDT", trade_id="2", side="sell", price=101, amount=1, cost=101,
                          fee=0.1, realized_pnl=2.0, edge=1.0, ts=2))
        s.commit()
    assert fill_sums(db)[("sim", "X/USDT")] == pytest.approx((2.0, 2.0, 0.2))
    assert fill_sums(db)[("sim", "X/USDT")] == pytest.approx((2.0, 2.0, 0.2))  # asked again: nothing counted twice
