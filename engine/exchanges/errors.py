"""Exchange errors at the boundary: ccxt's exceptions mapped to a small, documented hierarchy.

::

    ExchangeFailure                 anything an exchange call can end with; ``advice`` says what to do
    ├── TransientError              network, timeout, exchange unavailable, rate limit: retried with backoff + jitter
    ├── AuthError                   bad key, secret or passphrase, missing permission, IP not allowed, account locked
    ├── FundsError                  not enough balance or margin
    ├── OrderRejected               the order itself is invalid (size, price, post-only would cross, duplicate id)
    ├── MarketError                 unknown or closed market
    └── (ExchangeFailure itself)    anything else the exchange refused

Only :class:`TransientError` is retried. :func:`place_order_safely` never duplicates an order: after a transient
failure it looks the order up by its client order id before sending it again.

Where the engine uses them: start-up retries transient failures of the connect sequence, markets, balances and
tickers (:func:`retry_transient`); market orders (closing positions, the kill switch) go through
:func:`place_order_safely`; the cancel sweep of stop, pause and the kill switch backs off with :func:`backoff_s`.
Quotes are not retried on the spot: a quote whose answer is lost stays ``unknown`` and holds its ladder slot until
the trader finds it by client id (``engine/trader.py``), so a cycle never waits on a retry.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from typing import Any, TypeVar

import ccxt

from engine.exchanges.profiles import find_order

log = logging.getLogger(__name__)
T = TypeVar("T")
TRANSIENT = (ccxt.NetworkError,)  # what the trading path treats as passing: RequestTimeout, ExchangeNotAvailable,
# RateLimitExceeded and DDoSProtection are NetworkErrors


class ExchangeFailure(Exception):
    """An exchange call failed; ``cause`` is ccxt's exception, ``advice`` what the operator can do."""

    advice = "The exchange refused the request; see the message."

    def __init__(self, message: str, cause: BaseException | None = None, advice: str | None = None) -> None:
        super().__init__(message)
        self.cause = cause
        if advice:
            self.advice = advice


class TransientError(ExchangeFailure):
    advice = "A passing network or exchange problem: it is retried automatically; if it persists, check connectivity."


class AuthError(ExchangeFailure):
    advice = ("Check the API key, secret and passphrase, the key's permissions (trading enabled) and its IP whitelist; "
              "a sandbox key does not work on the live exchange.")


class FundsError(ExchangeFailure):
    advice = "Not enough balance or margin: add funds, lower order sizes or leverage, or quote fewer levels."


class OrderRejected(ExchangeFailure):
    advice = "The order does not fit the market's rules (size, price step, minimum value, post-only)."


class MarketError(ExchangeFailure):
    advice = "The symbol is unknown or not trading on this exchange: check symbols.<exchange> in the config."


_MAP: tuple[tuple[type[BaseException], type[ExchangeFailure]], ...] = (
    (ccxt.AuthenticationError, AuthError),  # also PermissionDenied, AccountSuspended, AccountNotEnabled
    (ccxt.AccountSuspended, AuthError),
    (ccxt.InsufficientFunds, FundsError),
    (ccxt.BadSymbol, MarketError),
    (ccxt.InvalidOrder, OrderRejected),  # also OrderImmediatelyFillable, DuplicateOrderId, OrderNotFillable
    (ccxt.OrderNotFound, OrderRejected),
    (ccxt.NetworkError, TransientError),  # also RequestTimeout, ExchangeNotAvailable, DDoSProtection, RateLimit
    (ccxt.InvalidNonce, TransientError),
)


def classify(exc: BaseException) -> ExchangeFailure:
    """The hierarchy's error for a ccxt (or other) exception."""
    if isinstance(exc, ExchangeFailure):
        return exc
    for ccxt_cls, ours in _MAP:
        if isinstance(exc, ccxt_cls):
            return ours(f"{type(exc).__name__}: {exc}", exc)
    return ExchangeFailure(f"{type(exc).__name__}: {exc}", exc)


