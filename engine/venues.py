"""The composition root's venues: a simulated exchange or a ccxt one, as the config names it, and its request budget.

:class:`engine.runtime.Engine` builds every venue here; :func:`engine.registry.ensure_engine` builds the Engine (the
console's server and its script both call it); ``python -m engine`` builds one from the same config."""

from __future__ import annotations

import zlib
from pathlib import Path

import ccxt

from engine.clock import Clock
from engine.config import PROJECT_ROOT, AppConfig
from engine.exchanges import create_exchange


def build_exchange(config: AppConfig, clock: Clock | None = None, name: str | None = None) -> ccxt.Exchange:
    """A venue the config names: a simulated exchange ("sim", "sim-b", ...: each its own paper account and market)
    or a ccxt exchange."""
    name = name or config.engine.exchange
    if name == "sim" or name.startswith("sim-"):
        sim = dict(config.sim)
        if sim.get("state_path"):
            path = Path(sim["state_path"])
            path = path if path.is_absolute() else PROJECT_ROOT / path
            if name != "sim":
                path = path.with_name(f"{path.stem}-{name}{path.suffix}")
            sim["state_path"] = str(path)
        if name != "sim":
            sim["seed"] = sim.get("seed", 7) + zlib.crc32(name.encode()) % 1000
        source = sim.get("source")
        if isinstance(source, dict) and source.get("type") == "live" and "symbols" not in source:
            # Paper trading on live data streams the symbols this venue trades, unless the source names its own.
            sim["source"] = {**source, "symbols": config.active_symbols(name)}
        return create_exchange("sim", sim, clock=clock)
    conn = config.connection(name)
    return create_exchange(name, {"market_type": conn.market, "credentials": config.credentials.get(name),
                                  "sandbox": conn.sandbox, "api_url": conn.api_url or None})


def request_budget(config: AppConfig, name: str) -> int | None:
    """Requests per minute the engine may send to ``name``: the connection's ``requests_per_min``, else the
    exchange's published limit (seed 003: Binance 1200, KuCoin 600, OKX 600, ...); None for simulated venues."""
    from engine.exchanges.factory import ALIASES, SUPPORTED

    configured = config.connection(name).requests_per_min if name in config.connections else 0
    if configured:
        return configured
    key = ALIASES.get(name, name)
    return SUPPORTED[key].requests_per_min if key in SUPPORTED else None
