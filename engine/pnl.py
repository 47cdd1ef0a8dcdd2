"""PnL an operator can read, per symbol and in total, one set of numbers for the dashboard, the positions page and
the trade history (its CSV sums to the same): what the quotes earned, what holding inventory did, and the fees.

- **Spread capture**: each fill against the mid its order was priced at (a maker bid under the mid earns the
  distance, a taker pays it); summed over the fills (``trades.edge``).
- **Fees**: every fee paid, in the quote currency.
- **Trading PnL net of fees** = spread capture - fees.
- **Inventory PnL** = realized + unrealized - spread capture: what price moves did to the inventory the fills built
  (adverse selection shows here).
- **Funding**: funding received minus paid on perpetual positions (``funding_payments``, :mod:`engine.funding`).
- **Net PnL** = trading PnL net of fees + inventory PnL + funding = realized + unrealized - fees + funding.

The dashboard's **equity change today** is another figure: it also moves with the price of holdings the account had
before the engine traded (a spot account's starting BTC), so it differs from net PnL by that revaluation.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from engine.store import TradeRecord

DEFINITIONS = {
    "spread_capture": "what the fills earned against the mid each order was priced at (takers pay it)",
    "fees": "fees paid to the exchange",
    "trading_net": "spread capture minus fees: the market-making result itself",
    "inventory_pnl": "realized + unrealized minus spread capture: price moves on the inventory the fills built",
    "funding": "funding received minus paid on perpetual positions",
    "net_pnl": "trading PnL net of fees + inventory PnL + funding (= realized + unrealized - fees + funding)",
}


@dataclass(frozen=True)
class PnlLine:
    """One symbol's (or the total's) PnL in the quote currency."""

    exchange: str
    symbol: str
    realized: float
    unrealized: float
    spread_capture: float
    fees: float
    funding: float = 0.0

    @property
    def trading_net(self) -> float:
        return self.spread_capture - self.fees

    @property
    def inventory_pnl(self) -> float:
        return self.realized + self.unrealized - self.spread_capture

    @property
    def net_pnl(self) -> float:
        return self.realized + self.unrealized - self.fees + self.funding

    def row(self) -> dict:
        return {"exchange": self.exchange, "symbol": self.symbol, "spread_capture": self.spread_capture,
                "fees": self.fees, "trading_net": self.trading_net, "inventory_pnl": self.inventory_pnl,
                "funding": self.funding, "net_pnl": self.net_pnl, "realized": self.realized,
                "unrealized": self.unrealized}


_sums: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # db -> (last trade id, sums): gone with the db
_sums_lock = threading.Lock()


def fill_totals(db: Any) -> dict[tuple[str, str], tuple[float, float, float, float, int]]:
    """(exchange, symbol) -> (realized, spread capture, fees, volume in quote, fills) over every stored fill, summed
    in SQL.

    Fills are only ever added, so the sums are kept per database and only the fills stored since the last call are
    read (a dashboard refreshing every 2 s over a million trades reads a handful of rows)."""
    with _sums_lock:
        last, sums = _sums.get(db, (0, {}))
        sums = dict(sums)
        with Session(db) as s:
            rows = s.exec(select(TradeRecord.exchange, TradeRecord.symbol,
                                 func.coalesce(func.sum(TradeRecord.realized_pnl), 0.0),
                                 func.coalesce(func.sum(TradeRecord.edge), 0.0),
                                 func.coalesce(func.sum(TradeRecord.fee), 0.0),
                                 func.coalesce(func.sum(func.abs(TradeRecord.cost)), 0.0),
                                 func.count(TradeRecord.id), func.max(TradeRecord.id))
                          .where(TradeRecord.id > last)
                          .group_by(TradeRecord.exchange, TradeRecord.symbol)).all()
        for e, sym, r, c, f, v, n, top in rows:
            old = sums.get((e, sym), (0.0, 0.0, 0.0, 0.0, 0))
            sums[(e, sym)] = (old[0] + float(r), old[1] + float(c), old[2] + float(f), old[3] + float(v),
                              old[4] + int(n))
            last = max(last, int(top))
        _sums[db] = (last, sums)
        return dict(sums)


def fill_sums(db: Any) -> dict[tuple[str, str], tuple[float, float, float]]:
    """(exchange, symbol) -> (realized, spread capture, fees): :func:`fill_totals`' first three."""
    return {k: v[:3] for k, v in fill_totals(db).items()}


def breakdown(db: Any, unrealized: dict[tuple[str, str], float]) -> tuple[list[PnlLine], PnlLine]:
    """Per (exchange, symbol) lines, the busiest first, and their total; ``unrealized`` comes from the live
    positions at the current marks."""
    from engine.funding import funding_sums

    sums, funding = fill_sums(db), funding_sums(db)
    keys = sorted(set(sums) | set(unrealized) | set(funding))
    lines = []
    for e, sym in keys:
        realized, capture, fees = sums.get((e, sym), (0.0, 0.0, 0.0))
        lines.append(PnlLine(e, sym, realized, unrealized.get((e, sym), 0.0), capture, fees,
                             funding.get((e, sym), 0.0)))
    total = PnlLine("all", "total", sum(x.realized for x in lines), sum(x.unrealized for x in lines),
                    sum(x.spread_capture for x in lines), sum(x.fees for x in lines), sum(x.funding for x in lines))
    return lines, total
