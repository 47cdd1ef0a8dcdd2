"""Strategies as plug-ins: a new one is one class and one line, named in a symbol's config, and runs on the same
execution core as the market maker (here on the simulated exchange)."""

from __future__ import annotations

import json

import pytest

from engine.clock import SimClock
from engine.config import ConfigError, load_config
from engine.exchanges import create_exchange
from engine.hygiene import LiveOrder
from engine.quoting import MarketView, Quote
from engine.runtime import Engine
from engine.strategies import Intent, MarketState, OrderIntent, RiskVerdict, Strategy, create, register
from tests.engine.test_runtime import make_config_dir


@register("tiny_bid")
class TinyBid(Strategy):
    """One bid, ``ticks`` below the best bid, of the market's minimum size."""

    defaults = {"ticks": 2}
    rules = {"ticks": (lambda x: x >= 1, "must be >= 1")}

    def decide(self, state: MarketState) -> Intent:
        v = state.view
        price = round(v.best_bid - self.params["ticks"] * v.tick, 8)
        amount = max(v.min_amount, round(max(v.min_cost, 10.0) / price / v.lot + 0.5) * v.lot)
        return Intent(quotes=(Quote("buy", 0, price, amount),), reason="one bid")


@register("buy_once")
class BuyOnce(Strategy):
    """A directional toy: flat -> buy ``amount`` at market; long -> nothing."""

    defaults = {"amount": 0.001}

    def decide(self, state: MarketState) -> Intent:
        if state.position == 0 and not state.orders:
            return Intent(orders=(OrderIntent("buy", self.params["amount"], reason="entry"),))
        return Intent(reason="holding")


