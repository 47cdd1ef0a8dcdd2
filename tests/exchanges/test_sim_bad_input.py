"""Bad input gets a ccxt error that names the field and the value; nothing is silently rounded."""

from __future__ import annotations

import math

import ccxt
import pytest

from engine.clock import SimClock
from engine.exchanges import create_exchange
from engine.exchanges.sim import SimConfigError


@pytest.fixture(scope="module")
def ex():
    return create_exchange("sim", clock=SimClock())


def test_unknown_symbol(ex):
    with pytest.raises(ccxt.BadSymbol, match="DOGE/USDT"):
        ex.fetch_ticker("DOGE/USDT")
    with pytest.raises(ccxt.BadSymbol):
        ex.create_order("DOGE/USDT", "limit", "buy", 1, 1)


@pytest.mark.parametrize("amount", [0, -1, math.nan, math.inf, "abc", None])
def test_bad_amounts(ex, amount):
    with pytest.raises(ccxt.InvalidOrder, match="amount"):
        ex.create_order("BTC/USDT", "limit", "buy", amount, 50_000)


@pytest.mark.parametrize("price", [0, -5, math.nan, None])
def test_bad_prices(ex, price):
    with pytest.raises(ccxt.InvalidOrder, match="price"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.001, price)


def test_off_tick_price_and_off_lot_amount_are_refused_not_rounded(ex):
    with pytest.raises(ccxt.InvalidOrder, match=r"price 50000\.005 is not a multiple .* 0\.01"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.001, 50_000.005)
    with pytest.raises(ccxt.InvalidOrder, match=r"amount 0\.0010005 is not a multiple"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.0010005, 50_000)
    assert ex.fetch_open_orders() == []


def test_below_minimums(ex):
    with pytest.raises(ccxt.InvalidOrder, match="below the minimum"):
        ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.001, 50_000.0)  # $50 < $100 minimum notional


def test_unknown_order_id(ex):
    with pytest.raises(ccxt.OrderNotFound, match="nope"):
        ex.fetch_order("nope")
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order("12345")


def test_insufficient_balance(ex):
    with pytest.raises(ccxt.InsufficientFunds, match="needs .* USDT, but only"):
        ex.create_order("BTC/USDT", "limit", "buy", 50, 50_000)
    with pytest.raises(ccxt.InsufficientFunds, match="BTC"):
        ex.create_order("BTC/USDT", "limit", "sell", 5, 90_000)


def test_unsupported_params_and_settings(ex):
    with pytest.raises(ccxt.BadRequest, match="stopPrice"):
        ex.create_order("BTC/USDT", "limit", "buy", 0.001, 50_000, {"stopPrice": 1})
    with pytest.raises(ccxt.BadRequest, match="from 1 to 125"):
        ex.set_leverage(500, "BTC/USDT:USDT")
    with pytest.raises(ccxt.BadSymbol, match="spot market"):
        ex.set_leverage(5, "BTC/USDT")
    with pytest.raises(ccxt.InvalidOrder, match="hedge mode"):
        ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.01, 50_000, {"positionSide": "long"})


@pytest.mark.parametrize("config, message", [
    ({"sede": 1}, "unknown key 'sede'"),
    ({"fees": {"maker": "cheap"}}, "fees.maker = 'cheap': must be a number"),
    ({"source": {"type": "replay"}}, "needs at least one data file"),
    ({"source": {"type": "replay", "files": ["/no/such.gz"]}}, "does not exist"),
    ({"faults": {"error_rates": {"*": 2}}}, "must be <= 1.0"),
    ({"events": [{"type": "flash_crash", "symbol": "BTC/USDT", "after_s": 1}]}, "needs pct > 0"),
    ({"markets": ["DOGEUSDT"]}, "unknown market 'DOGEUSDT'"),
    ({"margin_mode": "portfolio"}, "must be one of cross, isolated"),
])
def test_bad_config_names_key_and_value(config, message):
    with pytest.raises(SimConfigError, match=message.replace("(", r"\(").replace(".", r"\.").replace("*", r"\*")):
        create_exchange("sim", config, clock=SimClock())
