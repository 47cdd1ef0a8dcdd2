"""Fills -> positions, realized PnL and fees; and equity computed from the store alone.

Positions are the engine's own (signed: + long, - short) per exchange and symbol, average-cost basis: a fill
that reduces a position realizes (price - avg) * qty * contract_size in its direction. Each fill is applied
exactly once, keyed by the exchange's trade id.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlalchemy import Connection, bindparam, insert, update
from sqlmodel import Session, select

from engine.store import PositionRecord, TradeRecord
from engine.store.prepared import Prepared


def spread_capture(side: str, price: float, amount: float, ref_mid: float | None, contract_size: float = 1.0) -> float:
    """What a fill earned against the mid its order was priced at (quote currency): a maker bid under the mid earns
    the distance, a taker pays it. Without a known mid it counts nothing (the whole result is inventory PnL)."""
    if not ref_mid:
        return 0.0
    return ((ref_mid - price) if side == "buy" else (price - ref_mid)) * amount * contract_size


_TRADES = TradeRecord.__table__
_POSITIONS = PositionRecord.__table__
_INSERT_TRADES = Prepared(insert(_TRADES))  # Core statements run on the driver's cursor (engine.store.prepared)
_INSERT_POSITION = Prepared(insert(_POSITIONS))
_KNOWN_TRADES = select(_TRADES.c.trade_id).where(  # which of a batch of trade ids the store holds already
    _TRADES.c.exchange == bindparam("exchange"), _TRADES.c.trade_id.in_(bindparam("ids", expanding=True)))
_KNOWN_TRADE = Prepared(select(_TRADES.c.trade_id).where(  # the same for one id (a cycle's fills: one or two)
    _TRADES.c.exchange == bindparam("exchange"), _TRADES.c.trade_id == bindparam("tid")))
_FEW_TRADES = 4  # up to this many trades are looked up one by one
_UPDATE_POSITION = Prepared(update(_POSITIONS).where(
    _POSITIONS.c.exchange == bindparam("b_exchange"), _POSITIONS.c.symbol == bindparam("b_symbol")).values(
    {c.name: bindparam(c.name) for c in _POSITIONS.c if c.name not in ("id", "exchange", "symbol")}))


@dataclass
class PositionState:
    qty: float = 0.0
    avg_price: float = 0.0
    contract_size: float = 1.0
    realized_pnl: float = 0.0
    fees: float = 0.0
    opened_ms: int | None = None

    def unrealized(self, mark: float) -> float:
        return (mark - self.avg_price) * self.qty * self.contract_size if self.qty else 0.0

    def apply(self, buy: bool, amount: float, price: float, fee: float, ts_ms: int) -> float:
        """Apply one fill; returns the PnL it realized."""
        signed = amount if buy else -amount
        self.fees += fee
        realized = 0.0
        if self.qty == 0 or (self.qty > 0) == buy:  # opening or adding
            total = self.qty + signed
            self.avg_price = (self.avg_price * abs(self.qty) + price * amount) / abs(total)
            if self.qty == 0:
                self.opened_ms = ts_ms
            self.qty = total
        else:  # reducing, maybe flipping
            closing = min(amount, abs(self.qty))
            direction = 1.0 if self.qty > 0 else -1.0
            realized = (price - self.avg_price) * closing * self.contract_size * direction
            self.realized_pnl += realized
            left = amount - closing
            self.qty += signed if left == 0 else -self.qty
            if abs(self.qty) < 1e-12:
                self.qty = 0.0
                self.opened_ms = None
            if left > 1e-12:
                self.qty = left if buy else -left
                self.avg_price = price
                self.opened_ms = ts_ms
        return realized


class Ledger:
    """The engine's positions on one exchange, mirrored in the ``positions`` table."""

    def __init__(self, exchange: str) -> None:
        self.exchange = exchange
        self.positions: dict[str, PositionState] = {}
        self.fills = 0

    def load(self, session: Session) -> None:
        rows = session.exec(select(PositionRecord).where(PositionRecord.exchange == self.exchange)).all()
        for r in rows:
            self.positions[r.symbol] = PositionState(r.qty, r.avg_price, r.contract_size, r.realized_pnl, r.fees,
                                                     r.opened_ms)

    def position(self, symbol: str) -> PositionState:
        return self.positions.get(symbol) or PositionState()

    def record(self, session: Session, trades: list[dict], contract_sizes: dict[str, float]) -> list[TradeRecord]:
        """Stage ``trades`` in ``session`` and apply them at once (callers that commit right away and cannot fail
        half-way, such as tests and exports). The trader uses :meth:`stage` and :meth:`apply` around its commit."""
        rows, staged = self.stage(session.connection(), trades, contract_sizes)
        self.apply(staged, len(rows))
        return rows

    def stage(self, conn: Connection, trades: list[dict],
              contract_sizes: dict[str, float]) -> tuple[list[TradeRecord], dict[str, PositionState]]:
        """Write the trades not stored yet, and the positions they make, in ``conn``'s transaction; memory is left
        untouched.

        Returns the new rows and the positions after them: pass those to :meth:`apply` once the session has
        committed, so a commit that fails (and is tried again) never applies a fill twice.

        Fees are kept in the quote currency: a fee charged in the base currency (Binance spot buys) is valued at the
        fill price, and on spot it also comes off the position (the account received that much less of the base).
        """
        if not trades:
            return [], {}
        ids = [str(t["id"]) for t in trades]
        if len(ids) <= _FEW_TRADES:
            known = {tid for tid in ids if _KNOWN_TRADE.execute(conn, {"exchange": self.exchange, "tid": tid})[1]}
        else:
            known = set(conn.execute(_KNOWN_TRADES, {"exchange": self.exchange, "ids": ids}).scalars())
        new_rows = []
        staged: dict[str, PositionState] = {}
        for t in sorted(trades, key=lambda t: (t["timestamp"], str(t["id"]))):
            tid = str(t["id"])
            if tid in known:
                continue
            known.add(tid)
            symbol = t["symbol"]
            pos = staged.get(symbol)
            if pos is None:
                current = self.positions.get(symbol)
                pos = replace(current) if current is not None else PositionState(
                    contract_size=contract_sizes.get(symbol, 1.0))
                staged[symbol] = pos
            fee = (t.get("fee") or {}).get("cost") or 0.0
            base_fee = (t.get("fee") or {}).get("currency") == symbol.split("/")[0]
            fee_quote = fee * t["price"] if base_fee else fee
            amount = float(t["amount"])
            if base_fee and ":" not in symbol:  # spot: the base-currency fee is taken from what changes hands
                amount = amount - fee if t["side"] == "buy" else amount + fee
            realized = pos.apply(t["side"] == "buy", amount, float(t["price"]), fee_quote, t["timestamp"])
            edge = spread_capture(t["side"], float(t["price"]), float(t["amount"]), t.get("ref_mid"),
                                  pos.contract_size)
            row = TradeRecord(
                exchange=self.exchange, symbol=symbol, trade_id=tid, order_id=t.get("order"),
                client_order_id=t.get("clientOrderId"), side=t["side"], price=float(t["price"]),
                amount=float(t["amount"]), cost=float(t.get("cost") or t["price"] * t["amount"]), fee=fee_quote,
                fee_currency=(t.get("fee") or {}).get("currency"), liquidity=t.get("takerOrMaker"),
                realized_pnl=realized, edge=edge, ts=int(t["timestamp"]))
            new_rows.append(row)
        if new_rows:  # Core, like the position: the rows stay out of the session (a failed commit leaves them whole)
            _INSERT_TRADES.executemany(conn, [r.model_dump(exclude={"id"}) for r in new_rows])
        for symbol, pos in staged.items():
            self._save_position(conn, symbol, pos, max(r.ts for r in new_rows if r.symbol == symbol))
        return new_rows, staged

    def apply(self, staged: dict[str, PositionState], fills: int) -> None:
        """Take positions staged by :meth:`stage` into memory, once their session has committed."""
        self.positions.update(staged)
        self.fills += fills

    def _save_position(self, conn: Connection, symbol: str, pos: PositionState, now_ms: int) -> None:
        """Write the position in ``conn``'s transaction: one cached UPDATE, an INSERT the first time (a fill's
        store write is the trader's costliest step; an ORM select-then-flush per fill doubled it)."""
        values = {"qty": pos.qty, "avg_price": pos.avg_price, "contract_size": pos.contract_size,
                  "realized_pnl": pos.realized_pnl, "fees": pos.fees, "opened_ms": pos.opened_ms,
                  "status": "open" if pos.qty else "closed", "updated_ms": now_ms}
        if _UPDATE_POSITION.execute(conn, {**values, "b_exchange": self.exchange, "b_symbol": symbol})[0] == 0:
            _INSERT_POSITION.execute(conn, {**values, "exchange": self.exchange, "symbol": symbol})

    def totals(self, marks: dict[str, float]) -> dict[str, float]:
        realized = sum(p.realized_pnl for p in self.positions.values())
        fees = sum(p.fees for p in self.positions.values())
        unrealized = sum(p.unrealized(marks[s]) for s, p in self.positions.items() if s in marks)
        return {"realized_pnl": realized, "unrealized_pnl": unrealized, "fees": fees}


