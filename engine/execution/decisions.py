"""The execution core's decisions as pure functions (no I/O, no clock): which leg a hedge-mode order belongs to, and
what reconciliation does with each order the store and the exchange list. The classes around them do the talking."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any


def hedge_leg(side: str, amount: float, position_qty: float, closing_covered: float,
              reduce_only: bool) -> tuple[str, bool]:
    """In hedge mode, the leg (``"long"`` or ``"short"``) an order goes on and whether it closes that leg.

    An order against the held position closes its leg as far as the position, less ``closing_covered`` (what
    other open closing orders on that side already cover), reaches; otherwise it opens its own side's leg.
    ``reduce_only`` orders always close."""
    against = (side == "sell" and position_qty > 0) or (side == "buy" and position_qty < 0)
    closes = reduce_only or (against and amount + closing_covered <= abs(position_qty) * (1 + 1e-9))
    if closes:
        return ("long" if side == "sell" else "short"), True
    return ("long" if side == "buy" else "short"), False


@dataclass
class ReconcilePlan:
    """What reconciliation does: update the orders the exchange lists, look up the ones it does not, adopt or
    cancel the exchange's orders the store does not know."""

    listed: list[tuple[str, dict]] = field(default_factory=list)  # (our client id, the exchange's order)
    unlisted: list[str] = field(default_factory=list)  # our client ids the exchange does not list
    adopt: list[dict] = field(default_factory=list)
    cancel: list[dict] = field(default_factory=list)


def plan_reconciliation(known: Iterable[str], venue_open: list[dict], ours: Callable[[str], bool],
                        adopt_unknown: bool, symbols: Iterable[str]) -> ReconcilePlan:
    """Compare the client ids the store holds open (``known``) with the exchange's open orders.

    An exchange order whose client id is ours (``ours``) but unknown to the store is adopted when ``adopt_unknown``
    and its symbol is one we trade, else cancelled. Orders that are not ours (no client id, another prefix) are
    left alone."""
    by_cid = {o.get("clientOrderId"): o for o in venue_open if o.get("clientOrderId")}
    known = list(known)
    plan = ReconcilePlan()
    for cid in known:
        if cid in by_cid:
            plan.listed.append((cid, by_cid[cid]))
        else:
            plan.unlisted.append(cid)
    traded, held = set(symbols), set(known)
    for cid, o in by_cid.items():
        if cid in held or not ours(cid):
            continue
        (plan.adopt if adopt_unknown and o["symbol"] in traded else plan.cancel).append(o)
    return plan


def unquoted_sides(symbols: list[str], live: set[tuple[str, str]], gate: Any,
                   recent: dict[tuple[str, str], tuple[int, str]], now_ms: int, recent_ms: int,
                   quoting: bool) -> dict[str, dict[str, str]]:
    """Per symbol, each side with no live quote and why: the risk gate (a breaker, the operator, a route), an
    inventory cap, a recent refusal (``recent``: (symbol, side) -> (ms, message), e.g. not enough free balance),
    the engine not quoting, or no quote from the strategy. Pure."""
    out: dict[str, dict[str, str]] = {}
    for symbol in symbols:
        sides = {}
        for side in ("buy", "sell"):
            if (symbol, side) in live:
                continue
            seen = recent.get((symbol, side))
            if gate.blocked(symbol):
                why = gate.blocked(symbol)
            elif side in gate.side_blocks.get(symbol, set()):
                why = "inventory cap reached: this side would grow the position"
            elif seen is not None and now_ms - seen[0] <= recent_ms:
                why = seen[1]
            elif not quoting:
                why = "the engine is not quoting"
            else:
                why = "no quote from the strategy this cycle"
            sides[side] = why
        if sides:
            out[symbol] = sides
    return out
