"""What differs between exchanges behind ccxt's unified API, read off ccxt's own sources (4.5):

- **client order ids**: the form each exchange accepts (OKX: 1-32 letters and digits; Kraken: free text up to
  18 characters; Gate: ``t-`` plus up to 28, which ccxt prepends when missing, so the engine writes it itself and
  the id it stores is the id the exchange gives back);
- **looking an order up by client id**: ccxt maps ``params['clientOrderId']`` to Binance ``origClientOrderId``,
  OKX ``clOrdId``, KuCoin ``clientOid``, Bybit ``orderLinkId`` (``fetch_order`` there needs ``acknowledged``),
  Gate ``text``, HTX ``client-order-id``; Kraken looks up by ``userref`` (an integer) and Coinbase not at all, so
  there the order is found among open and recently closed orders instead;
- **margin mode and leverage per order**: OKX sets an order's margin mode from ``tdMode`` (ccxt: ``marginMode``,
  cross when absent), and ccxt's KuCoin futures orders carry ``leverage: 1`` and the account's margin mode unless
  told otherwise, so on those two each perpetual order names the connection's margin mode (and KuCoin the
  symbol's leverage);
- **hedge mode** (seed 000 "Hedge Mode Support"): the leg an order belongs to: Binance ``positionSide``
  LONG/SHORT (and no ``reduceOnly`` alongside it, Binance refuses that), OKX ``posSide`` long/short, Bybit
  ``positionIdx`` 1/2; KuCoin futures and Gate take ``reduceOnly`` alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import ccxt


@dataclass(frozen=True)
class VenueProfile:
    """One exchange's quirks (ccxt id)."""

    client_id_max: int = 36
    client_id_compact: bool = False  # letters and digits only: no separators
    client_id_head: str = ""  # written before the engine's prefix (Gate: "t-")
    lookup_by_client_id: bool = True  # fetch_order(None, symbol, {"clientOrderId": ...}) works
    fetch_order_params: dict[str, Any] = field(default_factory=dict)
    hedge_param: tuple[str, Any, Any] | None = None  # (name, long leg value, short leg value)
    hedge_drops_reduce_only: bool = False
    trades: bool = True  # the engine can tell its orders from others' here
    order_margin_mode: bool = False  # each perpetual order names its margin mode (else OKX trades cross)
    order_leverage: bool = False  # each perpetual order names its leverage (else KuCoin futures uses 1x)
    # capabilities the engine asks instead of asking which exchange it is
    fills_need_symbol: bool = True  # fetch_my_trades / fetch_open_orders want a symbol (Binance does)
    connect_sequence: bool = True  # markets, position mode, margin mode and leverage are set up at start
    streams_by_default: bool = True  # engine.feed auto streams over websockets here
    in_process_watcher: bool = False  # its streams come from the venue itself (no ccxt.pro twin)
    balance_without_key: bool = False  # the balance (the health check's signed request) needs no API key
    reports_position_mode: bool = False  # the venue says whether it is in hedge mode (else: the connection says)
    book_top_limit: int = 5  # the smallest order-book request every market here takes (the trader reads the top)

    def hedge_params(self, leg: str, reduce_only: bool) -> dict[str, Any]:
        """The params that put an order on ``leg`` ("long" or "short") in hedge mode."""
        out: dict[str, Any] = {}
        if self.hedge_param is not None:
            name, long_value, short_value = self.hedge_param
            out[name] = long_value if leg == "long" else short_value
        if reduce_only and not self.hedge_drops_reduce_only:
            out["reduceOnly"] = True
        return out


PROFILES: dict[str, VenueProfile] = {
    "sim": VenueProfile(hedge_param=("positionSide", "long", "short"), fills_need_symbol=False,
                        connect_sequence=False, streams_by_default=False, in_process_watcher=True,
                        balance_without_key=True, reports_position_mode=True, book_top_limit=1),
    "binance": VenueProfile(),
    "binanceusdm": VenueProfile(hedge_param=("positionSide", "LONG", "SHORT"), hedge_drops_reduce_only=True),
    "kucoin": VenueProfile(client_id_max=40),
    "kucoinfutures": VenueProfile(client_id_max=40, order_margin_mode=True, order_leverage=True),
    "okx": VenueProfile(client_id_max=32, client_id_compact=True, hedge_param=("posSide", "long", "short"),
                        hedge_drops_reduce_only=True, order_margin_mode=True),
    "bybit": VenueProfile(fetch_order_params={"acknowledged": True}, hedge_param=("positionIdx", 1, 2)),
    "gate": VenueProfile(client_id_max=30, client_id_head="t-"),
    "htx": VenueProfile(client_id_max=64),
    "kraken": VenueProfile(client_id_max=18, client_id_compact=True, lookup_by_client_id=False),
    "krakenfutures": VenueProfile(client_id_max=100, lookup_by_client_id=False),
    "coinbase": VenueProfile(client_id_max=64, lookup_by_client_id=False),
    "bitfinex": VenueProfile(trades=False),  # client ids are integers there: the engine's prefix cannot mark them
}
REFUSED = {"bitfinex": "Bitfinex takes only integer client order ids, so the engine could not tell its orders from "
                       "yours (reconciliation would cancel or adopt them); quote another exchange. Market data and "
                       "the connection test still work."}


def profile_for(exchange_id: str) -> VenueProfile:
    """The profile of a ccxt exchange id; unknown ids get the common case (36 characters, lookup by client id)."""
    return PROFILES.get(exchange_id, VenueProfile())


def find_order(exchange: ccxt.Exchange, symbol: str, client_id: str, since_ms: int | None = None) -> dict:
    """The order with ``client_id``, by the exchange's own lookup where it has one, else among its open orders and
    its closed orders since ``since_ms``. Raises ``ccxt.OrderNotFound`` when it is in neither."""
    prof = profile_for(exchange.id)
    if prof.lookup_by_client_id:
        return exchange.fetch_order(None, symbol, {"clientOrderId": client_id, **prof.fetch_order_params})
    candidates = list(exchange.fetch_open_orders(symbol))
    if not any(o.get("clientOrderId") == client_id for o in candidates) and exchange.has.get("fetchClosedOrders"):
        candidates += exchange.fetch_closed_orders(symbol, since_ms)
    for order in candidates:
        if order.get("clientOrderId") == client_id:
            return order
    raise ccxt.OrderNotFound(f"{exchange.id}: no order with client id {client_id} among open and recent orders")
