"""Order hygiene as a pure reconcile: desired quotes vs our open orders -> what to cancel and what to place.

Seed 000 "Order Hygiene": an order is replaced when it is older than ``max_order_age_s``, when its desired
price drifted ``drift_bps`` or more from where it rests, or when the market it was priced against moved
``stale_depth_bps`` or more (stale depth). At most ``max_replacements_per_cycle`` replacements per cycle, and at
least ``min_requote_interval_ms`` between requotes of one symbol. Orders whose fate is not known yet (sent,
no answer) hold their slot, so nothing is placed twice; a replacement is placed only once the cancel of the order it
replaces is confirmed, and a slot found holding two orders keeps the one at the desired price.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from engine.quoting import Quote

LIVE_STATES = ("pending", "open", "unknown")


@dataclass(frozen=True)
class LiveOrder:
    """One of our orders as the engine knows it."""

    client_id: str
    side: str
    level: int
    price: float
    amount: float
    created_ms: int
    ref_mid: float  # the mid it was priced against
    status: str = "open"  # pending | open | unknown
    exchange_id: str | None = None


@dataclass(frozen=True)
class HygieneRules:
    max_order_age_s: float = 90.0
    drift_bps: float = 3.0
    stale_depth_bps: float = 8.0
    max_replacements_per_cycle: int = 20
    min_requote_interval_ms: int = 150


@dataclass
class Plan:
    """What to do for one symbol: cancels first, then places; ``reasons`` says why, per client id / slot."""

    cancels: list[LiveOrder] = field(default_factory=list)
    places: list[Quote] = field(default_factory=list)
    reasons: dict[str, str] = field(default_factory=dict)
    replacements: int = 0
    replaces: dict[tuple[str, int], str] = field(default_factory=dict)  # slot -> client id that must be gone first

    @property
    def empty(self) -> bool:
        return not self.cancels and not self.places


def plan_orders(desired: list[Quote], live: list[LiveOrder], mid: float, now_ms: int, last_requote_ms: int | None,
                rules: HygieneRules, budget: int) -> Plan:
    """Diff ``desired`` against ``live`` for one symbol; ``budget`` is the replacements left this cycle."""
    plan = Plan()
    by_slot: dict[tuple[str, int], list[LiveOrder]] = {}
    for o in live:
        by_slot.setdefault((o.side, o.level), []).append(o)
    wanted = {q.key: q for q in desired}
    throttled = last_requote_ms is not None and now_ms - last_requote_ms < rules.min_requote_interval_ms

    keep: dict[tuple[str, int], LiveOrder] = {}
    for slot, orders in by_slot.items():
        kept = _keeper(orders, wanted.get(slot))
        keep[slot] = kept
        for extra in orders:  # a slot holds one order; extras (adopted, raced) go, the one at the desired price stays
            if extra is not kept and extra.status == "open":
                plan.cancels.append(extra)
                plan.reasons[extra.client_id] = "duplicate in slot"
        if slot not in wanted and kept.status == "open":
            plan.cancels.append(kept)
            plan.reasons[kept.client_id] = "level no longer quoted"

    for slot, quote in sorted(wanted.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        o = keep.get(slot)
        if o is None:
            if not throttled:
                plan.places.append(quote)
                plan.reasons[f"{slot[0]}:{slot[1]}"] = "new"
            continue
        if o.status != "open":
            continue  # pending or unknown: its fate decides, never a second order
        reason = _why_replace(o, quote, mid, now_ms, rules)
        if reason is None or throttled or plan.replacements >= budget:
            continue
        plan.cancels.append(o)
        plan.places.append(quote)
        plan.replaces[slot] = o.client_id  # placed only once this cancel is confirmed: never two in a slot
        plan.reasons[o.client_id] = reason
        plan.replacements += 1
    return plan


def _keeper(orders: list[LiveOrder], quote: Quote | None) -> LiveOrder:
    """The order a slot keeps: one whose fate is unknown (it cannot be cancelled yet), else the one nearest the desired
    price, else the oldest."""
    unsettled = [o for o in orders if o.status != "open"]
    if unsettled:
        return min(unsettled, key=lambda o: o.created_ms)
    if quote is None:
        return min(orders, key=lambda o: o.created_ms)
    return min(orders, key=lambda o: (abs(o.price - quote.price), o.created_ms))


def _why_replace(o: LiveOrder, q: Quote, mid: float, now_ms: int, rules: HygieneRules) -> str | None:
    if now_ms - o.created_ms >= rules.max_order_age_s * 1000:
        return f"age {(now_ms - o.created_ms) / 1000:.0f}s >= {rules.max_order_age_s:.0f}s"
    drift = abs(q.price - o.price) / mid * 1e4
    if drift >= rules.drift_bps - 1e-9:
        return f"drift {drift:.1f}bps >= {rules.drift_bps}bps"
    moved = abs(mid - o.ref_mid) / mid * 1e4
    if moved >= rules.stale_depth_bps - 1e-9:
        return f"stale depth {moved:.1f}bps >= {rules.stale_depth_bps}bps"
    return None
