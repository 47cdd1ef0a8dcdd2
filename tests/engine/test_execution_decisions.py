"""The execution core's pure decisions: hedge legs and the reconciliation plan."""

from __future__ import annotations

import pytest

from engine.execution.decisions import hedge_leg, plan_reconciliation


@pytest.mark.parametrize("side, amount, qty, covered, reduce_only, expected", [
    ("buy", 1.0, 0.0, 0.0, False, ("long", False)),  # flat: each side opens its own leg
    ("sell", 1.0, 0.0, 0.0, False, ("short", False)),
    ("sell", 1.0, 2.0, 0.0, False, ("long", True)),  # long 2: a sell of 1 closes the long leg
    ("sell", 1.0, 2.0, 1.5, False, ("short", False)),  # ... unless other closing sells already cover 1.5 of it
    ("sell", 2.0, 2.0, 0.0, False, ("long", True)),  # exactly the position: closes
    ("sell", 2.5, 2.0, 0.0, False, ("short", False)),  # more than the position: opens a short leg
    ("buy", 1.0, -3.0, 0.0, False, ("short", True)),  # short 3: a buy closes the short leg
    ("buy", 1.0, 2.0, 0.0, False, ("long", False)),  # with the position: opens (adds to) the long leg
    ("buy", 5.0, 0.0, 0.0, True, ("short", True)),  # reduce-only always closes
])
def test_hedge_leg(side, amount, qty, covered, reduce_only, expected):
    assert hedge_leg(side, amount, qty, covered, reduce_only) == expected


def order(cid, symbol="BTC/USDT", oid="1"):
    return {"id": oid, "clientOrderId": cid, "symbol": symbol}


def test_reconciliation_plan_sorts_every_order_once():
    venue = [order("mm-a", oid="1"), order("mm-x", oid="2"), order("mm-y", "DOGE/USDT", oid="3"),
             order("other-z", oid="4"), {"id": "5", "clientOrderId": None, "symbol": "BTC/USDT"}]
    ours = lambda cid: cid.startswith("mm-")  # noqa: E731
    plan = plan_reconciliation(["mm-a", "mm-b"], venue, ours, adopt_unknown=False, symbols=["BTC/USDT"])
    assert plan.listed == [("mm-a", venue[0])] and plan.unlisted == ["mm-b"]
    assert plan.adopt == [] and [o["id"] for o in plan.cancel] == ["2", "3"]  # not another prefix, not no id
    adopting = plan_reconciliation(["mm-a", "mm-b"], venue, ours, adopt_unknown=True, symbols=["BTC/USDT"])
    assert [o["id"] for o in adopting.adopt] == ["2"]  # a symbol we trade is adopted ...
    assert [o["id"] for o in adopting.cancel] == ["3"]  # ... one we do not is cancelled


def test_each_side_not_quoted_says_why():
    from engine.execution.decisions import unquoted_sides
    from engine.risk.gate import RiskGate

    gate = RiskGate(side_blocks={"ETH/USDT": {"buy"}}, symbol_blocks={"SOL/USDT": "spread breaker open"})
    recent = {("BTC/USDT", "sell"): (9_000, "not enough free BTC"), ("ETH/USDT", "sell"): (-1_000, "an old refusal")}
    out = unquoted_sides(["BTC/USDT", "ETH/USDT", "SOL/USDT"], {("BTC/USDT", "buy")}, gate, recent, 60_000,
                         60_000, True)
    assert out == {"BTC/USDT": {"sell": "not enough free BTC"},
                   "ETH/USDT": {"buy": "inventory cap reached: this side would grow the position",
                                "sell": "no quote from the strategy this cycle"},
                   "SOL/USDT": {"buy": "spread breaker open", "sell": "spread breaker open"}}
    assert unquoted_sides(["BTC/USDT"], set(), RiskGate(), {}, 0, 60_000, False) == {
        "BTC/USDT": {"buy": "the engine is not quoting", "sell": "the engine is not quoting"}}
