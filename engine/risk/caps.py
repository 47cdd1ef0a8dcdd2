"""Caps and portfolio limits as pure functions (seed 000 "Límites de Posición", seed 004 "Portfolio Risk Manager").

- :func:`excess_orders`: orders over the per-symbol or global count cap, newest first (``cancel_excess_orders``).
- :func:`side_blocks`: for each symbol, the sides that would grow an inventory already over a cap
  (``clamp_side_on_excess``): per symbol, per exchange and global.
- :func:`portfolio_reason`: why an order that grows exposure is refused: total exposure over a share of capital,
  or too many correlated positions.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import CapSettings, CorrelationGroup

FLAT_USD = 1.0  # a position smaller than this counts as flat


@dataclass(frozen=True)
class OpenOrder:
    client_id: str
    exchange: str
    symbol: str
    created_ms: int


def excess_orders(orders: list[OpenOrder], caps: CapSettings) -> list[OpenOrder]:
    """Orders to cancel so no symbol and not the total exceed their caps; the newest go first."""
    newest_first = sorted(orders, key=lambda o: o.created_ms, reverse=True)
    out: list[OpenOrder] = []
    by_symbol: dict[tuple[str, str], list[OpenOrder]] = {}
    for o in newest_first:
        by_symbol.setdefault((o.exchange, o.symbol), []).append(o)
    for group in by_symbol.values():
        if len(group) > caps.max_open_orders_per_symbol:
            out.extend(group[: len(group) - caps.max_open_orders_per_symbol])
    chosen = {o.client_id for o in out}
    left = [o for o in newest_first if o.client_id not in chosen]
    if len(left) > caps.max_open_orders_global:
        out.extend(left[: len(left) - caps.max_open_orders_global])
    return out


@dataclass(frozen=True)
class CapBreach:
    cap: str  # symbol | exchange | global
    scope: str
    value: float
    limit: float

    def __str__(self) -> str:
        return f"{self.cap} inventory ${self.value:,.0f} > cap ${self.limit:,.0f} ({self.scope})"


def side_blocks(inventory_usd: dict[tuple[str, str], float], caps: CapSettings,
                symbol_limits: dict[tuple[str, str], float]) -> tuple[dict[tuple[str, str], set[str]], list[CapBreach]]:
    """Sides to block per (exchange, symbol) and the breaches behind them.

    ``symbol_limits`` is the per-symbol cap already combined with the risk mode's and the symbol's own limit.
    Over a symbol cap, that symbol's growing side is blocked; over an exchange or the global cap (gross of the
    per-symbol nets), every symbol there may only reduce (flat symbols may not open).
    """
    blocks: dict[tuple[str, str], set[str]] = {}
    breaches: list[CapBreach] = []

    def grow_sides(inv: float) -> set[str]:
        if inv > FLAT_USD:
            return {"buy"}
        if inv < -FLAT_USD:
            return {"sell"}
        return {"buy", "sell"}

    for key, inv in inventory_usd.items():
        limit = min(caps.max_inventory_per_symbol_usd, symbol_limits.get(key, caps.max_inventory_per_symbol_usd))
        if abs(inv) >= limit:
            blocks.setdefault(key, set()).add("buy" if inv > 0 else "sell")
            breaches.append(CapBreach("symbol", f"{key[0]}:{key[1]}", abs(inv), limit))
    by_exchange: dict[str, float] = {}
    for (ex, _), inv in inventory_usd.items():
        by_exchange[ex] = by_exchange.get(ex, 0.0) + abs(inv)
    for ex, gross in by_exchange.items():
        if gross >= caps.max_inventory_per_exchange_usd:
            breaches.append(CapBreach("exchange", ex, gross, caps.max_inventory_per_exchange_usd))
            for key, inv in inventory_usd.items():
                if key[0] == ex:
                    blocks.setdefault(key, set()).update(grow_sides(inv))
    total = sum(by_exchange.values())
    if total >= caps.max_inventory_global_usd:
        breaches.append(CapBreach("global", "all", total, caps.max_inventory_global_usd))
        for key, inv in inventory_usd.items():
            blocks.setdefault(key, set()).update(grow_sides(inv))
    return blocks, breaches


def grows(inventory_usd: float, side: str) -> bool:
    """Whether an order on ``side`` adds to the absolute size of a position."""
    return (side == "buy" and inventory_usd >= -FLAT_USD) or (side == "sell" and inventory_usd <= FLAT_USD)


def portfolio_reason(exchange: str, symbol: str, side: str, notional_usd: float,
                     inventory_usd: dict[tuple[str, str], float], capital_usd: float | None, max_fraction: float,
                     groups: dict[str, CorrelationGroup]) -> str | None:
    """None if the order may go, else why not (e.g. ``exposure $1,100 > max $1,000``)."""
    current = inventory_usd.get((exchange, symbol), 0.0)
    if not grows(current, side):
        return None  # reducing orders are always allowed
    exposure = sum(abs(v) for v in inventory_usd.values())
    if capital_usd is not None and capital_usd > 0:
        limit = max_fraction * capital_usd
        after = exposure - abs(current) + abs(current + (notional_usd if side == "buy" else -notional_usd))
        if after > limit:
            return f"exposure ${after:,.0f} > max ${limit:,.0f} ({max_fraction:.0%} of capital ${capital_usd:,.0f})"
    if abs(current) <= FLAT_USD:  # opening a new position: correlation groups
        for name, g in groups.items():
            if symbol not in g.symbols:
                continue
            held = [s for s in g.symbols if s != symbol and abs(inventory_usd.get((exchange, s), 0.0)) > FLAT_USD]
            if len(held) >= g.max_positions:
                return (f"correlated positions in {name}: {len(held)} held ({', '.join(held)}) >= max "
                        f"{g.max_positions}")
    return None
