"""Seed 000 ``pnl_harvest``: take profit on inventory past the threshold (requoted on time), wider spreads after a
wick, and a symbol's exposure netted across exchanges before caps and harvesting."""

from __future__ import annotations

import pytest

from engine.quoting import MarketView
from engine.strategies.base import MarketState, RiskVerdict
from engine.strategies.harvest import HARVEST_LEVEL, Harvester, HarvestParams, WickWatch
from engine.strategies.market_making import MarketMakingStrategy

VIEW = MarketView("BTC/USDT", 100.45, 100.55, 0.01, 0.001)  # mid 100.50


def test_inventory_past_the_threshold_is_offered_back_and_requoted_on_time():
    h = Harvester(HarvestParams(harvest_bps=30, tp_requote_s=10))
    assert h.quote(VIEW, 1.0, 100.40, 0) is None  # up 10 bps: below the threshold
    tp = h.quote(VIEW, 1.0, 100.0, 1_000)  # up 50 bps
    assert (tp.side, tp.level, tp.amount) == ("sell", HARVEST_LEVEL, 1.0)
    assert tp.price == pytest.approx(100.46)  # inside the spread (the floor, entry + 30 bps = 100.30, is below)
    moved = MarketView("BTC/USDT", 100.60, 100.70, 0.01, 0.001)
    assert h.quote(moved, 1.0, 100.0, 9_000).price == pytest.approx(100.46)  # held for tp_requote_s
    assert h.quote(moved, 1.0, 100.0, 11_000).price == pytest.approx(100.61)  # then requoted
    short = Harvester(HarvestParams(harvest_bps=30)).quote(VIEW, -0.5, 101.0, 0)  # a short up 49.5 bps
    assert (short.side, short.amount, short.price) == ("buy", 0.5, pytest.approx(100.54))
    assert Harvester(HarvestParams(harvest_bps=0)).quote(VIEW, 1.0, 100.0, 0) is None  # off


def test_a_wick_widens_the_spreads_for_a_while_and_a_trend_does_not():
    w = WickWatch(HarvestParams(widen_on_wick_bps=10, wick_bps=30, wick_window_s=60, wick_widen_s=120))
    assert w.widen_bps(0, 100.0) == 0
    assert w.widen_bps(10_000, 100.40) == 0  # up 40 bps: a move, not yet a wick
    assert w.widen_bps(20_000, 100.15) == 10  # came back more than half way: a wick
    assert w.widen_bps(139_000, 100.15) == 10 and w.widen_bps(141_000, 100.15) == 0  # for wick_widen_s
    trend = WickWatch(HarvestParams(widen_on_wick_bps=10, wick_bps=30))
    assert [trend.widen_bps(t, m) for t, m in [(0, 100.0), (10_000, 100.40), (20_000, 100.45)]] == [0, 0, 0]


def state(position: float, own: float, entry: float, now: int = 0, view: MarketView = VIEW) -> MarketState:
    return MarketState(symbol="BTC/USDT", now_ms=now, view=view, candles=(), volatility_bps=2.0, position=position,
                       orders=(), risk=RiskVerdict(), capital_usd=100_000, own_position=own, entry_price=entry)


