"""The per-exchange request budget: never exceeded; orders keep a share data cannot take."""

from __future__ import annotations

import ccxt
import pytest

from engine.clock import SimClock
from engine.exchanges import create_exchange
from engine.metering import BudgetExceeded, MeteredExchange


def test_data_requests_stop_at_their_share_orders_still_go_through():
    clock = SimClock()
    api = MeteredExchange(create_exchange("sim", clock=clock), clock, budget_per_min=50)
    for _ in range(40):  # 80% of 50
        api.fetch_order_book("BTC/USDT", 5)
    with pytest.raises(BudgetExceeded, match="leaves 40 for data"):
        api.fetch_ticker("BTC/USDT")
    assert isinstance(BudgetExceeded("x"), ccxt.RateLimitExceeded)  # handled like the exchange's own 429
    order = api.create_order("BTC/USDT", "limit", "buy", 0.001, 50_000.0, {"clientOrderId": "prio-1"})
    api.cancel_order(order["id"], "BTC/USDT")  # orders use the remaining 20%
    clock.advance(61)
    api.fetch_ticker("BTC/USDT")  # a new minute


def test_the_engine_never_exceeds_the_budget(tmp_path):
    from engine.config import load_config
    from engine.runtime import Engine
    from tests.engine.test_runtime import make_config_dir

    cfg = load_config(make_config_dir(tmp_path), env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.api.budget_per_min = 120  # far below what 3 symbols at 250 ms would ask for
    engine.start(schedule=False)
    peak = 0

    def watch(e: Engine) -> None:
        nonlocal peak
        peak = max(peak, e.api.meter.count(e.clock.now_ms()))

    engine.run_simulated(180, on_cycle=watch)
    assert peak <= 120 and engine.api.refused > 0
    assert engine.state == "RUNNING" and engine.exchange.fetch_open_orders()  # it still quotes, within the budget
    engine.stop()
