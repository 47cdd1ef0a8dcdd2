"""Funding checks (seed 000 ``funding``): every ``funding.funding_check_interval`` the funding job reads the funding
rate of each perpetual that market making quotes, and the funding settled on our positions.

Beyond ``funding_threshold_bps`` the side that receives funding is favoured: a positive rate (longs pay shorts)
moves the symbol's inventory target to ``-inventory_target_pct`` of its cap, a negative one to ``+``; the ladder
then skews around that target (its reservation price and sizes lean toward it), the whole ladder moves ``lean_bps``
toward that side, and the cap still binds on the real position. Each switch on or off is logged and alerted.
Funding paid and received is stored per payment (``funding_payments``) and counted in PnL (:mod:`engine.pnl`)."""

from __future__ import annotations

import logging
from typing import Any

import ccxt
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from engine.store import FundingPayment

log = logging.getLogger("engine.funding")


def target_usd(rate_bps: float, threshold_bps: float, target_pct: float, cap_usd: float) -> float:
    """The signed inventory target in USD for a funding rate: toward the side that receives funding, or 0 within
    the threshold."""
    if rate_bps == 0 or abs(rate_bps) < threshold_bps or not cap_usd or cap_usd == float("inf"):
        return 0.0
    side = -1.0 if rate_bps > 0 else 1.0  # positive: longs pay, shorts receive
    return side * target_pct / 100.0 * cap_usd


class FundingChecks:
    """The funding job of :class:`engine.runtime.Engine`."""

    def funding_cycle(self) -> None:
        f = self.config.funding
        if not f.enabled:
            return
        for t in self.traders:
            perps = [s for s in t.symbols if (t.ex.markets.get(s) or {}).get("contract") and not t.is_directional(s)]
            for symbol in perps:
                try:
                    rate = t.ex.fetch_funding_rate(symbol).get("fundingRate")
                except (ccxt.NotSupported, ccxt.ExchangeError) as exc:
                    log.warning("%s %s: funding rate not read (%s)", t.name, symbol, exc)
                    continue
                if rate is None:
                    continue
                bps = float(rate) * 1e4
                cap = getattr(t.strategies.get(symbol), "quote_params", None)
                target = target_usd(bps, f.funding_threshold_bps, f.inventory_target_pct,
                                    cap.max_inventory_usd if cap is not None else 0.0)
                with self.work:
                    before = t.inventory_targets_usd.get(symbol, 0.0)
                    t.inventory_targets_usd[symbol] = target
                    t.funding_bps[symbol] = bps
                    t.funding_lean_bps[symbol] = f.lean_bps * (1 if target > 0 else -1 if target < 0 else 0)
                if (before == 0.0) != (target == 0.0) or (before * target < 0):
                    self._say_funding(t.name, symbol, bps, target, f.funding_threshold_bps)
            if perps and t.ex.has.get("fetchFundingHistory"):
                self._store_funding(t, perps)

    def _say_funding(self, venue: str, symbol: str, bps: float, target: float, threshold: float) -> None:
        if target:
            side = "short" if target < 0 else "long"
            text = (f"funding {bps:+.2f} bps is beyond {threshold:g} bps: quotes lean {side} (the {side}s receive "
                    f"funding), inventory target {target:+,.0f} USD")
        else:
            text = f"funding {bps:+.2f} bps is within {threshold:g} bps: quotes centred on a flat inventory again"
        log.info("%s %s: %s", venue, symbol, text)
        self.alert("info", "funding skew", f"{symbol} on {venue}: {text}", key=f"funding:{venue}:{symbol}:{target}")

    def _store_funding(self, t: Any, symbols: list[str]) -> int:
        """Store the funding settled since the last payment stored, once per payment; returns how many are new."""
        new = 0
        with Session(self.db) as s:
            for symbol in symbols:
                last = s.exec(select(func.max(FundingPayment.ts)).where(FundingPayment.exchange == t.name,
                                                                        FundingPayment.symbol == symbol)).one()
                try:
                    rows = t.ex.fetch_funding_history(symbol, last)
                except (ccxt.NotSupported, ccxt.ExchangeError) as exc:
                    log.warning("%s %s: funding history not read (%s)", t.name, symbol, exc)
                    continue
                known = set(s.exec(select(FundingPayment.payment_id).where(
                    FundingPayment.exchange == t.name, FundingPayment.symbol == symbol,
                    FundingPayment.ts >= (last or 0))).all())
                for r in rows:
                    pid = str(r.get("id") or f"{symbol}-{r['timestamp']}")
                    if pid in known or r.get("amount") is None:
                        continue
                    known.add(pid)
                    s.add(FundingPayment(exchange=t.name, symbol=symbol, payment_id=pid, amount=float(r["amount"]),
                                         currency=r.get("code"), rate=(r.get("info") or {}).get("rate"),
                                         ts=int(r["timestamp"])))
                    new += 1
            try:
                s.commit()
            except IntegrityError:  # another writer stored them first: nothing is counted twice
                s.rollback()
                return 0
        return new


def funding_sums(db: Any) -> dict[tuple[str, str], float]:
    """(exchange, symbol) -> funding received minus paid, over every stored payment."""
    with Session(db) as s:
        rows = s.exec(select(FundingPayment.exchange, FundingPayment.symbol, func.sum(FundingPayment.amount))
                      .group_by(FundingPayment.exchange, FundingPayment.symbol)).all()
    return {(e, sym): float(v or 0.0) for e, sym, v in rows}


def funding_rows(engine: Any) -> list[dict]:
    """Per perpetual that has a funding rate read: the rate (bps per interval), where the quotes lean, the inventory
    target, and the funding received minus paid so far."""
    sums = funding_sums(engine.db)
    rows = []
    for t in engine.traders:
        for symbol, bps in sorted(t.funding_bps.items()):
            target = t.inventory_targets_usd.get(symbol, 0.0)
            rows.append({"exchange": t.name, "symbol": symbol, "rate_bps": bps, "target_usd": target,
                         "lean": "short" if target < 0 else "long" if target > 0 else "none",
                         "funding": sums.get((t.name, symbol), 0.0)})
    return rows
