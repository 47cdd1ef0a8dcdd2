"""Cross-exchange netting (seed 000 ``pnl_harvest.cross_exchange_netting``): a symbol's exposure summed over every
exchange that trades it, so long on one and short on another counts as flat for the inventory caps, the skew and
the take profit. Each trader reads the others' published snapshots (never their live state)."""

from __future__ import annotations

from typing import Any


def wire_netting(engine: Any) -> None:
    """Give each trader its peers' position in a symbol, when netting is on and there is more than one exchange."""
    on = engine.config.pnl_harvest.cross_exchange_netting and len(engine.traders) > 1
    for t in engine.traders:
        others = [o for o in engine.traders if o is not t]
        t.peers = (lambda symbol, others=others: sum(o.snapshot.position(symbol).qty for o in others)) if on else None


def netting_rows(engine: Any) -> list[dict]:
    """Per symbol held on more than one exchange: each exchange's position and the net (what caps and harvesting
    see when netting is on)."""
    held: dict[str, dict[str, float]] = {}
    for t in engine.traders:
        for symbol, p in t.snapshot.positions.items():
            if p.qty:
                held.setdefault(symbol, {})[t.name] = p.qty
    return [{"symbol": s, "positions": ", ".join(f"{e} {q:+g}" for e, q in sorted(by.items())),
             "net": sum(by.values()), "netted": engine.config.pnl_harvest.cross_exchange_netting}
            for s, by in sorted(held.items()) if len(by) > 1]