def backoff_s(attempt: int, base_s: float = 0.5, max_s: float = 8.0, jitter: float = 0.5,
              rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: base * 2^attempt, capped, times 1 ± jitter/2."""
    delay = min(max_s, base_s * 2 ** attempt)
    return delay * (1 + jitter * ((rng or random).random() - 0.5))


def retry_transient(fn: Callable[..., T], *args: Any, retries: int = 3, base_s: float = 0.5, max_s: float = 8.0,
                    sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None,
                    **kwargs: Any) -> T:
    """Call ``fn``; retry transient failures (ccxt's ``NetworkError`` family) with backoff and jitter. Any other
    exception, and the last transient one, propagates unchanged (ccxt's own class, for callers that tell them apart).
    Pass the engine's clock's ``sleep`` so simulated runs wait on simulated time."""
    for attempt in range(retries + 1):
        try:
            return fn(*args, **kwargs)
        except (ccxt.NetworkError, ccxt.InvalidNonce) as exc:
            if attempt == retries:
                raise
            delay = backoff_s(attempt, base_s, max_s, rng=rng)
            log.warning("%s failed (%s: %s); retry %d/%d in %.2fs", getattr(fn, "__name__", "call"),
                        type(exc).__name__, str(exc)[:200], attempt + 1, retries, delay)
            sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


def call_with_retry(fn: Callable[..., T], *args: Any, retries: int = 3, base_s: float = 0.5, max_s: float = 8.0,
                    sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None, **kwargs: Any) -> T:
    """:func:`retry_transient`, raising the hierarchy's error when done trying."""
    try:
        return retry_transient(fn, *args, retries=retries, base_s=base_s, max_s=max_s, sleep=sleep, rng=rng, **kwargs)
    except Exception as exc:  # noqa: BLE001 - classified just below
        raise classify(exc) from exc


def place_order_safely(exchange: ccxt.Exchange, symbol: str, order_type: str, side: str, amount: float,
                       price: float | None, params: dict, retries: int = 3, base_s: float = 0.5,
                       sleep: Callable[[float], None] = time.sleep, rng: random.Random | None = None) -> dict:
    """``create_order`` that can be retried without ever placing the order twice.

    ``params['clientOrderId']`` is required. After a transient failure the order is looked up by that id: found,
    it is returned; not found, the same request is sent again (same id, so the exchange refuses a duplicate).
    """
    client_id = params.get("clientOrderId")
    if not client_id:
        raise OrderRejected("place_order_safely needs params['clientOrderId'] (it is what prevents duplicates)")
    for attempt in range(retries + 1):
        try:
            return exchange.create_order(symbol, order_type, side, amount, price, params)
        except ccxt.DuplicateOrderId:
            return find_order(exchange, symbol, client_id)  # an earlier try got through
        except Exception as exc:  # noqa: BLE001 - classified just below
            err = classify(exc)
            if not isinstance(err, TransientError):
                raise err from exc
            try:
                found = _lookup(exchange, symbol, client_id)
            except ccxt.NetworkError as lookup_exc:
                raise TransientError(f"cannot tell whether order {client_id} reached the exchange "
                                     f"({type(lookup_exc).__name__}); reconcile it by client order id before "
                                     "sending it again", lookup_exc) from exc
            if found is not None:
                log.info("order %s was accepted despite %s; not sending it again", client_id, type(exc).__name__)
                return found
            if attempt == retries:
                raise err from exc
            sleep(backoff_s(attempt, base_s, rng=rng))
    raise AssertionError("unreachable")  # pragma: no cover


def _lookup(exchange: ccxt.Exchange, symbol: str, client_id: str) -> dict | None:
    try:
        return find_order(exchange, symbol, client_id)
    except ccxt.OrderNotFound:
        return None
    except ccxt.NetworkError:  # cannot tell yet: look again next round rather than risk a duplicate
        for _ in range(3):
            try:
                return find_order(exchange, symbol, client_id)
            except ccxt.OrderNotFound:
                return None
            except ccxt.NetworkError:
                continue
        raise
