"""The checks a directional signal passes before it is executed (seed 004 "Flow de datos", "Risk checks"), as pure
functions: individual (a stop loss on the right side of entry, enough confidence), ATR sizing (``max_risk_usd / (ATR
x atr_multiplier)``, capped by the symbol's ``max_position_size_usd`` and the exchange's limits), then the portfolio
(total exposure within a share of capital, correlated positions within their group's limit)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from engine.config import CorrelationGroup
from engine.risk.caps import portfolio_reason
from engine.strategies.signals import Signal, SignalType


@dataclass(frozen=True)
class PortfolioView:
    """The portfolio as the risk cycle last saw it: signed inventory in USD per (exchange, symbol), capital."""

    exchange: str
    inventory_usd: dict[tuple[str, str], float]
    capital_usd: float | None
    max_fraction: float
    groups: dict[str, CorrelationGroup] = field(default_factory=dict)

    @property
    def limit_usd(self) -> float | None:
        """The most the portfolio may hold, or None without a known capital."""
        return self.max_fraction * self.capital_usd if self.capital_usd else None

    def refusal(self, symbol: str, side: str, notional_usd: float) -> str | None:
        """Why an order growing a position is refused (exposure, correlation), or None."""
        return portfolio_reason(self.exchange, symbol, side, notional_usd, self.inventory_usd, self.capital_usd,
                                self.max_fraction, self.groups)

    def exposure_after(self, symbol: str, side: str, notional_usd: float) -> float:
        """Total absolute exposure once the order is filled."""
        current = self.inventory_usd.get((self.exchange, symbol), 0.0)
        after = current + (notional_usd if side == "buy" else -notional_usd)
        return sum(abs(v) for v in self.inventory_usd.values()) - abs(current) + abs(after)


@dataclass(frozen=True)
class MarketLimits:
    """What the exchange allows on the symbol, and its price now."""

    price: float
    lot: float
    min_amount: float = 0.0
    min_cost: float = 0.0
    contract_size: float = 1.0
    spot: bool = True


@dataclass(frozen=True)
class Decision:
    """Approved with an ``amount`` (base units, or contracts on perpetuals) or refused; ``reason`` says why."""

    approved: bool
    reason: str
    amount: float = 0.0
    notional_usd: float = 0.0


def atr_size(max_risk_usd: float, atr: float, multiplier: float) -> float:
    """Units of the base currency whose loss at ``multiplier`` ATRs is ``max_risk_usd`` (seed 004 ATR
    normalisation)."""
    return max_risk_usd / (atr * multiplier)


def check_signal(signal: Signal, symbol: str, position_qty: float, atr: float, market: MarketLimits,
                 min_confidence: float, max_risk_usd: float, atr_multiplier: float, max_position_usd: float,
                 portfolio: PortfolioView | None = None, blocked_sides: frozenset[str] = frozenset()) -> Decision:
    """Check and size a BUY or SELL signal; the first failed check refuses it."""
    side = signal.side
    if side is None:
        return Decision(False, f"{signal.type.value} is not an entry")
    entry = signal.entry or market.price
    stop = signal.stop_loss
    if stop is None or not math.isfinite(stop):
        return Decision(False, "no stop loss")
    if signal.type is SignalType.BUY and not stop < entry:
        return Decision(False, f"stop loss {stop:.6g} is not below entry {entry:.6g}")
    if signal.type is SignalType.SELL and not stop > entry:
        return Decision(False, f"stop loss {stop:.6g} is not above entry {entry:.6g}")
    if signal.confidence < min_confidence:
        return Decision(False, f"confidence {signal.confidence:.0%} < minimum {min_confidence:.0%}")
    if side == "sell" and market.spot and position_qty <= 0:
        return Decision(False, "spot: no short selling (nothing held to sell)")
    if side in blocked_sides:
        return Decision(False, f"inventory cap: the {side} side is closed")
    if not math.isfinite(atr) or atr <= 0:
        return Decision(False, "insufficient data for ATR")
    units = atr_size(max_risk_usd, atr, atr_multiplier)
    value = market.price * market.contract_size
    room = max_position_usd / value - abs(position_qty)
    amount = min(units / market.contract_size, room)
    amount = math.floor(amount / market.lot + 1e-9) * market.lot if market.lot > 0 else amount
    amount = round(amount, 12)
    if amount <= 0 or amount < market.min_amount:
        return Decision(False, f"size {amount:g} below the exchange minimum {market.min_amount:g} "
                               f"(risk ${max_risk_usd:g}, ATR {atr:.6g} x {atr_multiplier:g}, cap "
                               f"${max_position_usd:,.0f})")
    notional = amount * value
    if notional < market.min_cost:
        return Decision(False, f"order value ${notional:,.2f} below the exchange minimum ${market.min_cost:,.2f}")
    if portfolio is not None:
        refusal = portfolio.refusal(symbol, side, notional)
        if refusal:
            return Decision(False, f"Portfolio REJECTED: {refusal}", amount, notional)
        limit = portfolio.limit_usd
        shown = f"${limit:,.0f}" if limit is not None else "no limit (capital unknown)"
        return Decision(True, f"Portfolio approved (exposure: ${portfolio.exposure_after(symbol, side, notional):,.0f}"
                              f"/{shown})", amount, notional)
    return Decision(True, "approved (no portfolio view)", amount, notional)


def exit_due(position_qty: float, price: float, stop: float | None, take_profit: float | None) -> str | None:
    """``"stop loss"`` or ``"take profit"`` when ``price`` has reached one for the held position, else None."""
    if position_qty > 0:
        if stop is not None and price <= stop:
            return "stop loss"
        if take_profit is not None and price >= take_profit:
            return "take profit"
    elif position_qty < 0:
        if stop is not None and price >= stop:
            return "stop loss"
        if take_profit is not None and price <= take_profit:
            return "take profit"
    return None


__all__ = ["Decision", "MarketLimits", "PortfolioView", "atr_size", "check_signal", "exit_due"]
