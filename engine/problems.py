"""What went wrong, in one line an operator can act on: the thing that failed and how to fix it.

The command line and the console turn any exception that stops a start, a command or a page into
:func:`explain`'s line instead of a traceback. Configured secrets never appear in it.
"""

from __future__ import annotations

import ccxt

from engine.config import ConfigError, mask_secret


def explain(exc: BaseException, secrets: list[str] | None = None) -> str:
    """One line naming what failed and the fix, secrets masked."""
    return _mask(_explain(exc), secrets or [])


def _explain(exc: BaseException) -> str:
    from engine.exchanges.errors import classify
    from engine.exchanges.factory import ExchangeConfigError
    from engine.store import StoreOpenError, StoreUnavailable, TradingLockError

    text = _first_line(exc)
    if isinstance(exc, ConfigError):
        return f"configuration error: {text}"
    if isinstance(exc, (StoreOpenError, StoreUnavailable, TradingLockError, ExchangeConfigError)):
        return text
    if isinstance(exc, (ccxt.BadSymbol, ccxt.NotSupported)) or type(exc).__name__ == "StateFileError":
        return text
    if isinstance(exc, ccxt.BaseError):
        err = classify(exc)
        if isinstance(exc, ccxt.NetworkError):
            return (f"the exchange cannot be reached ({type(exc).__name__}: {text}); check the network, the "
                    "connection's api_url, or the exchange's status page")
        return f"the exchange refused ({type(exc).__name__}: {text}). {err.advice}"
    if isinstance(exc, PermissionError | IsADirectoryError | NotADirectoryError | FileNotFoundError) or (
            isinstance(exc, OSError) and exc.filename):
        return (f"{exc.filename or 'a file'}: {exc.strerror or text}; check that the path exists and is writable "
                "(data/, its logs folder, the paper account's sim.state_path)")
    if isinstance(exc, OSError) and exc.errno == 28:
        return "the disk is full (No space left on device): free space under data/"
    return f"unexpected {type(exc).__name__}: {text} (see data/logs/engine.jsonl for details)"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:400] if lines else type(exc).__name__


def _mask(text: str, secrets: list[str]) -> str:
    for s in sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(s, mask_secret(s))
    return text