def store_equity(session: Session, exchange: str, start_balances: dict[str, float], marks: dict[str, float],
                 contract_markets: set[str]) -> float:
    """Equity from the store alone: starting balances plus every stored fill's cash flows, valued at ``marks``.

    ``marks`` maps currencies (``BTC``) and contract symbols (``BTC/USDT:USDT``) to prices in the quote currency.
    Spot fills move base and quote; perpetual fills move only their realized PnL and fee in the settle currency,
    and open perpetual positions add their unrealized PnL. Funding payments are not fills and are not included.
    """
    cash = dict(start_balances)
    for t in session.exec(select(TradeRecord).where(TradeRecord.exchange == exchange)).all():
        if t.symbol in contract_markets:
            cash["USDT"] = cash.get("USDT", 0.0) + t.realized_pnl - t.fee
            continue
        base, quote = t.symbol.split("/")[0], t.symbol.split("/")[1].split(":")[0]
        sign = 1.0 if t.side == "buy" else -1.0
        cash[base] = cash.get(base, 0.0) + sign * t.amount
        if t.fee_currency == base:  # charged in the base currency (stored valued at the fill price)
            cash[base] -= t.fee / t.price
            cash[quote] = cash.get(quote, 0.0) - sign * t.cost
        else:
            cash[quote] = cash.get(quote, 0.0) - sign * t.cost - t.fee
    equity = sum(qty * (1.0 if code == "USDT" else marks.get(code, 0.0)) for code, qty in cash.items())
    for p in session.exec(select(PositionRecord).where(PositionRecord.exchange == exchange)).all():
        if p.symbol in contract_markets and p.qty and p.symbol in marks:
            equity += (marks[p.symbol] - p.avg_price) * p.qty * p.contract_size
    return equity
