"""The periodic summary alert (``alerts.summary_every_min``): the fills and PnL per symbol since the last one, sent
instead of an alert for every position that opens or closes."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func
from sqlmodel import Session, select

from engine.store import TradeRecord


def summary_message(db: Any, since_ms: int, until_ms: int) -> str | None:
    """Fills, volume, realized PnL and fees per symbol with ``since_ms <= ts < until_ms``; None without a fill."""
    with Session(db) as s:
        rows = s.exec(select(TradeRecord.exchange, TradeRecord.symbol, func.count(), func.sum(TradeRecord.cost),
                             func.sum(TradeRecord.realized_pnl), func.sum(TradeRecord.fee))
                      .where(TradeRecord.ts >= since_ms, TradeRecord.ts < until_ms)
                      .group_by(TradeRecord.exchange, TradeRecord.symbol)
                      .order_by(TradeRecord.exchange, TradeRecord.symbol)).all()
    if not rows:
        return None
    minutes = (until_ms - since_ms) / 60_000
    lines = [f"{sum(r[2] for r in rows):,} fills in the last {minutes:.0f} min"]
    for exchange, symbol, n, volume, realized, fees in rows:
        lines.append(f"{symbol} ({exchange}): {n:,} fills, volume {volume or 0:,.0f}, realized {realized or 0:+,.2f}, "
                     f"fees {fees or 0:,.2f}")
    total = sum((r[4] or 0) - (r[5] or 0) for r in rows)
    lines.append(f"realized net of fees: {total:+,.2f}")
    return "\n".join(lines)
