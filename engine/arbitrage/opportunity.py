"""Cross-exchange arbitrage opportunities, as pure functions over each exchange's top of book.

Buying on exchange A at its ask and selling on B at its bid earns ``(bid_B - ask_A) / ask_A`` less both taker fees.
An opportunity is the best such pair whose edge after fees is at least ``min_profit_bps``; its size is the smallest
of the two top-of-book quantities, ``max_trade_usd``, and what each side's balance and position limit allow,
rounded down to the coarser lot, and at least both markets' minimum order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Top:
    """One exchange's best bid and ask for a symbol, with the market's fees and limits."""

    venue: str
    bid: float
    bid_qty: float
    ask: float
    ask_qty: float
    taker: float
    lot: float
    min_amount: float = 0.0
    min_cost: float = 0.0
    contract_size: float = 1.0


@dataclass(frozen=True)
class Opportunity:
    symbol: str
    buy: Top  # the cheaper exchange: we take its ask
    sell: Top  # the dearer exchange: we take its bid
    edge_bps: float  # after both taker fees
    amount: float = 0.0

    @property
    def gross_bps(self) -> float:
        return (self.sell.bid - self.buy.ask) / self.buy.ask * 1e4

    def describe(self) -> str:
        return (f"{self.symbol}: buy on {self.buy.venue} at {self.buy.ask:g}, sell on {self.sell.venue} at "
                f"{self.sell.bid:g}: {self.gross_bps:.1f} bps gross, {self.edge_bps:.1f} bps after fees")


def best_pair(symbol: str, tops: list[Top], min_profit_bps: float) -> Opportunity | None:
    """The pair of exchanges with the widest edge after fees, if it reaches ``min_profit_bps``."""
    best: Opportunity | None = None
    for a in tops:
        for b in tops:
            if a.venue == b.venue or a.ask <= 0 or b.bid <= 0:
                continue
            edge = (b.bid - a.ask) / a.ask * 1e4 - (a.taker + b.taker) * 1e4
            if edge >= min_profit_bps and (best is None or edge > best.edge_bps):
                best = Opportunity(symbol, a, b, edge)
    return best


def sized(opp: Opportunity, max_trade_usd: float, buy_room: float, sell_room: float) -> Opportunity | None:
    """``opp`` with its amount: within both tops, ``max_trade_usd``, ``buy_room`` and ``sell_room`` (what the buy
    side's balance and position limit and the sell side's allow, in base units); None when that is below either
    market's minimum order."""
    a, b = opp.buy, opp.sell
    size = a.contract_size or 1.0
    amount = min(a.ask_qty, b.bid_qty, max_trade_usd / (a.ask * size), buy_room, sell_room)
    lot = max(a.lot, b.lot) or 1e-12
    amount = math.floor(amount / lot + 1e-9) * lot
    amount = float(f"{amount:.12g}")
    if amount <= 0 or amount < max(a.min_amount, b.min_amount):
        return None
    if amount * a.ask * size < a.min_cost or amount * b.bid * (b.contract_size or 1.0) < b.min_cost:
        return None
    return Opportunity(opp.symbol, a, b, opp.edge_bps, amount)
