"""Readable numbers for the pages: money with its currency, prices and amounts in the market's decimals, bps, one
time format (``2026-12-01 19:06:25 UTC``). Built on :mod:`engine.formats` (also used by the service and the CSV)."""

from __future__ import annotations

from datetime import UTC, datetime

from engine.formats import amount, fixed, price  # noqa: F401 - re-exported for pages

ZERO = 0.005  # a money figure under half a cent shows as 0.00, grey, unsigned


def money(x: float | None, ccy: str = "USDT", signed: bool = False) -> str:
    if x is None:
        return "—"
    decimals = 2 if abs(x) >= 1 or abs(x) < ZERO else 4
    unit = f" {ccy}" if ccy else ""  # metrics name the currency in their label, so the number fits
    return fixed(x, decimals, signed=signed) + unit


def bps(x: float | None) -> str:
    return "—" if x is None else f"{x:,.1f} bps"


def pct(x: float | None) -> str:
    return "—" if x is None else fixed(x, 2, signed=True) + "%"


def duration(seconds: float | None) -> str:
    """``45 s``, ``12 min 05 s``, ``3 h 07 min``, ``2 d 04 h``."""
    if seconds is None:
        return "—"
    s = int(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    if s < 86_400:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 86_400} d {s % 86_400 // 3600:02d} h"


def utc(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pnl_color(x: float | None) -> str:
    """A markdown color tag for a PnL figure: green gains, red losses, grey for what rounds to zero."""
    if x is None or abs(x) < ZERO:
        return "gray"
    return "green" if x > 0 else "red"
