"""Readable numbers: money with its currency and sensible decimals, bps, times with their zone."""

from __future__ import annotations

from datetime import UTC, datetime


def money(x: float | None, ccy: str = "USDT", signed: bool = False) -> str:
    if x is None:
        return "—"
    decimals = 2 if abs(x) >= 1 or x == 0 else 4
    unit = f" {ccy}" if ccy else ""  # metrics name the currency in their label, so the number fits
    return f"{x:+,.{decimals}f}{unit}" if signed else f"{x:,.{decimals}f}{unit}"


def price(x: float | None) -> str:
    if x is None:
        return "—"
    decimals = 2 if x >= 100 else 4 if x >= 1 else 6
    return f"{x:,.{decimals}f}"


def bps(x: float | None) -> str:
    return "—" if x is None else f"{x:,.1f} bps"


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x:+.2f}%"


def utc(ms: int | None) -> str:
    if ms is None:
        return "—"
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def pnl_color(x: float | None) -> str:
    """A markdown color tag for a PnL figure: green gains, red losses."""
    if x is None or abs(x) < 1e-12:
        return "gray"
    return "green" if x > 0 else "red"
