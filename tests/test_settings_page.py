"""The Trading settings page (issue 15, point 4): market making's settings in validated forms, applied to the running
engine at once; bad values refused with the rule, nothing saved."""

from __future__ import annotations

import json

from engine.config import load_config
from tests.test_app import cdir, logged_in, running_engine  # noqa: F401 - cdir is the fixture

PAGE = "pages/settings.py"


def field(at, label: str):
    return next(t for t in at.text_input if t.label == label)


def press(at, label: str, nth: int = 0):
    return [b for b in at.button if b.label == label][nth].click().run()


def test_a_spread_change_is_reviewed_applied_and_quoted_at_once(cdir):  # noqa: F811
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page(PAGE).run()
    assert not at.exception and at.title[0].value == "Trading settings"
    field(at, "Spread (bps, full, around the mid)").input("8")
    field(at, "Largest order (USDT)").input("400")
    press(at, "Review changes")
    assert any("Spread (bps, full, around the mid): 6 → 8" in m.value for m in at.markdown)
    press(at, "Apply")
    assert not at.exception
    assert engine.config.strategy.spread_bps == 8 and engine.config.strategy.max_order_usd == 400
    assert engine.trader.strategies["BTC/USDT"].quote_params.spread_bps == 8  # the running strategy took it
    saved = json.loads((cdir / "config.json").read_text())
    assert saved["strategy"]["spread_bps"] == 8 and load_config(cdir).strategy.max_order_usd == 400


def test_bad_values_are_refused_with_the_rule_and_nothing_is_saved(cdir):  # noqa: F811
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page(PAGE).run()
    before = (cdir / "config.json").read_text()
    field(at, "Spread (bps, full, around the mid)").input("-3")
    press(at, "Review changes")
    assert any("Not saved" in e.value and "greater than 0" in e.value for e in at.error)
    field(at, "Spread (bps, full, around the mid)").input("6")
    field(at, "Smallest order (USDT)").input("900")  # above the largest order (500)
    press(at, "Review changes")
    press(at, "Apply")
    assert any("must be <= strategy.max_order_usd" in e.value for e in at.error)
    assert (cdir / "config.json").read_text() == before and engine.config.strategy.min_order_usd == 50


def test_levels_per_mode_reach_the_ladder(cdir):  # noqa: F811
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page(PAGE).run()
    field(at, "CONSERVATIVE: levels a side").input("3")
    press(at, "Review changes", nth=1)
    press(at, "Apply")
    assert not at.exception and engine.config.mode().levels == 3
    engine.risk_cycle()
    engine.quote_cycle()
    assert engine.trader.strategies["BTC/USDT"].quote_params.levels == 3


def test_a_symbols_cap_and_leverage_are_set_with_the_binding_limit_said(cdir):  # noqa: F811
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page(PAGE).run()
    assert any("ETH/USDT (STABLE): cap in force 10,000 USDT, set by the CONSERVATIVE mode's limit" in c.value
               for c in at.caption)
    field(at, "ETH/USDT: position cap (USDT)").input("1000")
    press(at, "Review changes", nth=4)
    press(at, "Apply")
    assert not at.exception
    assert engine.config.symbols["sim"]["ETH/USDT"].max_position_size_usd == 1000
    assert engine.trader.strategies["ETH/USDT"].quote_params.max_inventory_usd == 1000  # the running ladder's cap
    assert any("ETH/USDT (STABLE): cap in force 1,000 USDT, set by its own cap" in c.value for c in at.caption)
    field(at, "BTC/USDT:USDT: leverage").input("50")  # above the STABLE tier's 20
    press(at, "Review changes", nth=4)
    assert any("Not saved" in e.value and "at most 20" in e.value for e in at.error)
    field(at, "BTC/USDT:USDT: leverage").input("5")  # within the tier: saved and set on the exchange at once
    press(at, "Review changes", nth=4)
    press(at, "Apply")
    assert not at.exception and engine.config.symbols["sim"]["BTC/USDT:USDT"].leverage == 5
    assert any("leverage set on the exchange: BTC/USDT:USDT on sim" in s.value for s in at.success)
    assert engine.trader.ex.fetch_leverage("BTC/USDT:USDT")["longLeverage"] == 5
