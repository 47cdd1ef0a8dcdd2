"""Ladder quoting as a pure function: (market, inventory, volatility, params) -> desired quotes. No I/O, no clock.

The seed's ladder ("Lógica de market making"): bid level n = mid * (1 - spread/2) - n * step and ask level
n = mid * (1 + spread/2) + n * step, for n = 0 .. levels-1 (1 level CONSERVATIVE, 5 AGGRESSIVE, 7
AGGRESSIVE_PLUS); spread 6 bps, step 1.6 bps. Size (USD) = volume_factor * volatility * usd_per_order clamped to
[min_order_usd, max_order_usd], with volatility the standard deviation of 1-minute returns in bps.

Beyond the seed:

- inventory skew (Avellaneda-Stoikov): the ladder is centred on the reservation price
  r = mid * (1 - q * gamma * sigma^2 * tau / 1e4), with q the inventory as a fraction of the inventory cap
  (-1..1), sigma in bps per minute and tau in minutes, so a long book quotes lower (sells sooner, buys less);
  the side that would add inventory is also shrunk by ``size_shrink * |q|``;
- a minimum spread (and, fee-aware, at least two maker fees so a round trip still earns);
- the margin budget: one side's ladder never commits more than ``capital * margin_pct * leverage``;
- the inventory cap: at or beyond it, the side that adds inventory is not quoted;
- prices rounded away from the mid to the tick, amounts down to the lot (then up to the venue's minimums);
- no quote that would cross the book (bids stay below the best ask, asks above the best bid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class MarketView:
    """What quoting needs to know of one market right now."""

    symbol: str
    best_bid: float
    best_ask: float
    tick: float
    lot: float
    min_amount: float = 0.0
    min_cost: float = 0.0
    contract_size: float = 1.0
    maker_fee: float = 0.0

    @property
    def mid(self) -> float:
        return (self.best_bid + self.best_ask) / 2.0


@dataclass(frozen=True)
class QuoteParams:
    """The strategy knobs for one symbol in the current risk mode."""

    levels: int = 1
    spread_bps: float = 6.0
    step_bps: float = 1.6
    min_spread_bps: float = 2.0
    fee_aware: bool = True
    volume_factor: float = 1.0
    usd_per_order: float = 50.0
    min_order_usd: float = 50.0
    max_order_usd: float = 500.0
    skew: bool = True
    gamma: float = 0.1
    tau_s: float = 60.0
    size_shrink: float = 0.5
    max_inventory_usd: float = 10_000.0
    margin_pct: float = 100.0
    leverage: float = 1.0
    capital_usd: float = math.inf
    size_factor: float = 1.0  # the volatility breaker lowers this


@dataclass(frozen=True)
class Quote:
    side: str  # "buy" | "sell"
    level: int
    price: float
    amount: float

    @property
    def key(self) -> tuple[str, int]:
        return self.side, self.level


def order_size_usd(volatility_bps: float, p: QuoteParams) -> float:
    """The seed's size rule: volume_factor * volatility * usd_per_order, clamped."""
    raw = p.volume_factor * max(volatility_bps, 0.0) * p.usd_per_order
    return min(max(raw, p.min_order_usd), p.max_order_usd)


def reservation_price(mid: float, inventory_frac: float, volatility_bps: float, p: QuoteParams) -> float:
    """Avellaneda-Stoikov reservation price in bps units (see the module docstring)."""
    if not p.skew:
        return mid
    shift_bps = inventory_frac * p.gamma * volatility_bps ** 2 * (p.tau_s / 60.0)
    return mid * (1.0 - shift_bps / 1e4)


