"""Cross-exchange arbitrage (seed 000 ``cross_exchange_arbitrage``): off by default; when on, both legs on two
simulated venues whose prices drifted apart, and a failed leg unwound."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from engine.arbitrage.opportunity import Top, best_pair, sized
from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.runtime import Engine
from engine.store import Alert, ArbitrageTrade, OrderRecord, TradeRecord
from tests.engine.test_runtime import make_config_dir


def top(venue: str, bid: float, ask: float, qty: float = 1.0, taker: float = 0.0006, lot: float = 0.001) -> Top:
    return Top(venue, bid, qty, ask, qty, taker, lot, min_amount=lot, min_cost=5.0)


def test_the_best_pair_must_beat_both_taker_fees_and_the_margin():
    a, b, c = top("a", 99.9, 100.0), top("b", 100.2, 100.3), top("c", 100.5, 100.6)
    opp = best_pair("X/USDT", [a, b, c], min_profit_bps=5)
    assert (opp.buy.venue, opp.sell.venue) == ("a", "c")
    assert opp.edge_bps == pytest.approx(50 - 12)  # 0.5% gross, less 6 bps taker on each side
    assert best_pair("X/USDT", [a, b], min_profit_bps=5) is not None  # 20 bps gross, 8 after fees
    assert best_pair("X/USDT", [a, b], min_profit_bps=10) is None
    assert best_pair("X/USDT", [a, top("d", 100.05, 100.1)], min_profit_bps=0) is None  # 5 bps < 12 bps of fees


def test_an_opportunity_is_sized_within_tops_limits_rooms_and_lots():
    opp = best_pair("X/USDT", [top("a", 99, 100, qty=3.0), top("b", 102, 103, qty=2.0, lot=0.01)], 5)
    assert sized(opp, 10_000, 10, 10).amount == 2.0  # the thinner top
    assert sized(opp, 150, 10, 10).amount == 1.5  # max_trade_usd at the ask
    assert sized(opp, 10_000, 0.456, 10).amount == 0.45  # the buy side's room, in the coarser lot
    assert sized(opp, 10_000, 10, 0.04) is None  # $4 is below the $5 minimum order


def diverging(tmp_path, arbitrage: dict | None = None, b_config: dict | None = None) -> tuple[Engine, SimClock]:
    overrides = {"engine": {"venues": ["sim-b"], "selection": "LOAD_BALANCE"},
                 "symbols": {"sim-b": {"ETH/USDT": {"enabled": True}, "BTC/USDT": {"enabled": True}}}}
    if arbitrage is not None:
        overrides["cross_exchange_arbitrage"] = arbitrage
    cfg = load_config(make_config_dir(tmp_path, **overrides), env={})
    clock = SimClock()
    a = create_exchange("sim", {"seed": 1}, clock=clock)
    b = create_exchange("sim", {"seed": 2, **(b_config or {})}, clock=clock)
    # independent synthetic markets: BTC and ETH trade a few percent apart on the two venues
    assert b.fetch_ticker("BTC/USDT")["bid"] > a.fetch_ticker("BTC/USDT")["ask"] * 1.01
    engine = Engine(cfg, exchange=a, clock=clock, extra_exchanges={"sim-b": b})
    engine.start(schedule=False)
    return engine, clock


def arbitrage_rows(engine: Engine) -> list[ArbitrageTrade]:
    with Session(engine.db) as s:
        return list(s.exec(select(ArbitrageTrade).order_by(ArbitrageTrade.id)).all())


def test_arbitrage_is_off_by_default(tmp_path):
    engine, clock = diverging(tmp_path)
    assert engine.config.cross_exchange_arbitrage.enabled is False
    engine.run_simulated(30)
    assert arbitrage_rows(engine) == []
    with Session(engine.db) as s:
        assert not s.exec(select(OrderRecord).where(OrderRecord.type == "ioc")).all()
    engine.stop()


def test_the_seeds_bare_switch_reads_as_the_section(tmp_path):
    cfg = load_config(_bare(tmp_path), env={})
    assert cfg.cross_exchange_arbitrage.enabled is True
    assert cfg.cross_exchange_arbitrage.min_profit_bps == 5.0


def _bare(tmp_path):
    d = make_config_dir(tmp_path)
    (d / "config.yaml").write_text((d / "config.yaml").read_text() + "\ncross_exchange_arbitrage: true\n")
    return d


def test_both_legs_buy_where_cheaper_and_sell_where_dearer(tmp_path):
    engine, clock = diverging(tmp_path, {"enabled": True, "symbols": ["BTC/USDT", "ETH/USDT"]})
    engine.trader.gate.symbol_pauses["ETH/USDT"] = "paused by the operator"  # the risk gate refuses ETH on sim
    engine.run_simulated(25)
    rows = arbitrage_rows(engine)
    assert rows and {r.symbol for r in rows} == {"BTC/USDT"}
    done = [r for r in rows if r.status == "done"]
    assert len(done) >= 2  # one trade per symbol per cooldown (10 s)
    r = done[0]
    assert (r.buy_exchange, r.sell_exchange) == ("sim", "sim-b")  # sim-b's BTC trades dearer
    assert r.buy_filled == r.sell_filled == r.amount and r.amount * r.buy_price <= 500 + 1e-6
    assert r.edge_bps > 5 and r.pnl > 0
    with Session(engine.db) as s:
        legs = {o.client_order_id: o for o in s.exec(select(OrderRecord).where(OrderRecord.type == "ioc")).all()}
        trades = s.exec(select(TradeRecord)).all()
    buy, sell = legs[r.buy_client_id], legs[r.sell_client_id]
    assert (buy.exchange, buy.side, buy.status) == ("sim", "buy", "closed")
    assert (sell.exchange, sell.side, sell.status) == ("sim-b", "sell", "closed")
    filled = {}
    for t in trades:
        if t.client_order_id in (buy.client_order_id, sell.client_order_id):
            filled[t.client_order_id] = filled.get(t.client_order_id, 0.0) + t.amount
    assert filled == {buy.client_order_id: pytest.approx(r.amount), sell.client_order_id: pytest.approx(r.amount)}
    engine.stop()


def test_a_failed_sell_leg_is_unwound_where_it_was_bought(tmp_path):
    halt = {"events": [{"type": "halt", "after_s": 0, "duration_s": 3600, "symbol": "BTC/USDT"}]}
    engine, clock = diverging(tmp_path, {"enabled": True, "symbols": ["BTC/USDT"]}, b_config=halt)
    engine.run_simulated(12)
    rows = arbitrage_rows(engine)
    assert rows and rows[0].status == "unwound", [(r.status, r.note) for r in rows]
    r = rows[0]
    assert r.sell_filled == 0 and r.unwind_filled == pytest.approx(r.buy_filled)
    assert "the sell leg took 0" in r.note
    with Session(engine.db) as s:
        sells = s.exec(select(OrderRecord).where(OrderRecord.exchange == "sim-b", OrderRecord.type == "ioc")).all()
        unwind = s.exec(select(OrderRecord).where(OrderRecord.client_order_id == r.unwind_client_id)).one()
        alerts = [a.kind for a in s.exec(select(Alert)).all()]
    assert len([o for o in sells if o.client_order_id == r.sell_client_id]) == 1  # sent once, never twice
    assert sells[0].status == "rejected"  # its fate learned by client id: it never reached the venue
    assert (unwind.exchange, unwind.side, unwind.type, unwind.status) == ("sim", "sell", "market", "closed")
    assert "arbitrage" in alerts
    engine.stop()


def test_the_positions_page_lists_the_arbitrage_trades(tmp_path, monkeypatch):
    import json

    from engine.registry import ensure_engine, stop_all_engines
    from tests.test_app import PASSWORD, console_config, logged_in

    cdir = console_config(tmp_path)
    overrides = json.loads((cdir / "config.json").read_text())
    overrides["cross_exchange_arbitrage"] = {"enabled": True}
    (cdir / "config.json").write_text(json.dumps(overrides))
    monkeypatch.setenv("MM_CONFIG_DIR", str(cdir))
    monkeypatch.setenv("MM_CONSOLE_PASSWORD", PASSWORD)
    try:
        engine = ensure_engine(cdir)
        with Session(engine.db) as s:
            s.add(ArbitrageTrade(ts=1_700_000_000_000, symbol="BTC/USDT", buy_exchange="sim", sell_exchange="sim-b",
                                 amount=0.0078, buy_price=63_000.0, sell_price=66_000.0, edge_bps=460.0,
                                 status="unwound", buy_filled=0.0078, unwind_filled=0.0078, pnl=-0.31,
                                 note="the sell leg took 0 of 0.0078 (rejected); unwound 0.0078 at 63010"))
            s.commit()
        at = logged_in()
        at.switch_page("pages/positions.py").run()
        assert not at.exception
        assert "Cross-exchange arbitrage" in [h.value for h in at.subheader]
        shown = next(df.value for df in at.dataframe if "Bought -> sold" in df.value.columns)
        assert list(shown["State"]) == ["unwound"] and list(shown["Bought -> sold"]) == ["sim -> sim-b"]
        assert shown["What happened"][0].startswith("the sell leg took 0")
    finally:
        stop_all_engines()
