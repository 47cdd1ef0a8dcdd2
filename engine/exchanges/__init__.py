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
    ``{}`` or ``None`` for the default synthetic venue). Any other id is a real exchange built by
    :func:`engine.exchanges.factory.build_ccxt`, the one place real exchanges are made (``config`` holds its
    arguments: ``market_type``, ``credentials``, ``sandbox``, ``api_url``). The engine itself builds the venues its
    config names through :func:`engine.venues.build_exchange`, which calls this.
    """
    if exchange_id == "sim":
        return SimExchange(config or {}, clock=clock)
    from engine.exchanges.factory import build_ccxt

    return build_ccxt(exchange_id, **(config or {}))


__all__ = ["create_exchange", "SimExchange"]
