"""The simulated venue's listed markets: specs with realistic precision, limits and fees.

Defaults mirror a major venue (Binance spot and USD-M perpetuals): ticks, lots, minimum notional,
maker 0.02% / taker 0.06%, contract size 1, leverage up to 100x, maintenance margin rates.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from decimal import Decimal
from functools import cached_property, lru_cache


@dataclass(frozen=True)
class MarketSpec:
    """One tradable market of the simulated venue."""

    symbol: str
    base: str
    quote: str
    tick: float
    lot: float
    min_amount: float
    min_cost: float
    settle: str | None = None
    contract_size: float = 1.0
    max_leverage: int = 100
    maintenance_margin_rate: float = 0.005
    maker: float = 0.0002
    taker: float = 0.0006
    max_amount: float = 1_000_000.0

    @property
    def contract(self) -> bool:
        return self.settle is not None

    @property
    def id(self) -> str:
        return self.base + self.quote + ("PERP" if self.contract else "")

    @cached_property
    def price_decimals(self) -> int:
        """Decimals of a price (worked out once: every print and fill asks)."""
        return _decimals(self.tick)

    @cached_property
    def amount_decimals(self) -> int:
        return _decimals(self.lot)

    def with_fees(self, maker: float, taker: float) -> MarketSpec:
        return replace(self, maker=maker, taker=taker)

    def to_ccxt(self) -> dict:
        """The market in ccxt's unified market structure."""
        contract = self.contract
        return {
            "id": self.id,
            "symbol": self.symbol,
            "base": self.base,
            "quote": self.quote,
            "settle": self.settle,
            "baseId": self.base,
            "quoteId": self.quote,
            "settleId": self.settle,
            "type": "swap" if contract else "spot",
            "spot": not contract,
            "margin": False,
            "swap": contract,
            "future": False,
            "option": False,
            "index": None,
            "active": True,
            "contract": contract,
            "linear": True if contract else None,
            "inverse": False if contract else None,
            "subType": "linear" if contract else None,
            "taker": self.taker,
            "maker": self.maker,
            "contractSize": self.contract_size if contract else None,
            "expiry": None,
            "expiryDatetime": None,
            "strike": None,
            "optionType": None,
            "precision": {"price": self.tick, "amount": self.lot, "cost": None},
            "limits": {
                "leverage": {"min": 1, "max": self.max_leverage if contract else None},
                "amount": {"min": self.min_amount, "max": self.max_amount},
                "price": {"min": self.tick, "max": 10_000_000.0},
                "cost": {"min": self.min_cost, "max": None},
            },
            "marginModes": {"cross": contract, "isolated": contract},
            "created": None,
            "info": {
                "symbol": self.id,
                "tickSize": str(self.tick),
                "stepSize": str(self.lot),
                "maintenanceMarginRate": str(self.maintenance_margin_rate),
            },
        }


@lru_cache(maxsize=256)
def _decimals(step: float) -> int:
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


DEFAULT_MARKETS: dict[str, MarketSpec] = {
    m.symbol: m
    for m in (
        MarketSpec("BTC/USDT", "BTC", "USDT", tick=0.01, lot=0.00001, min_amount=0.00001, min_cost=5.0),
        MarketSpec("ETH/USDT", "ETH", "USDT", tick=0.01, lot=0.0001, min_amount=0.0001, min_cost=5.0),
        MarketSpec("SOL/USDT", "SOL", "USDT", tick=0.01, lot=0.001, min_amount=0.001, min_cost=5.0),
        MarketSpec(
            "BTC/USDT:USDT", "BTC", "USDT", settle="USDT", tick=0.1, lot=0.001, min_amount=0.001,
            min_cost=100.0, max_leverage=125, maintenance_margin_rate=0.004,
        ),
        MarketSpec(
            "ETH/USDT:USDT", "ETH", "USDT", settle="USDT", tick=0.01, lot=0.001, min_amount=0.001,
            min_cost=20.0, max_leverage=100, maintenance_margin_rate=0.005,
        ),
        MarketSpec(
            "SOL/USDT:USDT", "SOL", "USDT", settle="USDT", tick=0.01, lot=1.0, min_amount=1.0,
            min_cost=5.0, max_leverage=75, maintenance_margin_rate=0.01,
        ),
    )
}

# Extra spot markets a replay or candle file may bring (the candle files carry BNB and XRP too).
EXTRA_MARKETS: dict[str, MarketSpec] = {
    m.symbol: m
    for m in (
        MarketSpec("BNB/USDT", "BNB", "USDT", tick=0.01, lot=0.001, min_amount=0.001, min_cost=5.0),
        MarketSpec("XRP/USDT", "XRP", "USDT", tick=0.0001, lot=0.1, min_amount=0.1, min_cost=5.0),
    )
}


_GENERIC = re.compile(r"^(?P<base>[A-Z0-9]{2,12})/USDT(?P<perp>:USDT)?$")


def generic_market(symbol: str) -> MarketSpec | None:
    """A plausible spec for any ``BASE/USDT`` (spot) or ``BASE/USDT:USDT`` (perpetual) the venue does not know."""
    m = _GENERIC.match(symbol)
    if not m:
        return None
    if m.group("perp"):
        return MarketSpec(symbol, m.group("base"), "USDT", settle="USDT", tick=0.001, lot=0.1, min_amount=0.1,
                          min_cost=5.0, max_leverage=50, maintenance_margin_rate=0.01)
    return MarketSpec(symbol, m.group("base"), "USDT", tick=0.001, lot=0.01, min_amount=0.01, min_cost=5.0)


def known_market(symbol: str) -> MarketSpec | None:
    """The built-in spec for ``symbol``, if the venue knows that market."""
    return DEFAULT_MARKETS.get(symbol) or EXTRA_MARKETS.get(symbol)


def currencies_of(markets: dict[str, MarketSpec]) -> list[str]:
    """Every currency code the markets use, sorted."""
    codes = set()
    for m in markets.values():
        codes.update(c for c in (m.base, m.quote, m.settle) if c)
    return sorted(codes)


__all__ = ["MarketSpec", "DEFAULT_MARKETS", "EXTRA_MARKETS", "known_market", "currencies_of"]
