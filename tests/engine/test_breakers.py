"""Each breaker trips at its threshold and not below; the board opens, cools down and closes as designed."""

from __future__ import annotations

import pytest

from engine.config import CorrelationGroup, RiskSettings
from engine.risk.board import CLOSED, COOLING, OPEN, BreakerBoard
from engine.risk.breakers import load_breakers
from engine.risk.caps import CapSettings, OpenOrder, excess_orders, portfolio_reason, side_blocks
from engine.risk.model import ExchangeSnapshot, RiskSnapshot, SymbolSnapshot

RISK = RiskSettings()
BREAKERS = {b.name: b for b in load_breakers(RISK)}


def snap(latency=None, error_rate=None, spread=None, range_pct=None, equity=None, peak=None) -> RiskSnapshot:
    ex = ExchangeSnapshot("sim", latency, error_rate, 100, True, equity)
    sym = SymbolSnapshot("sim", "BTC/USDT", 100.0, spread, range_pct, 0.0, 0.0, 0)
    return RiskSnapshot(0, {"sim": ex}, {("sim", "BTC/USDT"): sym}, equity, peak)


@pytest.mark.parametrize("name, below, at, field", [
    ("latency", 499.9, 500.0, "latency"),
    ("spread", 19.99, 20.0, "spread"),
    ("volatility", 4.99, 5.0, "range_pct"),
    ("error_rate", 0.0999, 0.10, "error_rate"),
])
def test_each_breaker_trips_at_its_threshold_and_not_below(name, below, at, field):
    (d_below,) = BREAKERS[name].evaluate(0, snap(**{field: below}))
    (d_at,) = BREAKERS[name].evaluate(0, snap(**{field: at}))
    assert not d_below.tripped and d_at.tripped
    assert d_at.threshold == {"latency": 500, "spread": 20, "volatility": 5, "error_rate": 0.1}[name]


def test_drawdown_is_measured_from_peak_in_bps():
    (below,) = BREAKERS["drawdown"].evaluate(0, snap(equity=99_000.01, peak=100_000))  # 99.999 bps
    (at,) = BREAKERS["drawdown"].evaluate(0, snap(equity=99_000.0, peak=100_000))  # 100 bps
    assert not below.tripped and at.tripped and at.value == pytest.approx(100.0)
    assert BREAKERS["drawdown"].evaluate(0, snap()) == ()  # no equity yet: no verdict


def test_board_opens_cools_down_and_closes_after_the_cooldown():
    board = BreakerBoard([BREAKERS["spread"]])
    hot, calm = snap(spread=25.0), snap(spread=5.0)
    (t,) = board.update(0, list(BREAKERS["spread"].evaluate(0, hot)))
    assert (t.previous, t.state) == (CLOSED, OPEN)
    assert board.update(10_000, list(BREAKERS["spread"].evaluate(0, hot))) == []  # still open, cooldown extended
    (t,) = board.update(20_000, list(BREAKERS["spread"].evaluate(0, calm)))
    assert t.state == COOLING
    assert board.update(309_999, list(BREAKERS["spread"].evaluate(0, calm))) == []
    (t,) = board.update(310_000, list(BREAKERS["spread"].evaluate(0, calm)))  # 300 s after the last trip
    assert t.state == CLOSED
    assert board.active() == []


def test_tripping_while_cooling_reopens():
    board = BreakerBoard([BREAKERS["spread"]])
    board.update(0, list(BREAKERS["spread"].evaluate(0, snap(spread=25.0))))
    board.update(5_000, list(BREAKERS["spread"].evaluate(0, snap(spread=5.0))))
    (t,) = board.update(6_000, list(BREAKERS["spread"].evaluate(0, snap(spread=30.0))))
    assert (t.previous, t.state) == (COOLING, OPEN)


def test_drawdown_waits_for_a_manual_rearm():
    board = BreakerBoard([BREAKERS["drawdown"]])
    board.update(0, list(BREAKERS["drawdown"].evaluate(0, snap(equity=98_000, peak=100_000))))
    for t in (10_000, 400_000, 86_400_000):
        assert board.update(t, list(BREAKERS["drawdown"].evaluate(0, snap(equity=100_000, peak=100_000)))) == []
    assert [s.state for s in board.active()] == [OPEN]
    (t,) = board.rearm("drawdown")
    assert t.state == CLOSED and board.active() == []


def test_excess_orders_are_cancelled_newest_first():
    caps = CapSettings(max_open_orders_per_symbol=3, max_open_orders_global=5)
    orders = [OpenOrder(f"b{i}", "sim", "BTC/USDT", i) for i in range(5)] + \
             [OpenOrder(f"e{i}", "sim", "ETH/USDT", 10 + i) for i in range(3)]
    assert [o.client_id for o in excess_orders(orders, caps)] == ["b4", "b3", "e2"]


def test_side_blocks_clamp_the_growing_side():
    caps = CapSettings(max_inventory_per_symbol_usd=50_000, max_inventory_per_exchange_usd=200_000,
                       max_inventory_global_usd=400_000)
    inv = {("sim", "BTC/USDT"): 12_000.0, ("sim", "ETH/USDT"): -3_000.0, ("sim", "SOL/USDT"): 0.0}
    limits = {k: 10_000.0 for k in inv}  # conservative mode: $10,000 per symbol
    blocks, breaches = side_blocks(inv, caps, limits)
    assert blocks == {("sim", "BTC/USDT"): {"buy"}}
    assert str(breaches[0]) == "symbol inventory $12,000 > cap $10,000 (sim:BTC/USDT)"
    tight = CapSettings(max_inventory_per_exchange_usd=14_000)
    blocks, breaches = side_blocks(inv, tight, {k: 50_000.0 for k in inv})
    assert blocks == {("sim", "BTC/USDT"): {"buy"}, ("sim", "ETH/USDT"): {"sell"},
                      ("sim", "SOL/USDT"): {"buy", "sell"}}  # only reducing orders anywhere on that exchange
    assert breaches[0].cap == "exchange"


def test_portfolio_limits_state_the_reason():
    inv = {("sim", "BTC/USDT"): 500.0}
    reason = portfolio_reason("sim", "ETH/USDT", "buy", 600.0, inv, 10_000.0, 0.10, {})
    assert reason.startswith("exposure $1,100 > max $1,000")  # the seed's own example
    assert portfolio_reason("sim", "ETH/USDT", "buy", 400.0, inv, 10_000.0, 0.10, {}) is None
    assert portfolio_reason("sim", "BTC/USDT", "sell", 5_000.0, inv, 10_000.0, 0.10, {}) is None  # reduces
    groups = {"majors": CorrelationGroup(["BTC/USDT", "ETH/USDT"], 1)}
    reason = portfolio_reason("sim", "ETH/USDT", "buy", 100.0, inv, 1e9, 0.10, groups)
    assert reason == "correlated positions in majors: 1 held (BTC/USDT) >= max 1"