def test_the_strategy_harvests_the_netted_exposure_and_widens_after_a_wick():
    mm = MarketMakingStrategy({"levels": 1, "max_inventory_usd": 10_000})
    intent = mm.decide(state(1.0, 1.0, 100.0))
    tp = [q for q in intent.quotes if q.level == HARVEST_LEVEL]
    assert len(tp) == 1 and tp[0].side == "sell" and "take profit sell 1" in intent.reason
    hedged = MarketMakingStrategy({"levels": 1}).decide(state(0.0, 1.0, 100.0))  # short 1 on another exchange
    assert not [q for q in hedged.quotes if q.level == HARVEST_LEVEL]
    partly = MarketMakingStrategy({"levels": 1}).decide(state(0.4, 1.0, 100.0))  # 0.6 hedged elsewhere
    assert [q.amount for q in partly.quotes if q.level == HARVEST_LEVEL] == [0.4]

    calm = MarketMakingStrategy({"levels": 1, "harvest_bps": 0})
    wick = MarketMakingStrategy({"levels": 1, "harvest_bps": 0})
    for t, mid in [(0, 100.0), (10_000, 100.4), (20_000, 100.15)]:
        v = MarketView("BTC/USDT", mid - 0.005, mid + 0.005, 0.01, 0.001)
        quiet = calm.decide(state(0.0, 0.0, 0.0, t, MarketView("BTC/USDT", 99.995, 100.005, 0.01, 0.001)))
        wide = wick.decide(state(0.0, 0.0, 0.0, t, v))
    spread = {name: (max(q.price for q in i.quotes if q.side == "sell") - min(q.price for q in i.quotes
                                                                              if q.side == "buy")) / 100.15 * 1e4
              for name, i in (("quiet", quiet), ("wide", wide))}
    assert spread["wide"] == pytest.approx(spread["quiet"] + 10, abs=2.5) and "wider after a wick" in wide.reason


def test_netting_across_two_sim_exchanges_counts_long_and_short_as_flat(tmp_path):
    from engine import service
    from tests.engine.test_multi_venue import two_venues

    engine, clock, _, _ = two_venues(tmp_path, {"BTC/USDT": {"enabled": True}})
    try:
        a, b = engine.traders
        a.market_order("BTC/USDT", "buy", 0.01)
        b.market_order("BTC/USDT", "sell", 0.01)
        for t in engine.traders:
            t.poll_fills(force=True)
            t.publish()
        assert a.peers("BTC/USDT") == pytest.approx(-0.01) and b.peers("BTC/USDT") == pytest.approx(0.01)
        rows = service.netting_rows(engine)
        assert rows == [{"symbol": "BTC/USDT", "positions": "sim +0.01, sim-b -0.01", "net": pytest.approx(0.0),
                         "netted": True}]
        view = a.market_view("BTC/USDT")
        assert a.ledger.position("BTC/USDT").qty + a.peers("BTC/USDT") == pytest.approx(0.0)  # what caps see
        assert view is not None
    finally:
        engine.stop()


def test_on_the_simulated_exchange_a_take_profit_closes_a_short_that_a_crash_put_in_profit(tmp_path):
    from engine.clock import SimClock
    from engine.config import load_config
    from engine.exchanges import create_exchange
    from engine.runtime import Engine
    from tests.engine.test_runtime import make_config_dir

    d = make_config_dir(tmp_path, sim={"events": [{"type": "flash_crash", "symbol": "BTC/USDT", "after_s": 20,
                                                   "duration_s": 10, "pct": 1.0}]},
                        strategy={"spread_bps": 400})  # the ladder rests far away: the crash does not fill it
    cfg = load_config(d, env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    try:
        trader = engine.trader
        trader.market_order("BTC/USDT", "sell", 0.02)  # short 0.02 against the inventory the account holds
        trader.poll_fills(force=True)
        assert trader.ledger.position("BTC/USDT").qty == pytest.approx(-0.02)
        engine.run_simulated(60)  # the crash at 20 s puts the short up about 100 bps
        from sqlmodel import Session, select

        from engine.store import OrderRecord

        with Session(engine.db) as s:
            harvest = s.exec(select(OrderRecord).where(OrderRecord.level == HARVEST_LEVEL)).all()
        assert harvest and {o.side for o in harvest} == {"buy"}  # offered back: buys close the short
        assert min(o.created_ms for o in harvest) >= clock.now_ms() - 40_000  # not before the crash
        assert sum(o.filled for o in harvest) == pytest.approx(0.02)
        assert trader.ledger.position("BTC/USDT").qty == pytest.approx(0.0, abs=1e-9)  # harvested
        assert trader.ledger.position("BTC/USDT").realized_pnl > 0
    finally:
        engine.stop()
