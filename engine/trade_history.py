"""Trade history for the console: filtered, paged and totalled in SQL, and exported as CSV."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from engine.store import TradeRecord

CSV_COLUMNS = ("time", "exchange", "symbol", "side", "price", "amount", "cost", "fee", "fee_currency", "realized_pnl",
               "order_id", "client_order_id", "trade_id")
CSV_DOC = {
    "time": "fill time, ISO-8601 UTC", "exchange": "exchange id", "symbol": "unified symbol", "side": "buy or sell",
    "price": "fill price (quote currency)", "amount": "filled amount (base or contracts)",
    "cost": "price x amount x contract size (quote)", "fee": "fee paid (quote)", "fee_currency": "currency of the fee",
    "realized_pnl": "PnL this fill realized (quote)", "order_id": "exchange order id",
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
    """Count, volume, fees and realized PnL of the filtered trades, aggregated in SQL."""
    with Session(db) as s:
        stmt = flt.where(select(func.count(TradeRecord.id), func.coalesce(func.sum(TradeRecord.cost), 0.0),
                                func.coalesce(func.sum(TradeRecord.fee), 0.0),
                                func.coalesce(func.sum(TradeRecord.realized_pnl), 0.0)))
        count, volume, fees, pnl = s.exec(stmt).one()
    return {"trades": int(count), "volume": float(volume), "fees": float(fees), "realized_pnl": float(pnl)}


def trades_csv(db: Any, flt: TradeFilter, batch: int = 20_000) -> bytes:
    """Exactly the filtered trades as CSV (columns: ``CSV_COLUMNS``, documented in ``CSV_DOC``), oldest first."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(CSV_COLUMNS)
    cols = (TradeRecord.ts, TradeRecord.exchange, TradeRecord.symbol, TradeRecord.side, TradeRecord.price,
            TradeRecord.amount, TradeRecord.cost, TradeRecord.fee, TradeRecord.fee_currency, TradeRecord.realized_pnl,
            TradeRecord.order_id, TradeRecord.client_order_id, TradeRecord.trade_id, TradeRecord.id)
    last = (-1, -1)
    with Session(db) as s:
        while True:  # keyset pagination: constant cost per batch however deep
            stmt = flt.where(select(*cols)).where(
                (TradeRecord.ts > last[0]) | ((TradeRecord.ts == last[0]) & (TradeRecord.id > last[1])))
            rows = s.exec(stmt.order_by(TradeRecord.ts, TradeRecord.id).limit(batch)).all()
            for r in rows:
                w.writerow((_iso(r[0]), *r[1:13]))
            if len(rows) < batch:
                break
            last = (rows[-1][0], rows[-1][13])
    return out.getvalue().encode()


def _trade_row(r: TradeRecord) -> dict:
    return {"time": _iso(r.ts), "exchange": r.exchange, "symbol": r.symbol, "side": r.side, "price": r.price,
            "amount": r.amount, "cost": r.cost, "fee": r.fee, "fee_currency": r.fee_currency,
            "realized_pnl": r.realized_pnl, "order_id": r.order_id, "client_order_id": r.client_order_id,
            "trade_id": r.trade_id}


def trade_symbols(db: Any) -> list[str]:
    """Every symbol the trade history holds."""
    with Session(db) as s:
        return sorted(s.exec(select(TradeRecord.symbol).distinct()).all())


def trade_exchanges(db: Any) -> list[str]:
    """Every exchange the trade history holds (venues traded before, too)."""
    with Session(db) as s:
        return sorted(s.exec(select(TradeRecord.exchange).distinct()).all())


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="milliseconds").replace(
        "+00:00", "Z")
