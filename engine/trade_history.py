"""Trade history for the console: filtered, paged and totalled in SQL, and exported as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from engine.clock import iso8601
from engine.formats import decimals_for
from engine.store import TradeRecord

CSV_COLUMNS = ("time", "exchange", "symbol", "side", "price", "amount", "cost", "fee", "fee_currency", "realized_pnl",
               "spread_capture", "order_id", "client_order_id", "trade_id")
CSV_DOC = {
    "time": "fill time, ISO-8601 UTC", "exchange": "exchange id", "symbol": "unified symbol", "side": "buy or sell",
    "price": "fill price (quote currency)", "amount": "filled amount (base or contracts)",
    "cost": "price x amount x contract size (quote)", "fee": "fee paid (quote)", "fee_currency": "currency of the fee",
    "realized_pnl": "PnL this fill realized (quote)",
    "spread_capture": "what the fill earned against the mid its order was priced at (quote; a taker pays it)",
    "order_id": "exchange order id",
    "client_order_id": "our client order id", "trade_id": "exchange trade id",
}


@dataclass(frozen=True)
class TradeFilter:
    exchange: str | None = None
    symbol: str | None = None
    side: str | None = None
    since_ms: int | None = None
    until_ms: int | None = None

    def where(self, stmt: Any) -> Any:
        if self.exchange:
            stmt = stmt.where(TradeRecord.exchange == self.exchange)
        if self.symbol:
            stmt = stmt.where(TradeRecord.symbol == self.symbol)
        if self.side:
            stmt = stmt.where(TradeRecord.side == self.side)
        if self.since_ms is not None:
            stmt = stmt.where(TradeRecord.ts >= self.since_ms)
        if self.until_ms is not None:
            stmt = stmt.where(TradeRecord.ts < self.until_ms)
        return stmt


def trade_page(db: Any, flt: TradeFilter, page: int = 0, size: int = 100) -> list[dict]:
    """One page of trades, newest first."""
    with Session(db) as s:
        stmt = flt.where(select(TradeRecord)).order_by(TradeRecord.ts.desc(), TradeRecord.id.desc())
        rows = s.exec(stmt.offset(page * size).limit(size)).all()
        return [_trade_row(r) for r in rows]


def trade_totals(db: Any, flt: TradeFilter) -> dict:
    """Count, volume, fees, realized PnL and spread capture of the filtered trades (and trading PnL net of fees =
    spread capture - fees, as the dashboard defines it), aggregated in SQL: the sums of the CSV's columns."""
    with Session(db) as s:
        stmt = flt.where(select(func.count(TradeRecord.id), func.coalesce(func.sum(TradeRecord.cost), 0.0),
                                func.coalesce(func.sum(TradeRecord.fee), 0.0),
                                func.coalesce(func.sum(TradeRecord.realized_pnl), 0.0),
                                func.coalesce(func.sum(TradeRecord.edge), 0.0)))
        count, volume, fees, pnl, edge = s.exec(stmt).one()
    return {"trades": int(count), "volume": float(volume), "fees": float(fees), "realized_pnl": float(pnl),
            "spread_capture": float(edge), "trading_net": float(edge) - float(fees)}


def trades_csv(db: Any, flt: TradeFilter, batch: int = 20_000,
               steps: dict[tuple[str, str], tuple[float | None, float | None]] | None = None) -> bytes:
    """Exactly the filtered trades as CSV (columns: ``CSV_COLUMNS``, documented in ``CSV_DOC``), oldest first.

    Prices and amounts are rounded to the market's tick and lot (``steps``: (exchange, symbol) -> (tick, lot));
    money columns to 8 decimals: no float noise such as ``499.91648000000004``."""
    steps = steps or {}
    decimals: dict[tuple[str, str], tuple[int, int]] = {}
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    cols = (TradeRecord.ts, TradeRecord.exchange, TradeRecord.symbol, TradeRecord.side, TradeRecord.price,
            TradeRecord.amount, TradeRecord.cost, TradeRecord.fee, TradeRecord.fee_currency, TradeRecord.realized_pnl,
            TradeRecord.edge, TradeRecord.order_id, TradeRecord.client_order_id, TradeRecord.trade_id, TradeRecord.id)
    last = (-1, -1)
    with Session(db) as s:
        while True:  # keyset pagination: constant cost per batch however deep
            stmt = flt.where(select(*cols)).where(
                (TradeRecord.ts > last[0]) | ((TradeRecord.ts == last[0]) & (TradeRecord.id > last[1])))
            rows = s.exec(stmt.order_by(TradeRecord.ts, TradeRecord.id).limit(batch)).all()
            for r in rows:
                key = (r[1], r[2])
                places = decimals.get(key)
                if places is None:  # each market's decimals worked out once, not per row
                    tick, lot = steps.get(key, (None, None))
                    places = decimals[key] = (decimals_for(tick, 10), decimals_for(lot, 10))
                w.writerow((iso8601(r[0]), r[1], r[2], r[3], round(r[4], places[0]), round(r[5], places[1]),
                            round(r[6], 8), round(r[7], 8), r[8], round(r[9], 8), round(r[10] or 0.0, 8),
                            *r[11:14]))
            if len(rows) < batch:
                break
            last = (rows[-1][0], rows[-1][14])
    return out.getvalue().encode()


def _trade_row(r: TradeRecord) -> dict:
    return {"time": iso8601(r.ts), "exchange": r.exchange, "symbol": r.symbol, "side": r.side, "price": r.price,
            "amount": r.amount, "cost": r.cost, "fee": r.fee, "fee_currency": r.fee_currency,
            "realized_pnl": r.realized_pnl, "spread_capture": r.edge or 0.0, "order_id": r.order_id,
            "client_order_id": r.client_order_id, "trade_id": r.trade_id}


def trade_symbols(db: Any) -> list[str]:
    """Every symbol the trade history holds."""
    with Session(db) as s:
        return sorted(s.exec(select(TradeRecord.symbol).distinct()).all())


def trade_exchanges(db: Any) -> list[str]:
    """Every exchange the trade history holds (venues traded before, too)."""
    with Session(db) as s:
        return sorted(s.exec(select(TradeRecord.exchange).distinct()).all())




def live_markouts(db: Any, mids: dict[tuple[str, str], list[tuple[int, float]]]) -> list[dict]:
    """Markouts of the live store's fills (:func:`engine.analytics.mean_markouts`) against the engine's mid history
    (a mid a second per exchange and symbol, an hour deep): per market, the fills measured and the notional-weighted
    mean at 1, 10 and 60 s, in bps (negative: the market moved against our fills)."""
    from engine.analytics import HORIZONS_S, Fill, mean_markouts

    rows = []
    with Session(db) as s:
        for (exchange, symbol), series in sorted(mids.items()):
            if len(series) < 2:
                continue
            trades = s.exec(select(TradeRecord).where(TradeRecord.exchange == exchange, TradeRecord.symbol == symbol,
                                                      TradeRecord.ts >= series[0][0])).all()
            fills = [Fill(t.ts, t.side, t.price, t.amount) for t in trades]
            if not fills:
                continue
            means = mean_markouts(fills, series)
            rows.append({"exchange": exchange, "symbol": symbol, "fills": len(fills),
                         **{f"markout_{h}s_bps": round(means[h], 3) if means[h] is not None else None
                            for h in HORIZONS_S}})
    return rows
