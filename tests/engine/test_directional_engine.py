"""Directional symbols on the engine and the simulated exchange: an entry, its held stop loss executed on a crash,
and a restart in the middle of an open position."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlmodel import Session, select

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.runtime import Engine
from engine.store import OrderRecord, SignalRecord
from engine.strategies import Signal, SignalType, register
from engine.strategies.directional import DirectionalStrategy
from tests.engine.test_runtime import make_config_dir


@register("buy_once_with_stop")
class BuyOnce(DirectionalStrategy):
    """BUY once (on its first full look at the market) with a stop 1% under the close; HOLD after that."""

    own = {"stop_pct": 1.0}
    done = False

    def analyze(self, df: pd.DataFrame) -> Signal:
        close = float(df["close"].iloc[-1])
        if self.done:
            return Signal(SignalType.HOLD, reasoning="bought already")
        self.done = True
        return Signal(SignalType.BUY, 0.9, close, close * (1 - self.params["stop_pct"] / 100), None, "test entry")


CRASH = {"type": "flash_crash", "symbol": "ETH/USDT", "after_s": 600, "pct": 5, "duration_s": 60}


def engine_on(tmp_path, clock: SimClock, events: list | None = None, symbol: str = "ETH/USDT") -> tuple[Engine, object]:
    cdir = make_config_dir(tmp_path, symbols={"sim": {symbol: {"enabled": True, "strategy": "buy_once_with_stop",
                                                                   "params": {"max_risk_usd": 30}}}},
                           sim={"events": events or [], "balances": {"USDT": 100_000}},
                           risk={"max_exposure_fraction": 0.5})
    cfg = load_config(cdir, env={})
    venue = create_exchange("sim", cfg.sim, clock=clock)
    engine = Engine(cfg, exchange=venue, clock=clock)
    engine.start(schedule=False)
    return engine, venue


def signals(engine: Engine) -> list[SignalRecord]:
    with Session(engine.db) as s:
        return list(s.exec(select(SignalRecord).order_by(SignalRecord.id)))


def test_an_entry_and_its_stop_loss_executed_on_a_simulated_drop(tmp_path):
    clock = SimClock()
    engine, venue = engine_on(tmp_path, clock, [CRASH])
    engine.run_simulated(120)
    (entry,) = [r for r in signals(engine) if r.type == "BUY"]
    assert entry.decision == "approved" and entry.status == "open" and entry.order_ids
    assert entry.reason.startswith("Portfolio approved (exposure: $")
    held = engine.trader.ledger.position("ETH/USDT").qty
    assert held > 0 and engine.trader.held_exits["ETH/USDT"].stop_loss == entry.stop_loss
    engine.run_simulated(600)  # the crash: 5% down, through the 1% stop
    (closed,) = [r for r in signals(engine) if r.id == entry.id]
    assert closed.status == "closed" and closed.exit_reason == "stop loss"
    assert engine.trader.ledger.position("ETH/USDT").qty == 0 and "ETH/USDT" not in engine.trader.held_exits
    sells = [t for t in venue.fetch_my_trades("ETH/USDT") if t["side"] == "sell"]
    assert sells and sum(t["amount"] for t in sells) == pytest.approx(held)
    engine.stop()


def test_a_restart_in_the_middle_of_an_open_position_keeps_its_stop(tmp_path):
    clock = SimClock()
    first, venue1 = engine_on(tmp_path, clock)
    first.run_simulated(120)
    (entry,) = [r for r in signals(first) if r.type == "BUY"]
    held = first.trader.ledger.position("ETH/USDT").qty
    assert held > 0
    first.stop()  # cancels orders; the position stays
    venue1.close()

    second, venue2 = engine_on(tmp_path, clock, [{**CRASH, "after_s": 300}])
    assert second.trader.ledger.position("ETH/USDT").qty == held  # the store and the paper account agree
    assert second.trader.held_exits["ETH/USDT"].stop_loss == entry.stop_loss  # the exit is held again
    second.run_simulated(60)
    assert [r.type for r in signals(second)] == ["BUY"]  # no second entry on top of the held position
    second.run_simulated(400)
    (closed,) = signals(second)
    assert closed.status == "closed" and closed.exit_reason == "stop loss"
    assert second.trader.ledger.position("ETH/USDT").qty == 0
    second.stop()


def test_a_limit_entry_rests_at_the_touch_then_goes_at_market_for_the_rest(tmp_path):
    clock = SimClock()
    cdir = make_config_dir(tmp_path, symbols={"sim": {"ETH/USDT": {
        "enabled": True, "strategy": "buy_once_with_stop", "params": {"max_risk_usd": 30, "entry": "limit",
                                                            "entry_timeout_s": 5}}}},
        sim={"balances": {"USDT": 100_000}}, risk={"max_exposure_fraction": 0.5})
    cfg = load_config(cdir, env={})
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    engine.run_simulated(120)
    (entry,) = signals(engine)
    with Session(engine.db) as s:
        orders = [s.exec(select(OrderRecord).where(OrderRecord.client_order_id == cid)).one()
                  for cid in entry.order_ids.split(",")]
    assert orders[0].type == "limit" and orders[0].level == -1  # post-only at the touch first
    if orders[0].filled < orders[0].amount:  # what the limit did not fill went at market after the timeout
        assert orders[0].status == "canceled" and [o.type for o in orders[1:]] == ["market"]
        assert orders[1].created_ms - orders[0].created_ms >= 5_000
    assert engine.trader.ledger.position("ETH/USDT").qty == pytest.approx(entry.amount)
    engine.stop()


PERP = "ETH/USDT:USDT"


def perp_engine(tmp_path, clock: SimClock, events: list | None = None) -> tuple[Engine, object]:
    return engine_on(tmp_path, clock, events, symbol=PERP)


def test_on_a_perpetual_the_stop_rests_on_the_exchange_and_fires_there_while_the_engine_is_away(tmp_path):
    clock = SimClock()
    engine, venue = perp_engine(tmp_path, clock, [{**CRASH, "symbol": PERP, "after_s": 300}])
    engine.run_simulated(120)
    (entry,) = [r for r in signals(engine) if r.type == "BUY"]
    held = engine.trader.ledger.position(PERP).qty
    (stop,) = [o for o in venue.fetch_open_orders(PERP) if o["stopLossPrice"]]
    assert stop["stopLossPrice"] == pytest.approx(entry.stop_loss, rel=1e-3) and stop["reduceOnly"]
    assert stop["amount"] == pytest.approx(held) and stop["clientOrderId"] in entry.order_ids  # ours, with its id
    engine.run_simulated(30)
    assert len([o for o in venue.fetch_open_orders(PERP) if o["stopLossPrice"]]) == 1  # placed once
    clock.advance(300)  # the engine runs no cycle (a hung process, a lost network): the crash comes
    assert not [p for p in venue.fetch_positions([PERP]) if p["contracts"]]  # the exchange's stop closed it
    engine.run_simulated(30)  # back: the engine learns it from the fills
    (closed,) = [r for r in signals(engine) if r.id == entry.id]
    assert closed.status == "closed" and closed.exit_reason == "stop loss (on the exchange)"
    assert engine.trader.ledger.position(PERP).qty == 0 and PERP not in engine.trader.held_exits
    assert venue.fetch_open_orders(PERP) == []
    engine.stop()


def test_a_restart_finds_the_resting_stop_and_does_not_place_a_second(tmp_path):
    clock = SimClock()
    first, venue1 = perp_engine(tmp_path, clock)
    first.run_simulated(120)
    (stop,) = [o for o in venue1.fetch_open_orders(PERP) if o["stopLossPrice"]]
    first._trading_lock.release()  # the process dies: no stop, no cancel; the OS drops its lock
    venue1.close()
    second, venue2 = perp_engine(tmp_path, clock)
    assert second.trader.held_exits[PERP].orders == {"stop loss": stop["clientOrderId"]}
    second.run_simulated(60)
    assert [o["clientOrderId"] for o in venue2.fetch_open_orders(PERP)] == [stop["clientOrderId"]]
    second.stop()
