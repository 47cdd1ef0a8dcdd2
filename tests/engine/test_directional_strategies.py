"""Seed 004's strategies on hand-built candle series, and the checks a signal passes before it is executed."""

from __future__ import annotations

import pytest

from engine.config import CorrelationGroup, load_config
from engine.quoting import MarketView
from engine.risk.signal_checks import MarketLimits, PortfolioView, atr_size, check_signal, exit_due
from engine.strategies import MarketState, RiskVerdict, Signal, SignalType, create


def bars(closes: list[float], wick: float = 0.3) -> tuple[tuple[float, ...], ...]:
    """Closed one-minute candles opening at the previous close, ``wick`` above and below the body."""
    out, prev = [], closes[0]
    for i, c in enumerate(closes):
        out.append((i * 60_000.0, prev, max(prev, c) + wick, min(prev, c) - wick, c, 1.0))
        prev = c
    return tuple(out)


def state(candles, position: float = 0.0) -> MarketState:
    last = candles[-1][4]
    view = MarketView("BTC/USDT", last - 0.01, last + 0.01, 0.01, 0.001, 0.001, 0.0, 1.0, 0.0)
    return MarketState("BTC/USDT", int(candles[-1][0]) + 60_000, view, candles, 0.0, position, (), RiskVerdict())


FLAT = [100.0] * 25


def test_breakout_fires_above_the_range_with_its_stop_at_the_candles_low():
    candles = bars(FLAT + [102.0])  # the 20 candles before: highs 100.3; the breakout candle: 100 -> 102
    sig = create("breakout", {"lookback": 20}).signal(state(candles))
    assert sig.type is SignalType.BUY and sig.confidence == 0.7 and sig.entry == 102.0
    assert sig.stop_loss == pytest.approx(99.7)  # the breakout candle's low (open 100 - wick)
    assert sig.take_profit == pytest.approx(102.0 + 2 * (102.0 - 99.7))  # take_profit_r 2
    assert "20-candle breakout" in sig.reasoning


def test_breakout_does_not_fire_inside_the_range_and_shorts_below_it():
    inside = create("breakout", {"lookback": 20}).signal(state(bars(FLAT + [100.25])))
    assert inside.type is SignalType.HOLD and "inside the 20-candle range" in inside.reasoning
    below = create("breakout", {"lookback": 20}).signal(state(bars(FLAT + [98.0])))
    assert below.type is SignalType.SELL and below.stop_loss == pytest.approx(100.3)


MOMENTUM = [100 + (0.3 if i % 2 else -0.3) for i in range(20)] + [100.0, 99.6, 99.2, 98.9, 99.4, 100.0, 100.7]


def test_momentum_buys_on_the_candle_the_fast_average_crosses_above_with_rsi_over_50():
    strategy = create("momentum", {"ma_fast": 3, "ma_slow": 8, "rsi_period": 14})
    before = strategy.signal(state(bars(MOMENTUM[:-1])))
    assert before.type is SignalType.HOLD and "no crossover" in before.reasoning
    sig = strategy.signal(state(bars(MOMENTUM)))
    assert sig.type is SignalType.BUY and "bullish crossover" in sig.reasoning
    assert 0.6 < sig.confidence < 0.7  # RSI 56.5: 55% + 40% x 6.5/20
    assert sig.stop_loss < sig.entry < sig.take_profit
    # held long already: the same call is a HOLD; held short: it closes
    assert strategy.signal(state(bars(MOMENTUM), position=1.0)).type is SignalType.HOLD
    assert strategy.signal(state(bars(MOMENTUM), position=-1.0)).type is SignalType.CLOSE


QUIET = [100 + (0.05 if i % 2 else -0.05) for i in range(30)]


def test_mean_reversion_buys_a_lower_band_touch_and_takes_profit_at_the_mean():
    sig = create("mean_reversion", {}).signal(state(bars(QUIET + [99.6, 98.9], 0.05)))
    assert sig.type is SignalType.BUY and "below the lower band" in sig.reasoning
    assert sig.take_profit == pytest.approx(99.925)  # the middle band: the mean of the last 20 closes
    up = create("mean_reversion", {}).signal(state(bars(QUIET + [100.4, 101.1], 0.05)))
    assert up.type is SignalType.SELL and up.take_profit == pytest.approx(100.075)
    calm = create("mean_reversion", {}).signal(state(bars(QUIET, 0.05)))
    assert calm.type is SignalType.HOLD and "inside the bands" in calm.reasoning


def test_too_few_candles_say_so():
    sig = create("momentum", {}).signal(state(bars([100.0] * 10)))
    assert sig.type is SignalType.HOLD and sig.reasoning == "insufficient data: 10 of 22 closed candles"


