"""Funding checks (seed 000 ``funding``): beyond the threshold the perpetual's quotes and inventory target lean to
the side that receives funding; funding settled on the position is stored once per payment and counted in PnL."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from engine import service
from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.funding import target_usd
from engine.runtime import Engine
from engine.store import Alert, FundingPayment
from tests.engine.test_runtime import make_config_dir

PERP = "BTC/USDT:USDT"


def test_the_target_leans_to_the_side_that_receives_funding():
    assert target_usd(5.0, 1.0, 25, 10_000) == -2_500  # longs pay: lean short
    assert target_usd(-5.0, 1.0, 25, 10_000) == 2_500  # shorts pay: lean long
    assert target_usd(0.5, 1.0, 25, 10_000) == 0.0  # within the threshold: flat


def perp_engine(tmp_path, rate: float, enabled: bool = True) -> Engine:
    tmp_path.mkdir(exist_ok=True)
    d = make_config_dir(tmp_path, strategy={"risk_mode": "AGGRESSIVE"},
                        sim={"funding_rate": rate, "funding_interval_h": 1, "balances": {"USDT": 100_000}},
                        funding={"enabled": enabled, "funding_check_interval": 60})
    cfg = load_config(d, env={})
    from dataclasses import replace

    from engine.config import SymbolConfig

    cfg = replace(cfg, symbols={"sim": {PERP: SymbolConfig(enabled=True)}})
    clock = SimClock()
    return Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)


def lean(engine: Engine) -> float:
    """How much closer to the mid our best ask rests than our best bid (bps; > 0: leaning short)."""
    orders = [o for o in engine.trader.snapshot.orders if o.symbol == PERP and o.level == 0]
    mid = engine.trader.snapshot.view(PERP).mid
    bid = max(o.price for o in orders if o.side == "buy")
    ask = min(o.price for o in orders if o.side == "sell")
    return ((mid - bid) - (ask - mid)) / mid * 1e4


@pytest.mark.parametrize(("rate", "side"), [(0.001, "short"), (-0.001, "long")])
def test_funding_beyond_the_threshold_skews_the_quotes_and_is_counted_in_pnl(tmp_path, rate, side):
    engine = perp_engine(tmp_path / "on", rate)
    engine.start(schedule=False)
    try:
        engine.run_simulated(130)  # the funding job has read the rate
        trader = engine.trader
        assert trader.funding_bps[PERP] == pytest.approx(rate * 1e4, abs=3)  # the sim's rate: base + premium / 3
        target = trader.inventory_targets_usd[PERP]
        assert (target < 0) if side == "short" else (target > 0)
        leaning = lean(engine)
        assert (leaning > 0) if side == "short" else (leaning < 0)
        with Session(engine.db) as s:
            assert any(a.kind == "funding skew" and f"quotes lean {side}" in a.message for a in s.exec(select(Alert)))
        row = service.funding_rows(engine)[0]
        assert row["lean"] == side and row["symbol"] == PERP

        if side == "long":
            return  # the settlement below is the same either way: once is enough
        engine.run_simulated(3_600)  # a funding settlement on whatever position the fills built
        engine.funding_cycle()
        engine.funding_cycle()  # read again: nothing stored twice
        with Session(engine.db) as s:
            payments = s.exec(select(FundingPayment)).all()
        venue_funding = engine.exchange.account.funding
        assert len({p.payment_id for p in payments}) == len(payments)
        assert sum(p.amount for p in payments) == pytest.approx(venue_funding, abs=1e-6)
        _, total = service.pnl(engine)
        assert total.funding == pytest.approx(venue_funding, abs=1e-6)
        assert total.net_pnl == pytest.approx(total.realized + total.unrealized - total.fees + total.funding)
    finally:
        engine.stop()


def test_no_lean_when_funding_checks_are_off(tmp_path):
    engine = perp_engine(tmp_path / "off", 0.001, enabled=False)
    engine.start(schedule=False)
    try:
        engine.run_simulated(130)
        assert engine.trader.inventory_targets_usd == {} and service.funding_rows(engine) == []
        assert abs(lean(engine)) < 1.0
    finally:
        engine.stop()
