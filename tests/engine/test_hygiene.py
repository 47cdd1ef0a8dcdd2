"""Order hygiene as a pure reconcile: age, drift, stale depth, the replacement limit and the requote delay."""

from __future__ import annotations

from engine.hygiene import HygieneRules, LiveOrder, plan_orders
from engine.quoting import Quote

RULES = HygieneRules()
MID = 100_000.0


def live(side="buy", level=0, price=99_970.0, created=0, ref_mid=MID, status="open", cid=None):
    return LiveOrder(cid or f"{side}{level}", side, level, price, 0.001, created, ref_mid, status)


def test_fresh_matching_order_is_left_alone():
    plan = plan_orders([Quote("buy", 0, 99_970.0, 0.001)], [live()], MID, 10_000, None, RULES, 20)
    assert plan.empty


def test_empty_slot_is_filled_and_removed_level_is_cancelled():
    plan = plan_orders([Quote("buy", 0, 99_970.0, 0.001)], [live("sell", 3, 100_078.0)], MID, 1_000, None, RULES, 20)
    assert [q.key for q in plan.places] == [("buy", 0)]
    assert [o.client_id for o in plan.cancels] == ["sell3"] and plan.reasons["sell3"] == "level no longer quoted"


def test_requote_on_age():
    desired = [Quote("buy", 0, 99_970.0, 0.001)]
    assert plan_orders(desired, [live(created=0)], MID, 89_999, None, RULES, 20).empty
    plan = plan_orders(desired, [live(created=0)], MID, 90_000, None, RULES, 20)
    assert plan.replacements == 1 and plan.reasons["buy0"].startswith("age 90s")


def test_requote_on_drift_of_three_bps():
    o = live(price=99_970.0)
    assert plan_orders([Quote("buy", 0, 99_940.01, 0.001)], [o], MID, 1_000, None, RULES, 20).empty  # 2.999 bps
    plan = plan_orders([Quote("buy", 0, 99_940.0, 0.001)], [o], MID, 1_000, None, RULES, 20)  # 3.0 bps
    assert plan.reasons["buy0"].startswith("drift 3.0bps")


def test_requote_on_stale_depth():
    o = live(ref_mid=MID * (1 - 0.0008))  # priced against a market 8 bps away
    plan = plan_orders([Quote("buy", 0, 99_970.0, 0.001)], [o], MID, 1_000, None, RULES, 20)
    assert plan.reasons["buy0"].startswith("stale depth")


def test_replacement_budget_and_requote_delay():
    desired = [Quote(s, n, 90_000.0, 0.001) for s in ("buy", "sell") for n in range(7)]
    old = [live(s, n, 99_000.0, created=0) for s in ("buy", "sell") for n in range(7)]  # all drifted 100 bps
    plan = plan_orders(desired, old, MID, 1_000, None, RULES, budget=5)
    assert plan.replacements == 5 and len(plan.cancels) == 5 and len(plan.places) == 5
    throttled = plan_orders(desired, old, MID, 1_000, last_requote_ms=900, rules=RULES, budget=20)
    assert throttled.empty  # 100 ms since the last requote of this symbol < 150 ms
    assert plan_orders(desired, old, MID, 1_050, last_requote_ms=900, rules=RULES, budget=20).replacements == 14


def test_pending_or_unknown_order_holds_its_slot():
    desired = [Quote("buy", 0, 99_900.0, 0.001)]
    for status in ("pending", "unknown"):
        plan = plan_orders(desired, [live(status=status)], MID, 1_000_000, None, RULES, 20)
        assert plan.empty, status  # never a second order while the first one's fate is unknown


def test_duplicates_in_a_slot_are_cancelled_keeping_the_oldest():
    desired = [Quote("buy", 0, 99_970.0, 0.001)]
    plan = plan_orders(desired, [live(cid="a", created=5), live(cid="b", created=1)], MID, 10, None, RULES, 20)
    assert [o.client_id for o in plan.cancels] == ["a"] and not plan.places
