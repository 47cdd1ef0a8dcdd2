"""Venues behind one protocol: ``create_exchange("sim", config)`` or any ccxt exchange id."""

from __future__ import annotations

from typing import Any

import ccxt

from engine.clock import Clock
from engine.exchanges.sim import SimExchange


def create_exchange(
    exchange_id: str = "sim", config: dict[str, Any] | None = None, clock: Clock | None = None
) -> ccxt.Exchange:
    """A ready-to-use venue.

    ``"sim"`` gives the simulated exchange (``config`` as in ``config/config.yaml``'s ``sim`` section;
    ``{}`` or ``None`` for the default synthetic venue). Any other id must be a ccxt exchange id; ``config``
    is then passed to ccxt (credentials, options) with ``enableRateLimit`` on.
    """
    if exchange_id == "sim":
        return SimExchange(config or {}, clock=clock)
    if exchange_id not in ccxt.exchanges:
        raise ValueError(f"unknown exchange id {exchange_id!r}: use 'sim' or one of ccxt's ids (e.g. binance, kucoin)")
    options = {"enableRateLimit": True, **(config or {})}
    return getattr(ccxt, exchange_id)(options)


__all__ = ["create_exchange", "SimExchange"]
