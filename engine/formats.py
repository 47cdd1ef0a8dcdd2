"""Numbers as an operator reads them: a market's own decimals (its tick for prices, its lot for amounts), thousands
separators, never an exponent, never ``-0.00``. Pure; the console (``ui/fmt.py``), the service's messages and the
CSV export use these."""

from __future__ import annotations

import math


def decimals_for(step: float | None, default: int = 8) -> int:
    """How many decimals a tick or lot of ``step`` needs (0.01 -> 2, 0.5 -> 1, 1 -> 0); ``default`` without one."""
    if not step or step <= 0 or not math.isfinite(step):
        return default
    text = f"{step:.12f}".rstrip("0")
    return len(text.split(".")[1]) if "." in text else 0


def round_to(x: float | None, step: float | None) -> float | None:
    """``x`` rounded to the decimals of ``step`` (float noise such as 499.91648000000004 goes)."""
    if x is None:
        return None
    return round(x, decimals_for(step, default=10))


def fixed(x: float | None, decimals: int, signed: bool = False) -> str:
    """``x`` with ``decimals`` and thousands separators; a value that rounds to zero shows unsigned (``0.00``)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "—"
    value = round(x, decimals)
    if value == 0:
        value = 0.0  # never "-0.00"
        return f"{value:,.{decimals}f}"
    return f"{value:+,.{decimals}f}" if signed else f"{value:,.{decimals}f}"


def amount(x: float | None, lot: float | None = None) -> str:
    """An amount in the market's lot decimals (``0.00004``, ``1,250``); without a lot, up to 8 decimals, trimmed."""
    if lot:
        return fixed(x, decimals_for(lot))
    text = fixed(x, 8)
    return text.rstrip("0").rstrip(".") if "." in text else text


def price(x: float | None, tick: float | None = None) -> str:
    """A price in the market's tick decimals (``64,659.65``); without a tick, decimals by size."""
    if x is None:
        return "—"
    if tick:
        return fixed(x, decimals_for(tick))
    return fixed(x, 2 if abs(x) >= 100 else 4 if abs(x) >= 1 else 6)