def engine_with(tmp_path, symbols: dict) -> tuple[Engine, SimClock]:
    cdir = make_config_dir(tmp_path, strategy={"risk_mode": "AGGRESSIVE"})
    raw = json.loads((cdir / "config.json").read_text())
    raw["symbols"] = {"sim": symbols}
    (cdir / "config.json").write_text(json.dumps(raw))
    cfg = load_config(cdir, env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    return engine, clock


def test_a_new_strategy_named_in_a_symbols_config_quotes_on_the_simulated_exchange(tmp_path):
    engine, clock = engine_with(tmp_path, {
        "BTC/USDT": {"enabled": True, "strategy": "tiny_bid", "params": {"ticks": 3}},
        "ETH/USDT": {"enabled": True}})  # the market maker, by default
    engine.run_simulated(5)
    btc = engine.exchange.fetch_open_orders("BTC/USDT")
    eth = engine.exchange.fetch_open_orders("ETH/USDT")
    book = engine.exchange.fetch_order_book("BTC/USDT", 1)
    assert [o["side"] for o in btc] == ["buy"]
    assert btc[0]["price"] < book["bids"][0][0] and btc[0]["clientOrderId"].startswith("mm-")
    assert {o["side"] for o in eth} == {"buy", "sell"} and len(eth) == 10  # AGGRESSIVE: 5 levels a side
    engine.stop()
    assert engine.exchange.fetch_open_orders() == []


def test_a_directional_strategy_sends_its_orders_through_the_core(tmp_path):
    engine, clock = engine_with(tmp_path, {"BTC/USDT": {"enabled": True, "strategy": "buy_once",
                                                        "params": {"amount": 0.002}}})
    engine.run_simulated(10)
    assert engine.trader.ledger.position("BTC/USDT").qty == pytest.approx(0.002)  # bought once, then held
    assert len(engine.exchange.fetch_my_trades("BTC/USDT")) >= 1
    engine.stop()


@pytest.mark.parametrize("symbol_settings, message", [
    ({"strategy": "nope"}, "symbols.sim.BTC/USDT.strategy = 'nope': unknown; registered: "),
    ({"strategy": "tiny_bid", "params": {"ticks": 0}}, "symbols.sim.BTC/USDT.params.ticks = 0: must be >= 1"),
    ({"params": {"spread": 12}}, "symbols.sim.BTC/USDT.params.spread = 12: unknown for strategy market_making"),
    ({"params": {"spread_bps": -1}}, "symbols.sim.BTC/USDT.params.spread_bps = -1: must be greater than 0"),
])
def test_a_wrong_strategy_or_param_names_the_file_the_symbol_the_key_and_the_rule(tmp_path, symbol_settings, message):
    cdir = make_config_dir(tmp_path)
    raw = json.loads((cdir / "config.json").read_text())
    raw["symbols"] = {"sim": {"BTC/USDT": {"enabled": True, **symbol_settings}}}
    (cdir / "config.json").write_text(json.dumps(raw))
    with pytest.raises(ConfigError) as err:
        load_config(cdir, env={})
    assert str(err.value).startswith(f"{cdir / 'config.json'}: {message}")


def test_the_market_maker_is_pure_and_a_symbols_params_override_the_engine_settings():
    view = MarketView("BTC/USDT", 100.0, 100.02, 0.01, 0.001, 0.001, 5.0)
    state = MarketState("BTC/USDT", 0, view, (), 2.0, 0.0, (), RiskVerdict())
    narrow = create("market_making", {}, {"spread_bps": 6.0, "levels": 1, "skew": False})
    wide = create("market_making", {"spread_bps": 40.0}, {"spread_bps": 6.0, "levels": 1, "skew": False})
    assert narrow.decide(state) == narrow.decide(state)  # same state, same intent: no hidden inputs
    spread = {name: (lambda q: (q["sell"].price - q["buy"].price) / view.mid * 1e4)(
        {q.side: q for q in s.decide(state).quotes}) for name, s in (("narrow", narrow), ("wide", wide))}
    assert spread["narrow"] == pytest.approx(6.0, abs=2.0) and spread["wide"] == pytest.approx(40.0, abs=2.0)
    blocked = narrow.decide(MarketState("BTC/USDT", 0, view, (), 2.0, 0.0, (), RiskVerdict(blocked="breaker")))
    assert blocked.quotes == () and blocked.reason == "breaker"
    one_side = narrow.decide(MarketState("BTC/USDT", 0, view, (), 2.0, 0.0,
                                         (LiveOrder("c", "buy", 0, 99.9, 1, 0, 100.0),),
                                         RiskVerdict(blocked_sides=frozenset({"buy"}))))
    assert {q.side for q in one_side.quotes} == {"sell"}


def test_the_market_maker_reuses_its_ladder_only_for_the_same_inputs():
    """The last ladder is kept for a cycle with the same book, inventory, volatility and params; any of them
    changed gives the ladder a fresh build gives."""
    from dataclasses import replace as changed

    from engine.quoting import build_ladder

    view = MarketView("BTC/USDT", 100.0, 100.02, 0.01, 0.001, 0.001, 5.0)
    state = MarketState("BTC/USDT", 0, view, (), 2.0, 0.0, (), RiskVerdict())
    mm = create("market_making", {}, {"spread_bps": 6.0, "levels": 3})
    first = mm.decide(state).quotes
    assert mm.decide(changed(state, view=changed(view))).quotes == first  # an equal book: the kept ladder
    for other in (changed(state, view=changed(view, best_bid=99.98)), changed(state, position=0.5),
                  changed(state, volatility_bps=9.0), changed(state, capital_usd=50.0),
                  changed(state, risk=RiskVerdict(size_factor=0.5))):
        fresh = create("market_making", {}, {"spread_bps": 6.0, "levels": 3})
        got = mm.decide(other).quotes
        assert got == fresh.decide(other).quotes and got != first
        p = fresh._params_for(other.capital_usd, other.risk.size_factor, 0.0)
        assert list(got) == build_ladder(other.view, other.position, other.volatility_bps, p)
        assert mm.decide(state).quotes == first  # and back
