"""Run metrics (engine/analytics.py) against examples computed by hand."""

from __future__ import annotations

import math

import pytest

from engine.analytics import (
    Fill,
    fill_ratio,
    inventory_stats,
    markouts,
    max_drawdown,
    mean_markouts,
    mid_at,
    return_over_trade,
    sharpe,
    sortino,
    summary,
    time_in_market,
)

MIDS = [(0, 100.0), (1_000, 100.1), (10_000, 99.9), (60_000, 100.5), (61_000, 100.5)]


def test_the_mid_at_a_time_is_the_last_one_seen():
    assert mid_at(MIDS, 500) == 100.0 and mid_at(MIDS, 1_000) == 100.1 and mid_at(MIDS, -1) is None


def test_markouts_are_in_the_fills_favour_or_against_it():
    buy, sell = Fill(0, "buy", 100.0, 1.0), Fill(0, "sell", 100.0, 1.0)
    table = markouts([buy, sell], MIDS)
    assert table[1] == pytest.approx([10.0, -10.0])  # 100 -> 100.1: +10 bps for the buy, -10 for the sell
    assert table[10] == pytest.approx([-10.0, 10.0])  # 99.9
    assert table[60] == pytest.approx([50.0, -50.0])  # 100.5
    late = Fill(30_000, "buy", 100.0, 1.0)
    assert markouts([late], MIDS)[60] == [None]  # the series ends before 90 s
    weighted = mean_markouts([Fill(0, "buy", 100.0, 3.0), Fill(0, "sell", 100.0, 1.0)], MIDS)
    assert weighted[1] == pytest.approx((10 * 300 - 10 * 100) / 400)  # notional-weighted


def test_sharpe_and_sortino_annualised_from_the_interval():
    equity = [100.0, 101.0, 100.0, 102.0]
    r = [0.01, -1 / 101, 0.02]
    mean = sum(r) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / 2)
    year = math.sqrt(365 * 24 * 3600 / 60)
    assert sharpe(equity, 60) == pytest.approx(mean / sd * year)
    assert sortino(equity, 60) == pytest.approx(mean / math.sqrt((1 / 101) ** 2 / 3) * year)
    assert sharpe([100.0, 100.0], 60) is None and sortino([100.0, 101.0, 102.0], 60) is None


def test_drawdown_return_over_trade_and_fill_ratio():
    assert max_drawdown([100.0, 110.0, 99.0, 120.0, 108.0]) == pytest.approx((12.0, 1000.0))
    assert return_over_trade(5.0, 10_000.0) == pytest.approx(5.0) and return_over_trade(1.0, 0.0) is None
    assert fill_ratio(40, 10) == 0.25 and fill_ratio(0, 0) is None


def test_inventory_and_time_in_market_are_time_weighted():
    inv = [(0, 0.0), (1_000, 500.0), (4_000, -1_000.0), (5_000, 0.0)]
    stats = inventory_stats(inv, cap_usd=1_000.0)
    assert stats["max_abs"] == 1_000.0
    assert stats["mean_abs"] == pytest.approx((0 * 1 + 500 * 3 + 1_000 * 1) / 5)
    assert stats["time_at_cap"] == pytest.approx(1 / 5)
    assert time_in_market([(0, True), (3_000, False), (4_000, True), (5_000, True)]) == pytest.approx(4 / 5)


def test_summary_puts_them_together():
    fills = [Fill(0, "buy", 100.0, 1.0, 0.02), Fill(1_000, "sell", 100.2, 1.0, 0.02)]
    s = summary(fills, MIDS, [100.0, 100.1, 100.16], 1.0, orders_placed=4, orders_filled=2, net_pnl=0.16)
    assert s["fills"] == 2 and s["volume"] == pytest.approx(200.2) and s["fees"] == pytest.approx(0.04)
    assert s["fill_ratio"] == 0.5 and s["ratio_interval_s"] == 1.0
    assert s["return_over_trade_bps"] == pytest.approx(0.16 / 200.2 * 1e4)
    assert s["markout_1s_bps"] is not None and s["max_drawdown"] == 0.0


def test_markouts_on_the_live_store_against_the_engines_mid_history(tmp_path):
    from sqlmodel import Session

    from engine.store import TradeRecord, make_engine
    from engine.trade_history import live_markouts

    db = make_engine(f"sqlite:///{tmp_path / 'live.db'}")
    with Session(db) as s:
        for i, (symbol, side, price, ts) in enumerate([("BTC/USDT", "buy", 100.0, 1_000),
                                                       ("BTC/USDT", "sell", 100.0, -5_000),  # before the history
                                                       ("ETH/USDT", "buy", 10.0, 1_000)]):  # no mids for ETH
            s.add(TradeRecord(exchange="sim", symbol=symbol, trade_id=str(i), side=side, price=price, amount=1.0,
                              cost=price, ts=ts))
        s.commit()
    mids = {("sim", "BTC/USDT"): [(0, 100.0), (2_000, 100.5), (11_000, 99.0), (61_000, 101.0)]}
    assert live_markouts(db, mids) == [{"exchange": "sim", "symbol": "BTC/USDT", "fills": 1,
                                        "markout_1s_bps": 50.0, "markout_10s_bps": -100.0, "markout_60s_bps": 100.0}]
