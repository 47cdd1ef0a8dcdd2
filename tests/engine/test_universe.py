"""The dynamic symbol universe (seed 000 ``symbol_universe``): ranking, choice, joining, leaving flat, restarts."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlmodel import Session, select

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.exchanges.sim.underlyings import LISTED_BASES, STABLECOINS
from engine.runtime import Engine
from engine.store import Alert as AlertRecord
from engine.store import OrderRecord
from engine.universe.ranking import Candidate, Filters, choose, merge, rank
from tests.engine.test_runtime import make_config_dir

F = Filters(min_volume_usd=1e6, max_spread_bps=10, min_depth_usd=5e3, depth_bps=10)


# ------------------------------------------------------------------------------------------ pure
def test_rank_scores_by_volume_depth_and_spread_and_says_why_the_rest_fail():
    cands = [Candidate("A/USDT", 9e6, 1.0, 50e3), Candidate("B/USDT", 5e6, 2.0, 90e3),
             Candidate("C/USDT", 2e6, 0.5, 10e3), Candidate("THIN/USDT", 4e5, 1.0, 50e3),
             Candidate("WIDE/USDT", 8e6, 25.0, 50e3), Candidate("SHALLOW/USDT", 7e6, 1.0, 1e3),
             Candidate("DEAD/USDT", 0.0, None)]
    ranked = rank(cands, F)
    assert [r.symbol for r in ranked if r.passes] == ["A/USDT", "B/USDT", "C/USDT"]
    a, b, c = ranked[:3]
    # percentiles among the three: A volume 1, depth 0.5, spread 0.5; B 0.5, 1, 0; C 0, 0, 1
    assert a.score == pytest.approx(0.5 * 1 + 0.3 * 0.5 + 0.2 * 0.5)
    assert b.score == pytest.approx(0.5 * 0.5 + 0.3 * 1.0)
    assert c.score == pytest.approx(0.2)
    assert [r.rank for r in ranked[:3]] == [1, 2, 3]
    fails = {r.symbol: r.fails for r in ranked if not r.passes}
    assert fails == {"THIN/USDT": "24 h volume $400.0k < $1.0M", "WIDE/USDT": "spread 25.0 bps > 10 bps",
                     "SHALLOW/USDT": "depth $1.0k < $5.0k within 10 bps", "DEAD/USDT": "no two-sided market"}


def test_choose_keeps_the_safe_list_fills_to_max_and_holds_members_for_min():
    ranked = rank([Candidate(f"S{i}/USDT", 1e7 - i * 1e5, 1.0, 1e5) for i in range(10)]
                  + [Candidate("OLD/USDT", 1e5, 1.0, 1e5)], F)
    chosen = choose(ranked, ["SAFE/USDT"], [], min_symbols=2, max_symbols=4, depth_bps=10)
    assert list(chosen) == ["SAFE/USDT", "S0/USDT", "S1/USDT", "S2/USDT"]
    assert chosen["SAFE/USDT"] == "safe list" and chosen["S0/USDT"].startswith("rank 1 of 10: 24 h volume $10.0M")
    # nothing passes any more: the member that fails is held for min_symbols, the others are not added
    failing = rank([Candidate("OLD/USDT", 1e5, 1.0, 1e5), Candidate("NEW/USDT", 2e5, 1.0, 1e5)], F)
    held = choose(failing, ["SAFE/USDT"], ["OLD/USDT"], min_symbols=3, max_symbols=4, depth_bps=10)
    assert held == {"SAFE/USDT": "safe list", "OLD/USDT": "held for min_symbols (3): 24 h volume $100.0k < $1.0M"}


def test_merge_union_takes_the_best_venue_and_intersection_needs_every_venue():
    a = rank([Candidate("X/USDT", 9e6, 1.0, 1e5), Candidate("Y/USDT", 2e6, 1.0, 1e5)], F)
    b = rank([Candidate("X/USDT", 1e5, 1.0, 1e5), Candidate("Z/USDT", 5e6, 1.0, 1e5)], F)
    union = merge({"a": a, "b": b}, "union", F)
    assert [r.symbol for r in union if r.passes] == ["X/USDT", "Z/USDT", "Y/USDT"]
    both = merge({"a": a, "b": b}, "intersection", F)
    assert [r.symbol for r in both if r.passes] == []
    assert {r.symbol: r.fails for r in both}["Z/USDT"] == "not listed on 1 of 2 exchanges"


# ------------------------------------------------------------------------------------------ on the engine
def universe_engine(tmp_path, more: int = 60, symbols: dict | None = None, **universe) -> tuple[Engine, SimClock]:
    overrides = {"symbol_universe": {"enabled": True, **universe}, "sim": {"more_markets": more}}
    if symbols:
        overrides["symbols"] = {"sim": symbols}
    cfg = load_config(make_config_dir(tmp_path, **overrides), env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    return engine, clock


def test_the_universe_picks_by_the_ranking_on_a_venue_of_66_markets(tmp_path):
    engine, clock = universe_engine(tmp_path, symbols={"IOTA/USDT": {"enabled": True}, "DOGE/USDT": {"enabled": False}},
                                    min_depth_usd=1_000)
    t = engine.trader
    assert len(t.ex.markets) == 66
    engine.universe_cycle()
    u = engine.universe
    safe = {"BTC/USDT", "ETH/USDT", "SOL/USDT", "IOTA/USDT"}
    assert sum(r.passes for r in u.ranked) > 40
    assert len(t.symbols) == 40 and safe <= set(t.symbols)  # max_symbols, the safe list counted in it
    assert u.chosen["IOTA/USDT"] == "safe list"  # kept although it fails the filters (the thinnest name)
    assert next(r for r in u.ranked if r.symbol == "IOTA/USDT").fails
    dynamic = [s for s in t.symbols if s not in safe]
    passing = [r for r in u.ranked if r.passes and r.symbol not in safe]
    assert set(dynamic) == {r.symbol for r in passing[:36]}  # the 36 best-ranked, nothing else
    assert min(r.score for r in passing[:36]) >= max((r.score for r in passing[36:]), default=0)
    assert not {f"{b}/USDT" for b in STABLECOINS} & set(t.symbols)  # excluded bases
    assert "DOGE/USDT" not in t.symbols  # disabled on the safe list: never added
    listed = [f"{b}/USDT" for b in LISTED_BASES if f"{b}/USDT" in t.ex.markets]
    thinnest = set(listed[-8:]) - {"IOTA/USDT"}
    assert not thinnest & set(t.symbols)
    for s in dynamic:
        assert u.chosen[s].startswith("rank ")
    engine.run_simulated(5)  # joined symbols warm up (the venue has two hours of candles) and quote
    quoting = {o.symbol for o in t.orders.values()}
    assert len(quoting & set(dynamic)) >= 30
    with Session(engine.db) as s:
        alert = s.exec(select(AlertRecord).where(AlertRecord.kind == "universe changed")).first()
    assert alert is not None and "+ADA/USDT" in alert.message
    engine.stop()


def test_a_joining_symbol_waits_for_its_candles(tmp_path):
    engine, clock = universe_engine(tmp_path, more=10, min_symbols=3, max_symbols=5, warmup_candles=1440)
    engine.universe_cycle()
    t = engine.trader
    joined = [s for s in t.symbols if s not in ("BTC/USDT", "ETH/USDT", "SOL/USDT")]
    assert len(joined) == 2 and set(joined) <= set(t.warming)
    engine.run_simulated(10)
    assert not {o.symbol for o in t.orders.values()} & set(joined)
    assert t.unquoted()[joined[0]]["buy"].startswith("warming up: ")
    engine.stop()


def test_min_symbols_holds_the_members_and_alerts_when_too_few_pass(tmp_path):
    engine, clock = universe_engine(tmp_path, more=20, min_symbols=8, max_symbols=10)
    engine.universe_cycle()
    members = set(engine.universe.members["sim"])
    assert len(members) == 7
    strict = engine.universe.base.symbol_universe
    engine.apply_config(replace(engine.universe.base, symbol_universe=replace(strict, min_volume_usd=1e15)))
    clock.advance(strict.refresh_sec)
    engine.universe_cycle()
    kept = set(engine.universe.members["sim"])
    assert len(kept) == 5 and kept < members  # nothing passes: 5 held (with the safe list: min_symbols), not 0
    volume = {r.symbol: r.volume_usd for r in engine.universe.ranked}
    assert min(volume[s] for s in kept) >= max(volume[s] for s in members - kept)  # the most traded are held
    assert not (members - kept) & set(engine.trader.symbols)  # the others were flat: gone at once
    assert all(why.startswith("held for min_symbols (8)") for s, why in engine.universe.chosen.items()
               if s in kept)
    assert "fewer than min_symbols" not in engine.universe.shortfall  # held members count toward the minimum
    engine.apply_config(replace(engine.universe.base, symbol_universe=replace(strict, min_volume_usd=1e15,
                                                                              min_symbols=10)))
    clock.advance(strict.refresh_sec)
    engine.universe_cycle()
    assert "fewer than min_symbols (10)" in engine.universe.shortfall
    with Session(engine.db) as s:
        assert s.exec(select(AlertRecord).where(AlertRecord.kind == "universe short")).first() is not None
    engine.stop()


def test_a_dropped_symbol_is_quoted_out_to_flat_without_a_market_order(tmp_path):
    engine, clock = universe_engine(tmp_path, more=12, min_symbols=3, max_symbols=7, refresh_sec=30)
    t = engine.trader
    engine.universe_cycle()
    dynamic = list(engine.universe.members["sim"])
    held = None
    for _ in range(40):  # spot, none of the base held: the bids fill first
        engine.run_simulated(15)
        held = next((s for s in dynamic if t.holds(s, t.views[s][1].mid)), None)
        if held:
            break
    assert held, "no universe symbol bought anything in ten minutes"
    qty = t.ledger.position(held).qty
    assert qty > 0
    left_at = clock.now_ms()
    base = engine.universe.base
    excluded = replace(base.symbol_universe, exclude_bases=(*base.symbol_universe.exclude_bases, held.split("/")[0]))
    engine.apply_config(replace(base, symbol_universe=excluded))
    clock.advance(30)
    engine.universe_cycle()
    assert held in t.leaving and held in t.symbols
    for _ in range(120):
        engine.run_simulated(15)
        if held not in t.symbols:
            break
    assert held not in t.symbols, f"{held} still holds {t.ledger.position(held).qty} after 30 minutes"
    assert not t.holds(held, t.ledger.position(held).avg_price or 1.0)
    with Session(engine.db) as s:
        after = s.exec(select(OrderRecord).where(OrderRecord.symbol == held,
                                                 OrderRecord.created_ms > left_at)).all()
    assert after and all(o.side == "sell" for o in after)  # only the side toward flat
    assert all(o.type == "limit" for o in after)
    assert all(o.level >= 0 for o in after)  # ladder quotes, never a market close
    venue_trades = [tr for tr in t.ex.fetch_my_trades(held) if tr["timestamp"] > left_at]
    assert venue_trades and all(tr["takerOrMaker"] == "maker" for tr in venue_trades)
    assert not [o for o in t.ex.fetch_open_orders(held)]
    engine.stop()


def test_a_restart_quotes_out_what_the_last_universe_left_behind(tmp_path):
    engine, clock = universe_engine(tmp_path, more=12, min_symbols=3, max_symbols=7)
    t = engine.trader
    engine.universe_cycle()
    dynamic = list(engine.universe.members["sim"])
    held = None
    for _ in range(40):
        engine.run_simulated(15)
        held = next((s for s in dynamic if t.holds(s, t.views[s][1].mid)), None)
        if held:
            break
    assert held
    engine.stop()
    cfg = replace(engine.universe.base, symbol_universe=replace(engine.universe.base.symbol_universe, enabled=False))
    again = Engine(cfg, exchange=t.ex, clock=clock)
    again.start(schedule=False)
    assert held not in again.trader.symbols
    again.universe_cycle()
    assert held in again.trader.leaving and held in again.trader.symbols
    assert set(again.universe.members["sim"]) == set()
    again.stop()


def test_the_dashboard_shows_the_universe_and_why_each_symbol_is_in(tmp_path, monkeypatch):
    import json

    from engine.registry import ensure_engine, stop_all_engines
    from tests.test_app import PASSWORD, console_config, logged_in

    cdir = console_config(tmp_path)
    overrides = json.loads((cdir / "config.json").read_text())
    overrides["sim"]["more_markets"] = 12
    overrides["symbol_universe"] = {"enabled": True, "min_symbols": 3, "max_symbols": 8}
    (cdir / "config.json").write_text(json.dumps(overrides))
    monkeypatch.setenv("MM_CONFIG_DIR", str(cdir))
    monkeypatch.setenv("MM_CONSOLE_PASSWORD", PASSWORD)
    try:
        engine = ensure_engine(cdir)
        engine.start(schedule=False)
        engine.universe_cycle()
        engine.risk_cycle()
        engine.quote_cycle()
        for _ in range(5):  # a cycle cut short on a loaded machine (over 1 s of requests) quotes the rest next
            if not engine.trader.warming:
                break
            engine.quote_cycle()
        at = logged_in()
        assert not at.exception
        assert "Symbol universe" in [h.value for h in at.subheader]
        shown = next(df.value for df in at.dataframe if "Why" in df.value.columns)
        assert len(shown[shown["State"].isin(["quoting", "safe list", "warming up"])]) == 8
        dynamic = shown[shown["State"] == "quoting"]
        assert len(dynamic) == 5 and all(w.startswith("rank ") for w in dynamic["Why"])
        assert (shown["State"] == "not chosen").any()
        assert any("pass the filters" in c.value for c in at.caption)
    finally:
        stop_all_engines()