def test_a_wrong_param_names_the_symbol_the_key_the_value_and_the_rule(tmp_path):
    from engine.config import ConfigError
    from tests.engine.test_runtime import make_config_dir
    cdir = make_config_dir(tmp_path, symbols={"sim": {"ETH/USDT": {"strategy": "momentum",
                                                                   "params": {"rsi_period": 1}}}})
    with pytest.raises(ConfigError, match=r"symbols.sim.ETH/USDT.params.rsi_period = 1: must be a whole number >= 2"):
        load_config(cdir, env={})


# ------------------------------------------------------------------------------------------ checks
BUY = Signal(SignalType.BUY, 0.65, 100.0, 98.0, 104.0, "test")
SPOT = MarketLimits(price=100.0, lot=0.001, min_amount=0.001, min_cost=5.0)


def test_atr_sizing_to_the_cent():
    # risk $20 over 2 ATRs of 2.5: 4 units; $400 at 100
    decision = check_signal(BUY, "BTC/USDT", 0.0, 2.5, SPOT, 0.6, 20.0, 2.0, 50_000.0)
    assert decision.approved and decision.amount == 4.0 and decision.notional_usd == 400.0
    assert atr_size(25.0, 3.0, 1.5) == pytest.approx(5.555555)
    odd = check_signal(BUY, "BTC/USDT", 0.0, 3.0, SPOT, 0.6, 25.0, 1.5, 50_000.0)
    assert odd.amount == 5.555 and round(odd.notional_usd, 2) == 555.50  # rounded down to the lot
    capped = check_signal(BUY, "BTC/USDT", 0.0, 0.01, SPOT, 0.6, 20.0, 2.0, 300.0)
    assert capped.amount == 3.0  # max_position_size_usd $300


def test_the_seeds_portfolio_example_is_refused():
    """$500 BTC held, ETH wants $600, capital $10,000, 10% max: $1,100 > $1,000."""
    view = PortfolioView("sim", {("sim", "BTC/USDT"): 500.0}, 10_000.0, 0.10)
    eth = MarketLimits(price=2_000.0, lot=0.0001, min_amount=0.0001)
    sig = Signal(SignalType.BUY, 0.7, 2_000.0, 1_900.0, None, "test")
    decision = check_signal(sig, "ETH/USDT", 0.0, 10.0 / 0.3, eth, 0.6, 20.0, 2.0, 50_000.0, view)  # 0.3 ETH: $600
    assert not decision.approved
    assert decision.reason == "Portfolio REJECTED: exposure $1,100 > max $1,000 (10% of capital $10,000)"
    smaller = check_signal(sig, "ETH/USDT", 0.0, 10.0 / 0.2, eth, 0.6, 20.0, 2.0, 50_000.0, view)  # $400
    assert smaller.approved and smaller.reason == "Portfolio approved (exposure: $900/$1,000)"


def test_a_third_correlated_position_is_refused():
    groups = {"majors": CorrelationGroup(["BTC/USDT", "ETH/USDT", "SOL/USDT"], 2)}
    held = {("sim", "BTC/USDT"): 100.0, ("sim", "ETH/USDT"): 100.0}
    view = PortfolioView("sim", held, 100_000.0, 0.10, groups)
    decision = check_signal(BUY, "SOL/USDT", 0.0, 2.5, SPOT, 0.6, 20.0, 2.0, 50_000.0, view)
    assert not decision.approved and "correlated positions in majors: 2 held (BTC/USDT, ETH/USDT) >= max 2" in \
        decision.reason


@pytest.mark.parametrize("signal, position, reason", [
    (Signal(SignalType.BUY, 0.65, 100.0, 101.0), 0.0, "stop loss 101 is not below entry 100"),
    (Signal(SignalType.SELL, 0.65, 100.0, 99.0), 1.0, "stop loss 99 is not above entry 100"),
    (Signal(SignalType.BUY, 0.55, 100.0, 98.0), 0.0, "confidence 55% < minimum 60%"),
    (Signal(SignalType.SELL, 0.65, 100.0, 102.0), 0.0, "spot: no short selling (nothing held to sell)"),
])
def test_individual_checks(signal, position, reason):
    decision = check_signal(signal, "BTC/USDT", position, 2.5, SPOT, 0.6, 20.0, 2.0, 50_000.0)
    assert not decision.approved and decision.reason == reason


def test_exits():
    assert exit_due(1.0, 97.9, 98.0, 104.0) == "stop loss" and exit_due(1.0, 104.0, 98.0, 104.0) == "take profit"
    assert exit_due(-1.0, 102.0, 102.0, 96.0) == "stop loss" and exit_due(-1.0, 95.0, 102.0, 96.0) == "take profit"
    assert exit_due(-1.0, 50.0, 102.0, None) is None  # no take profit held
    assert exit_due(1.0, 100.0, 98.0, 104.0) is None and exit_due(0.0, 50.0, 98.0, 104.0) is None
