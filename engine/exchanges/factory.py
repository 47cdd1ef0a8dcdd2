"""Real exchanges through ccxt: the supported list, spot or perpetual, credentials, sandbox, an API URL override,
and the connect sequence (markets, position mode, margin mode, leverage) with a report of what failed and why.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ccxt

from engine.config import Credentials

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Venue:
    """How the console names an exchange, and what ccxt calls it for spot and for perpetual futures."""

    name: str
    spot: str | None
    swap: str | None
    requests_per_min: int
    swap_default_type: bool = False  # one ccxt class for both: options.defaultType = "swap"


SUPPORTED: dict[str, Venue] = {v.name: v for v in (  # seed 000 "Exchange Factory Pattern"; budgets from seed 003
    Venue("binance", "binance", "binanceusdm", 1200),
    Venue("kucoin", "kucoin", "kucoinfutures", 600),
    Venue("okx", "okx", "okx", 600, swap_default_type=True),
    Venue("bybit", "bybit", "bybit", 600, swap_default_type=True),
    Venue("gate", "gate", "gate", 600, swap_default_type=True),
    Venue("htx", "htx", "htx", 600, swap_default_type=True),
    Venue("kraken", "kraken", "krakenfutures", 600),
    Venue("coinbase", "coinbase", None, 600),
    Venue("bitfinex", "bitfinex", "bitfinex", 600, swap_default_type=True),
)}
# Connect-time requests a market maker does not need: Binance's currency and margin-pair lists (signed, weight 10+)
# and the markets of account types the connection does not trade.
CCXT_OPTIONS: dict[str, dict[str, Any]] = {
    "binance": {"fetchCurrencies": False, "fetchMargins": False, "fetchMarkets": {"types": ["spot"]}},
    "binanceusdm": {"fetchCurrencies": False},
}
ALIASES = {"huobi": "htx", "gateio": "gate", "binanceusdm": "binance", "kucoinfutures": "kucoin"}
DEFUNCT = {"ftx": "FTX went bankrupt in November 2022 and its API no longer exists; choose another exchange "
                  "(binance, kucoin, okx, bybit, gate, htx, kraken, coinbase, bitfinex)"}


class ExchangeConfigError(ValueError):
    """The exchange settings cannot work; the message says which and why."""


def venue(name: str) -> Venue:
    key = ALIASES.get(name.lower(), name.lower())
    if key in DEFUNCT:
        raise ExchangeConfigError(f"{name}: {DEFUNCT[key]}")
    if key not in SUPPORTED:
        raise ExchangeConfigError(f"{name!r} is not supported; use one of {', '.join(SUPPORTED)}")
    return SUPPORTED[key]


def build_ccxt(name: str, market_type: str = "spot", credentials: Credentials | None = None, sandbox: bool = False,
               api_url: str | None = None, timeout_ms: int = 10_000) -> ccxt.Exchange:
    """A ccxt exchange for ``name`` and ``market_type`` ("spot" or "swap"), rate-limited, with credentials."""
    v = venue(name)
    if market_type not in ("spot", "swap"):
        raise ExchangeConfigError(f"{name}: market type {market_type!r} must be 'spot' or 'swap'")
    ccxt_id = v.spot if market_type == "spot" else v.swap
    if ccxt_id is None:
        raise ExchangeConfigError(f"{name} has no perpetual futures through ccxt; trade its spot markets instead")
    options: dict[str, Any] = {"enableRateLimit": True, "timeout": timeout_ms}
    if credentials and credentials.configured:
        options["apiKey"] = credentials.api_key.reveal()
        options["secret"] = credentials.api_secret.reveal()
        if credentials.passphrase:
            options["password"] = credentials.passphrase.reveal()
    extra: dict[str, Any] = dict(CCXT_OPTIONS.get(ccxt_id, {}))
    if market_type == "swap" and v.swap_default_type:
        extra["defaultType"] = "swap"
    if extra:
        options["options"] = extra
    exchange = getattr(ccxt, ccxt_id)(options)
    if sandbox:
        if not exchange.urls.get("test"):
            raise ExchangeConfigError(f"{name} ({ccxt_id}) has no sandbox/testnet in ccxt; test with a small live "
                                      "account or the simulated exchange")
        exchange.set_sandbox_mode(True)
    if api_url:
        override_urls(exchange, api_url)
        exchange.options["consoleApiUrl"] = api_url  # the websocket twin (engine.feed.watcher_for) follows it
        if hasattr(exchange, "get_exceptions_by_url"):
            _errors_by_path(exchange)
    return exchange


def _errors_by_path(exchange: ccxt.Exchange) -> None:
    """ccxt's Binance classes pick their per-market error codes (spot, USD-M, COIN-M) by the official host name
    (``https://fapi.binance.com/``), which a gateway URL does not have: there, the API path decides instead, so an
    error such as ``-5022`` (post-only would take) keeps its meaning behind a gateway."""
    by_host = exchange.get_exceptions_by_url

    def by_path(url: str | None, exact_or_broad: str) -> dict:
        found = by_host(url, exact_or_broad)
        if found or url is None:
            return found
        path = urlsplit(url).path
        kind = ("linear" if path.startswith("/fapi/") else "inverse" if path.startswith("/dapi/")
                else "spot" if path.startswith(("/api/", "/sapi/")) else None)
        return (exchange.exceptions.get(kind) or {}).get(exact_or_broad, {}) if kind else {}

    exchange.get_exceptions_by_url = by_path


def override_urls(exchange: ccxt.Exchange, api_url: str) -> None:
    """Point every API base URL at ``api_url`` (scheme and host), keeping each one's path; websocket URLs go to
    the same host (``ws://`` for an ``http://`` override, ``wss://`` for ``https://``) under the first label of
    their own host (``wss://stream.binance.com:9443/ws`` -> ``ws://gateway/stream/ws``, ``fstream`` for USD-M), so
    streams of different hosts stay apart on one gateway and a client that tells them by host still can."""
    target = urlsplit(api_url)
    if not target.scheme or not target.netloc:
        raise ExchangeConfigError(f"API URL {api_url!r} must look like https://host[:port]")
    ws_scheme = "wss" if target.scheme == "https" else "ws"

    def rewrite(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            parts = urlsplit(value)
            return f"{target.scheme}://{target.netloc}{parts.path}"
        if isinstance(value, str) and value.startswith(("ws://", "wss://")):
            parts = urlsplit(value)
            return f"{ws_scheme}://{target.netloc}/{(parts.hostname or 'ws').split('.')[0]}{parts.path}"
        if isinstance(value, dict):
            return {k: rewrite(v) for k, v in value.items()}
        return value

    exchange.urls["api"] = rewrite(exchange.urls["api"])


ALREADY_SET = ("No need to change", "already", "not modified")  # Binance -4046/-4059, OKX/Bybit wording


def _already_set(exc: BaseException) -> bool:
    return isinstance(exc, ccxt.MarginModeAlreadySet) or any(m in str(exc) for m in ALREADY_SET)


@dataclass(frozen=True)
class Step:
    step: str
    ok: bool
    message: str


def prepare(exchange: ccxt.Exchange, leverage: dict[str, int], margin_mode: str = "isolated",
            hedge: bool = False) -> list[Step]:
    """The connect sequence: load markets, then for each perpetual: position mode, margin mode, leverage.

    Nothing here raises: each step's outcome is reported (and logged), so the operator sees what failed and why.
    """
    steps: list[Step] = []

    def attempt(step: str, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
            steps.append(Step(step, True, "ok"))
        except (ccxt.NotSupported, AttributeError):
            steps.append(Step(step, True, "not supported by this exchange (skipped)"))
        except ccxt.BaseError as exc:
            if _already_set(exc):  # the account is already as asked: not a failure
                steps.append(Step(step, True, "already set"))
                return
            steps.append(Step(step, False, f"{type(exc).__name__}: {exc}"))
            log.warning("%s: %s failed: %s", exchange.id, step, exc)

    attempt("load markets", exchange.load_markets)
    if not steps[-1].ok:
        return steps
    perps = [s for s in leverage if exchange.markets.get(s, {}).get("contract")]
    missing = [s for s in leverage if s not in exchange.markets]
    for s in missing:
        steps.append(Step(f"symbol {s}", False, f"{exchange.id} does not list {s}"))
    if perps and exchange.has.get("setPositionMode"):
        attempt(f"position mode {'hedge' if hedge else 'one-way'}", exchange.set_position_mode, hedge)
    for s in perps:
        if exchange.has.get("setMarginMode"):
            attempt(f"{s} margin mode {margin_mode}", exchange.set_margin_mode, margin_mode, s)
        if exchange.has.get("setLeverage"):
            attempt(f"{s} leverage {leverage[s]}x", exchange.set_leverage, leverage[s], s)
    return steps