def build_ladder(m: MarketView, inventory: float, volatility_bps: float, p: QuoteParams) -> list[Quote]:
    """Desired quotes for one market. ``inventory`` is the signed position in amount units (base or contracts)."""
    mid = m.mid
    if not (mid > 0 and m.best_ask > m.best_bid > 0):
        return []
    unit_value = mid * m.contract_size
    inventory_usd = inventory * unit_value
    q = max(-1.0, min(1.0, inventory_usd / p.max_inventory_usd)) if p.max_inventory_usd > 0 else 0.0
    center = reservation_price(mid, q, volatility_bps, p)
    min_spread = p.min_spread_bps
    if p.fee_aware:
        min_spread = max(min_spread, 2.0 * m.maker_fee * 1e4)
    half = max(p.spread_bps, min_spread) / 2.0 / 1e4
    step = p.step_bps / 1e4
    size_usd = order_size_usd(volatility_bps, p)
    budget = p.capital_usd * p.margin_pct / 100.0 * p.leverage
    per_level_cap = budget / p.levels if p.levels else 0.0
    block_buy = inventory_usd >= p.max_inventory_usd
    block_sell = inventory_usd <= -p.max_inventory_usd

    quotes: list[Quote] = []
    for side in ("buy", "sell"):
        if (side == "buy" and block_buy) or (side == "sell" and block_sell):
            continue
        adds_inventory = (side == "buy" and q > 0) or (side == "sell" and q < 0)
        side_usd = size_usd * (1.0 - p.size_shrink * abs(q)) if (p.skew and adds_inventory) else size_usd
        side_usd = min(side_usd * p.size_factor, per_level_cap)
        seen: set[float] = set()
        for n in range(p.levels):
            if side == "buy":
                raw = center * (1.0 - half) - n * step * mid
                price = math.floor(raw / m.tick + 1e-9) * m.tick
                price = min(price, m.best_ask - m.tick)
            else:
                raw = center * (1.0 + half) + n * step * mid
                price = math.ceil(raw / m.tick - 1e-9) * m.tick
                price = max(price, m.best_bid + m.tick)
            price = _round_tick(price, m.tick)
            if price <= 0 or price in seen:
                continue
            seen.add(price)
            amount = _amount(side_usd, price, m)
            if amount > 0:
                quotes.append(Quote(side, n, price, amount))
    return _enforce_min_spread(quotes, mid, min_spread)


def _amount(usd: float, price: float, m: MarketView) -> float:
    if usd <= 0:
        return 0.0
    lots = math.floor(usd / (price * m.contract_size) / m.lot + 1e-9)
    min_lots = max(math.ceil(m.min_amount / m.lot - 1e-9),
                   math.ceil(m.min_cost / (price * m.contract_size) / m.lot - 1e-9), 1)
    return _round_tick(max(lots, min_lots) * m.lot, m.lot)


def _enforce_min_spread(quotes: list[Quote], mid: float, min_spread_bps: float) -> list[Quote]:
    bids = [q for q in quotes if q.side == "buy"]
    asks = [q for q in quotes if q.side == "sell"]
    if bids and asks:
        best_bid = max(q.price for q in bids)
        best_ask = min(q.price for q in asks)
        if (best_ask - best_bid) / mid * 1e4 < min_spread_bps - 1e-9:  # pragma: no cover - guarded by half >= min
            return [q for q in quotes if q.level > 0]
    return quotes


def _round_tick(x: float, step: float) -> float:
    return round(round(x / step) * step, _decimals_of(step))


@lru_cache(maxsize=64)
def _decimals_of(step: float) -> int:
    """The decimals a multiple of ``step`` is rounded to (two more than the step has, to absorb float noise)."""
    return max(0, -int(math.floor(math.log10(step) + 1e-12))) + 2 if step < 1 else 0


def volatility_bps(closes: list[float]) -> float:
    """Standard deviation of 1-minute log returns, in bps (0 with fewer than 3 closes)."""
    if len(closes) < 3:
        return 0.0
    rets = [math.log(b / a) for a, b in zip(closes, closes[1:], strict=False) if a > 0 and b > 0]
    if len(rets) < 2:
        return 0.0
    mean = sum(rets) / len(rets)
    var = sum((r - mean) ** 2 for r in rets) / (len(rets) - 1)
    return math.sqrt(var) * 1e4
