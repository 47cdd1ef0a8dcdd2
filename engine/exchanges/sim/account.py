"""The paper account: balances, spot cost basis, perpetual positions, margin, funding and liquidation.

All money is tracked in the quote/settle currency (USDT). Spot fees are charged in the quote currency.
The books always satisfy, to float precision::

    equity = start_equity + realized_pnl + unrealized_pnl - fees + funding

where equity values every holding at its mark and adds the perpetuals' unrealized PnL.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from engine.exchanges.sim.markets import MarketSpec


@dataclass
class Position:
    """One perpetual position (one side of it in hedge mode)."""

    symbol: str
    side: str  # "long" | "short"
    contracts: float
    entry_price: float
    leverage: int
    margin_mode: str  # "cross" | "isolated"
    margin: float  # isolated: margin allocated to it; cross: initial margin at entry
    realized_pnl: float = 0.0
    opened_ms: int = 0
    updated_ms: int = 0

    @property
    def sign(self) -> int:
        return 1 if self.side == "long" else -1

    def unrealized(self, mark: float, contract_size: float) -> float:
        return (mark - self.entry_price) * self.contracts * contract_size * self.sign

    def liquidation_price(self, spec: MarketSpec) -> float | None:
        """Mark at which margin + unrealized PnL equals maintenance margin (isolated only)."""
        if self.margin_mode != "isolated" or self.contracts <= 0:
            return None
        q = self.contracts * spec.contract_size
        mmr = spec.maintenance_margin_rate
        if self.side == "long":
            price = (self.entry_price * q - self.margin) / (q * (1.0 - mmr))
        else:
            price = (self.entry_price * q + self.margin) / (q * (1.0 + mmr))
        return price if price > 0 else None


@dataclass
class FillResult:
    """What one fill did to the account."""

    realized_pnl: float
    fee: float


class Account:
    """Balances and positions of the simulated venue's single account."""

    def __init__(self, quote: str, balances: dict[str, float]) -> None:
        self.quote = quote
        self.cash: dict[str, float] = {k: float(v) for k, v in balances.items()}
        self.cash.setdefault(quote, 0.0)
        self.reserved: dict[str, float] = {}
        self.basis: dict[str, float] = {}
        self.positions: dict[tuple[str, str], Position] = {}
        self.realized_pnl = 0.0
        self.fees = 0.0
        self.funding = 0.0
        self.start_equity = 0.0
        self.liquidations = 0

    # -- set-up -------------------------------------------------------------------------------
    def open_books(self, marks: dict[str, float]) -> None:
        """Value starting holdings at ``marks`` (currency -> price in quote) as their cost basis."""
        for code, qty in self.cash.items():
            if code != self.quote and qty:
                self.basis[code] = marks.get(code, 0.0)
        self.start_equity = self.cash[self.quote] + sum(
            q * marks.get(c, 0.0) for c, q in self.cash.items() if c != self.quote
        )

    # -- reservations -------------------------------------------------------------------------
    def reserve(self, code: str, amount: float) -> None:
        self.reserved[code] = self.reserved.get(code, 0.0) + amount

    def release(self, code: str, amount: float) -> None:
        left = self.reserved.get(code, 0.0) - amount
        self.reserved[code] = left if left > 1e-9 else 0.0

    def free(self, code: str, marks: dict[str, float], specs: dict[str, MarketSpec]) -> float:
        total, used = self.balance_of(code, marks, specs)
        return total - used

    def balance_of(self, code: str, marks: dict[str, float], specs: dict[str, MarketSpec]) -> tuple[float, float]:
        """(total, used) of one currency; the quote's total includes perpetual unrealized PnL."""
        total = self.cash.get(code, 0.0)
        used = self.reserved.get(code, 0.0)
        if code == self.quote:
            for p in self.positions.values():
                spec = specs[p.symbol]
                total += p.unrealized(marks.get(p.symbol, p.entry_price), spec.contract_size)
                used += p.margin
        total = max(total, 0.0)
        return total, min(max(used, 0.0), total)

    # -- spot ---------------------------------------------------------------------------------
    def spot_fill(self, spec: MarketSpec, buy: bool, qty: float, price: float, fee_rate: float) -> FillResult:
        base, quote = spec.base, spec.quote
        notional = qty * price
        fee = notional * fee_rate
        held = self.cash.get(base, 0.0)
        pnl = 0.0
        if buy:
            basis = self.basis.get(base, 0.0)
            self.basis[base] = (basis * held + notional) / (held + qty) if held + qty > 0 else price
            self.cash[base] = held + qty
            self.cash[quote] = self.cash.get(quote, 0.0) - notional - fee
        else:
            pnl = (price - self.basis.get(base, price)) * qty
            self.cash[base] = held - qty
            self.cash[quote] = self.cash.get(quote, 0.0) + notional - fee
        self.realized_pnl += pnl
        self.fees += fee
        return FillResult(pnl, fee)

    # -- perpetuals ---------------------------------------------------------------------------
    def position(self, symbol: str, side: str) -> Position | None:
        return self.positions.get((symbol, side))

    def net_contracts(self, symbol: str) -> float:
        long, short = self.positions.get((symbol, "long")), self.positions.get((symbol, "short"))
        return (long.contracts if long else 0.0) - (short.contracts if short else 0.0)

    def perp_fill(self, spec: MarketSpec, buy: bool, qty: float, price: float, fee_rate: float,
                  position_side: str | None, leverage: int, margin_mode: str, ts_ms: int) -> FillResult:
        """Apply a perpetual fill. ``position_side`` is given in hedge mode, None in one-way mode."""
        fee = qty * spec.contract_size * price * fee_rate
        self.cash[spec.settle] = self.cash.get(spec.settle, 0.0) - fee
        self.fees += fee
        pnl = 0.0
        if position_side is not None:  # hedge mode
            opening = (position_side == "long") == buy
            if opening:
                self._increase(spec, position_side, qty, price, leverage, margin_mode, ts_ms)
            else:
                pnl = self._reduce(spec, position_side, qty, price, ts_ms)
        else:
            against = "short" if buy else "long"
            pos = self.positions.get((spec.symbol, against))
            if pos is not None:
                closing = min(qty, pos.contracts)
                pnl = self._reduce(spec, against, closing, price, ts_ms)
                qty -= closing
            if qty > 1e-12:
                self._increase(spec, "long" if buy else "short", qty, price, leverage, margin_mode, ts_ms)
        return FillResult(pnl, fee)

    def _increase(self, spec: MarketSpec, side: str, qty: float, price: float, leverage: int, margin_mode: str,
                  ts_ms: int) -> None:
        key = (spec.symbol, side)
        pos = self.positions.get(key)
        margin = qty * spec.contract_size * price / leverage
        if pos is None:
            self.positions[key] = Position(spec.symbol, side, qty, price, leverage, margin_mode, margin,
                                           opened_ms=ts_ms, updated_ms=ts_ms)
            return
        total = pos.contracts + qty
        pos.entry_price = (pos.entry_price * pos.contracts + price * qty) / total
        pos.contracts = total
        pos.margin += margin
        pos.updated_ms = ts_ms

    def _reduce(self, spec: MarketSpec, side: str, qty: float, price: float, ts_ms: int) -> float:
        key = (spec.symbol, side)
        pos = self.positions[key]
        qty = min(qty, pos.contracts)
        pnl = (price - pos.entry_price) * qty * spec.contract_size * pos.sign
        self.cash[spec.settle] = self.cash.get(spec.settle, 0.0) + pnl
        self.realized_pnl += pnl
        pos.realized_pnl += pnl
        left = pos.contracts - qty
        if left <= spec.lot * 1e-6:
            del self.positions[key]
        else:
            pos.margin *= left / pos.contracts
            pos.contracts = left
            pos.updated_ms = ts_ms
        return pnl

    def liquidate(self, spec: MarketSpec, side: str, mark: float, fee_rate: float, ts_ms: int) -> tuple[float, float]:
        """Close a position at ``mark``; an isolated loss is capped at its margin. Returns (qty, pnl)."""
        pos = self.positions[(spec.symbol, side)]
        qty = pos.contracts
        pnl = (mark - pos.entry_price) * qty * spec.contract_size * pos.sign
        if pos.margin_mode == "isolated":
            pnl = max(pnl, -pos.margin)
        fee = min(qty * spec.contract_size * mark * fee_rate, max(pos.margin + pnl, 0.0))
        self.cash[spec.settle] = self.cash.get(spec.settle, 0.0) + pnl - fee
        self.realized_pnl += pnl
        self.fees += fee
        del self.positions[(spec.symbol, side)]
        self.liquidations += 1
        return qty, pnl

    def pay_funding(self, spec: MarketSpec, mark: float, rate: float) -> float:
        """Settle one funding interval for ``spec``'s positions: longs pay shorts when ``rate`` > 0."""
        paid = 0.0
        for side in ("long", "short"):
            pos = self.positions.get((spec.symbol, side))
            if pos is None:
                continue
            amount = -pos.sign * pos.contracts * spec.contract_size * mark * rate
            self.cash[spec.settle] = self.cash.get(spec.settle, 0.0) + amount
            self.funding += amount
            paid += amount
        return paid

    # -- valuation ----------------------------------------------------------------------------
    def unrealized(self, marks: dict[str, float], asset_marks: dict[str, float], specs: dict[str, MarketSpec]) -> float:
        total = 0.0
        for p in self.positions.values():
            total += p.unrealized(marks.get(p.symbol, p.entry_price), specs[p.symbol].contract_size)
        for code, qty in self.cash.items():
            if code != self.quote and qty:
                total += qty * (asset_marks.get(code, 0.0) - self.basis.get(code, 0.0))
        return total

    def equity(self, marks: dict[str, float], asset_marks: dict[str, float], specs: dict[str, MarketSpec]) -> float:
        value = self.cash.get(self.quote, 0.0)
        for code, qty in self.cash.items():
            if code != self.quote:
                value += qty * asset_marks.get(code, 0.0)
        for p in self.positions.values():
            value += p.unrealized(marks.get(p.symbol, p.entry_price), specs[p.symbol].contract_size)
        return value

    # -- persistence --------------------------------------------------------------------------
    def state(self) -> dict:
        return {
            "quote": self.quote, "cash": self.cash, "reserved": self.reserved, "basis": self.basis,
            "positions": [asdict(p) for p in self.positions.values()],
            "realized_pnl": self.realized_pnl, "fees": self.fees, "funding": self.funding,
            "start_equity": self.start_equity, "liquidations": self.liquidations,
        }

    @classmethod
    def from_state(cls, state: dict) -> Account:
        acc = cls(state["quote"], state["cash"])
        acc.reserved = dict(state["reserved"])
        acc.basis = dict(state["basis"])
        for p in state["positions"]:
            pos = Position(**p)
            acc.positions[(pos.symbol, pos.side)] = pos
        acc.realized_pnl = state["realized_pnl"]
        acc.fees = state["fees"]
        acc.funding = state["funding"]
        acc.start_equity = state["start_equity"]
        acc.liquidations = state.get("liquidations", 0)
        return acc
