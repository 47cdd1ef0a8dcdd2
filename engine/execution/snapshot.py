"""What other threads may read of a trader: an immutable snapshot the trader publishes after each cycle and each
command (quoting, reconciliation, cancels, closes). Readers (the risk job, the console's pages) never iterate the
trader's live dictionaries while the quoting thread changes them."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from engine.ledger import PositionState
from engine.quoting import MarketView

if TYPE_CHECKING:
    from engine.store import OrderRecord


@dataclass(frozen=True)
class OrderView:
    """One live order as it was when the snapshot was taken."""

    client_order_id: str
    symbol: str
    side: str
    type: str
    level: int
    price: float | None
    amount: float
    filled: float
    status: str
    created_ms: int
    exchange_order_id: str | None

    @classmethod
    def of(cls, rec: OrderRecord) -> OrderView:
        return cls(rec.client_order_id, rec.symbol, rec.side, rec.type, rec.level, rec.price, rec.amount,
                   rec.filled, rec.status, rec.created_ms, rec.exchange_order_id)


@dataclass(frozen=True)
class TraderSnapshot:
    """Live orders, positions, market views and candles of one trader, frozen."""

    taken_ms: int = 0
    orders: tuple[OrderView, ...] = ()
    positions: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # symbol -> PositionState
    views: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # symbol -> (ms, MarketView)
    candles: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # symbol -> rows
    ranges: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # symbol -> high-low % (live mids)
    signals: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # symbol -> last Signal (frozen)
    exits: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # symbol -> (stop, take profit)
    unquoted: MappingProxyType = field(default_factory=lambda: MappingProxyType({}))  # symbol -> {side: why not}

    def position(self, symbol: str) -> PositionState:
        return self.positions.get(symbol) or PositionState()

    def view(self, symbol: str, now_ms: int | None = None, max_age_ms: int | None = None) -> MarketView | None:
        seen = self.views.get(symbol)
        if seen is None or (max_age_ms is not None and now_ms is not None and now_ms - seen[0] > max_age_ms):
            return None
        return seen[1]


def take(now_ms: int, orders: Any, positions: dict, views: dict, candles: dict, ranges: dict,
         signals: dict | None = None, exits: dict | None = None,
         unquoted: dict | None = None) -> TraderSnapshot:
    """A snapshot of the trader's state (call it from the thread that changes that state)."""
    return TraderSnapshot(now_ms, tuple(OrderView.of(o) for o in list(orders)),
                          MappingProxyType({s: replace(p) for s, p in positions.items()}),
                          MappingProxyType(dict(views)), MappingProxyType(dict(candles)),
                          MappingProxyType({s: r.range_pct(now_ms) for s, r in ranges.items()}),
                          MappingProxyType(dict(signals or {})),
                          MappingProxyType({s: (h.stop_loss, h.take_profit) for s, h in (exits or {}).items()}),
                          MappingProxyType(dict(unquoted or {})))
