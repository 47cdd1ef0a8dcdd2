"""How each underlying of the synthetic market trades, and the extra markets the simulated venue can list.

A :class:`Profile` sets an underlying's price level, volatility, book liquidity and taker activity. BTC, ETH, SOL,
BNB and XRP have hand-set profiles; the ``LISTED_BASES`` (``sim.more_markets``: a venue with 40+ markets, enough
for the symbol universe to choose from) get profiles whose liquidity falls from the first name to the last, so a
ranking by volume, spread and depth has real differences to find; any other name gets a stable name-derived one.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace

from engine.exchanges.sim.markets import MarketSpec


@dataclass(frozen=True)
class Profile:
    """How an underlying trades: price level, volatility, liquidity and taker activity."""

    price: float
    vol: float  # annualised volatility in the calm regime
    beta: float  # loading on the common factor (correlation with the market)
    half_spread_bps: float
    level_bps: float  # distance between book levels
    top_usd: float  # displayed notional at the first level
    taker_rate: float  # taker orders per second
    taker_usd: float  # mean taker order notional


PROFILES: dict[str, Profile] = {
    "BTC": Profile(65_000.0, 0.50, 0.90, 0.08, 0.40, 60_000.0, 6.0, 3_000.0),
    "ETH": Profile(3_200.0, 0.65, 0.85, 0.15, 0.60, 40_000.0, 4.0, 2_000.0),
    "SOL": Profile(150.0, 0.85, 0.75, 0.35, 1.00, 15_000.0, 2.5, 1_000.0),
    "BNB": Profile(580.0, 0.55, 0.70, 0.30, 1.00, 10_000.0, 1.5, 800.0),
    "XRP": Profile(0.60, 0.80, 0.70, 0.60, 1.50, 8_000.0, 1.5, 600.0),
}
DEFAULT_PROFILE = Profile(100.0, 0.80, 0.60, 0.50, 1.20, 5_000.0, 1.0, 500.0)

# Spot markets ``sim.more_markets`` may add, most liquid first (two stablecoins among them, as on a real venue).
LISTED_BASES: tuple[str, ...] = (
    "BTC", "ETH", "SOL", "BNB", "XRP", "USDC", "DOGE", "ADA", "TRX", "AVAX", "FDUSD", "LINK", "TON", "DOT", "BCH",
    "NEAR", "LTC", "UNI", "APT", "ICP", "ETC", "FET", "SUI", "ATOM", "FIL", "ARB", "OP", "INJ", "IMX", "HBAR",
    "STX", "RENDER", "GRT", "VET", "MKR", "AAVE", "ALGO", "SEI", "TIA", "RUNE", "FLOW", "SAND", "MANA", "AXS",
    "EGLD", "XLM", "XTZ", "THETA", "KAVA", "CHZ", "CRV", "LDO", "DYDX", "GALA", "ENS", "COMP", "SNX", "ZIL",
    "ONE", "BAT", "ZEC", "DASH", "IOTA", "ROSE", "CELO",
)
STABLECOINS = frozenset({"USDC", "FDUSD"})
LIQUIDITY_DECAY = 0.93  # each name down the list trades about 7% less than the one above it


def generic_profile(underlying: str) -> Profile:
    """A stable, name-derived profile for an underlying without a built-in one (price 1..10,000, vol 60..120%)."""
    h = int(hashlib.sha256(underlying.encode()).hexdigest()[:8], 16)
    price = 10 ** (h % 4) * (1.0 + (h >> 4) % 900 / 100.0)
    vol = 0.6 + ((h >> 12) % 61) / 100.0
    return replace(DEFAULT_PROFILE, price=price, vol=vol)


def listed_profile(base: str) -> Profile | None:
    """The profile of a ``LISTED_BASES`` name without a hand-set one: liquidity ``LIQUIDITY_DECAY`` per place."""
    if base not in LISTED_BASES:
        return None
    f = LIQUIDITY_DECAY ** LISTED_BASES.index(base)
    if base in STABLECOINS:
        return Profile(1.0, 0.01, 0.0, 0.5, 1.0, 200_000.0 * f, 4.0, 5_000.0)
    g = generic_profile(base)
    root = math.sqrt(f)
    return Profile(g.price, g.vol, 0.6, 0.25 / root, 0.8 / root, 30_000.0 * f, 3.0 * root, 1_500.0 * root)


def profile_of(base: str) -> Profile:
    """The profile the synthetic market gives ``base``."""
    return PROFILES.get(base) or listed_profile(base) or generic_profile(base)


def listed_market(base: str) -> MarketSpec:
    """The spot market ``BASE/USDT`` with a tick of about 0.1-1 bps and a lot of a few cents at its profile's price."""
    price = profile_of(base).price
    tick = 10.0 ** (math.floor(math.log10(price)) - 4)
    lot = 10.0 ** math.floor(math.log10(0.05 / price))
    return MarketSpec(f"{base}/USDT", base, "USDT", tick=_clean(tick), lot=_clean(lot), min_amount=_clean(lot),
                      min_cost=5.0)


def more_markets(count: int, listed: set[str]) -> list[str]:
    """The first ``count`` symbols of ``LISTED_BASES`` not already in ``listed``."""
    out = [f"{b}/USDT" for b in LISTED_BASES if f"{b}/USDT" not in listed]
    return out[:count]


def _clean(step: float) -> float:
    return float(f"{step:.12g}")
