"""ccxt's unified perpetual calls: positions, leverage, margin and position modes, funding rates."""

from __future__ import annotations

import logging
from typing import Any

import ccxt

from engine.clock import iso8601
from engine.exchanges.sim.api import (
    _api,
)

log = logging.getLogger("engine.exchanges.sim.venue")


class DerivativesApi:
    """A part of :class:`engine.exchanges.sim.venue.SimExchange` (see the module docstring)."""

    @_api
    def fetch_positions(self, symbols: list[str] | None = None, params: dict | None = None) -> list[dict]:
        wanted = set(symbols) if symbols else None
        out = []
        now = self.clock.now_ms()
        cross_equity = None
        for (sym, side), p in sorted(self.account.positions.items()):
            if wanted is not None and sym not in wanted:
                continue
            spec = self.specs[sym]
            mark = self._mark(sym) or p.entry_price
            notional = p.contracts * spec.contract_size * mark
            upnl = p.unrealized(mark, spec.contract_size)
            mm = notional * spec.maintenance_margin_rate
            if p.margin_mode == "isolated":
                collateral = p.margin + upnl
            else:
                if cross_equity is None:
                    cross_equity = self._cross_equity()
                collateral = cross_equity
            liq = p.liquidation_price(spec)
            out.append({
                "info": {"symbol": sym, "side": side}, "id": None, "symbol": sym,
                "timestamp": p.updated_ms or now, "datetime": iso8601(p.updated_ms or now),
                "lastUpdateTimestamp": p.updated_ms, "hedged": self._hedged, "side": side,
                "contracts": p.contracts, "contractSize": spec.contract_size, "entryPrice": p.entry_price,
                "markPrice": mark, "lastPrice": None, "notional": notional, "leverage": p.leverage,
                "collateral": collateral, "initialMargin": notional / p.leverage,
                "initialMarginPercentage": 1.0 / p.leverage, "maintenanceMargin": mm,
                "maintenanceMarginPercentage": spec.maintenance_margin_rate,
                "marginRatio": mm / collateral if collateral > 0 else None, "positionMargin": p.margin,
                "unrealizedPnl": upnl, "realizedPnl": p.realized_pnl, "liquidationPrice": liq,
                "marginMode": p.margin_mode, "percentage": upnl / p.margin * 100 if p.margin else None,
                "stopLossPrice": None, "takeProfitPrice": None,
            })
        return out

    @_api
    def set_leverage(self, leverage: Any, symbol: str | None = None, params: dict | None = None) -> dict:
        spec = self._contract(symbol, "set_leverage")
        lev = self._positive("leverage", leverage)
        if lev != int(lev) or not 1 <= lev <= spec.max_leverage:
            raise ccxt.BadRequest(f"sim: leverage {leverage!r} for {symbol} must be a whole number from 1 to "
                                  f"{spec.max_leverage}")
        self._leverage[symbol] = int(lev)
        self._dirty_account = True
        return {"info": {"symbol": symbol, "leverage": int(lev)}, "symbol": symbol, "leverage": int(lev)}

    @_api
    def fetch_leverage(self, symbol: str, params: dict | None = None) -> dict:
        """ccxt's unified leverage structure for ``symbol``."""
        spec = self._contract(symbol, "fetch_leverage")
        lev = self._leverage[spec.symbol]
        mode = self._margin_mode[spec.symbol]
        return {"info": {"symbol": symbol, "leverage": lev}, "symbol": spec.symbol, "marginMode": mode,
                "longLeverage": lev, "shortLeverage": lev}

    @_api
    def fetch_margin_mode(self, symbol: str, params: dict | None = None) -> dict:
        """ccxt's unified margin mode structure for ``symbol``."""
        spec = self._contract(symbol, "fetch_margin_mode")
        mode = self._margin_mode[spec.symbol]
        return {"info": {"symbol": symbol, "marginMode": mode}, "symbol": spec.symbol, "marginMode": mode}

    @_api
    def set_margin_mode(self, marginMode: str, symbol: str | None = None, params: dict | None = None) -> dict:
        spec = self._contract(symbol, "set_margin_mode")
        mode = str(marginMode).lower()
        if mode not in ("cross", "isolated"):
            raise ccxt.BadRequest(f"sim: margin mode {marginMode!r} must be 'cross' or 'isolated'")
        if mode != self._margin_mode[spec.symbol] and self._busy(spec.symbol):
            raise ccxt.BadRequest(f"sim: cannot change the margin mode of {symbol} with open orders or a position; "
                                  "close them first")
        self._margin_mode[spec.symbol] = mode
        self._dirty_account = True
        return {"info": {"symbol": symbol, "marginMode": mode}, "symbol": symbol, "marginMode": mode}

    @_api
    def set_position_mode(self, hedged: bool, symbol: str | None = None, params: dict | None = None) -> dict:
        if not isinstance(hedged, bool):
            raise ccxt.BadRequest(f"sim: set_position_mode takes True (hedge) or False (one-way), got {hedged!r}")
        if hedged != self._hedged and self._busy(None):
            raise ccxt.BadRequest("sim: cannot change the position mode with open perpetual orders or positions")
        self._hedged = hedged
        self._dirty_account = True
        return {"info": {"dualSidePosition": hedged}, "hedged": hedged}

    @_api
    def fetch_position_mode(self, symbol: str | None = None, params: dict | None = None) -> dict:
        """ccxt's unified answer: ``{"info": ..., "hedged": bool}``."""
        return {"info": {"dualSidePosition": self._hedged}, "hedged": self._hedged}

    @_api
    def fetch_funding_history(self, symbol: str | None = None, since: int | None = None, limit: int | None = None,
                              params: dict | None = None) -> list[dict]:
        """Funding settled on our positions (ccxt's funding-history structure): + received, - paid."""
        if symbol is not None:
            self._contract(symbol, "fetch_funding_history")
        rows = [r for r in self._funding_history if (symbol is None or r["symbol"] == symbol)
                and (since is None or r["timestamp"] >= since)]
        return rows[: int(limit)] if limit is not None else rows

    @_api
    def fetch_funding_rate(self, symbol: str, params: dict | None = None) -> dict:
        spec = self._contract(symbol, "fetch_funding_rate")
        now = self.clock.now_ms()
        mark = self._mark(symbol)
        spot = f"{spec.base}/{spec.quote}"
        index = self._mark(spot) if spot in self.specs else mark
        rate = self._funding_rate(symbol)
        prev = self._last_funding.get(symbol)
        nxt = self._next_funding_ms
        hours = self.sim_config.funding_interval_h
        return {
            "info": {"symbol": spec.id}, "symbol": symbol, "markPrice": mark, "indexPrice": index,
            "interestRate": 0.0001, "estimatedSettlePrice": None, "timestamp": now, "datetime": iso8601(now),
            "fundingRate": rate, "fundingTimestamp": nxt, "fundingDatetime": iso8601(nxt),
            "nextFundingRate": None, "nextFundingTimestamp": None, "nextFundingDatetime": None,
            "previousFundingRate": prev[0] if prev else None,
            "previousFundingTimestamp": prev[1] if prev else None,
            "previousFundingDatetime": iso8601(prev[1]) if prev else None,
            "interval": f"{hours}h",
        }
