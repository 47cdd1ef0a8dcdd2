"""Numbers typed into the console's forms: read as the operator meant them, or refused with the reason.

Rules (pure; unit-tested):

- ``1.5``, ``-2``, ``1,000`` -> 1000 only as thousands (with a dot after: ``1,000.5``), ``1 000`` likewise;
- a single comma with one, two or four-plus digits after it is a decimal comma: ``1,5`` -> 1.5 (said so);
- ``1,500`` (one comma, three digits after, no dot) is ambiguous, 1.5 or 1500: refused, asking for ``1.5`` or
  ``1500``; ``1.500,5`` and ``1.000.000`` likewise;
- exponents (``1e12``), words (``abc``), ``inf``, ``nan`` and empty text are refused with a message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from engine.config.bounds import Bound

_GROUPED = re.compile(r"^\d{1,3}(,\d{3})+(\.\d+)?$")  # 1,000 / 1,000,000.25
_SPACED = re.compile(r"^\d{1,3}( \d{3})+([.,]\d+)?$")  # 1 000 / 1 000,5
_PLAIN = re.compile(r"^(\d+\.?\d*|\.\d+)$")
_DECIMAL_COMMA = re.compile(r"^(\d*),(\d+)$")


@dataclass(frozen=True)
class Parsed:
    """What a typed text means: ``value``, or ``error``; ``note`` says how an unusual form was read."""

    value: float | None = None
    error: str | None = None
    note: str = ""


def parse_number(text: str) -> Parsed:
    """Read ``text`` as a number (see the module docstring)."""
    raw = (text or "").strip()
    if not raw:
        return Parsed(error="is empty: type a number")
    sign = -1.0 if raw.startswith("-") else 1.0
    body = raw.lstrip("+-").strip()
    if re.fullmatch(r"[\d.,]+[eE][+-]?\d+", body):
        return Parsed(error=f"{raw!r}: write the number in full, without an exponent")
    if _PLAIN.match(body):
        return Parsed(sign * float(body))
    if _GROUPED.match(body):
        if "." not in body and body.count(",") == 1:
            whole, frac = body.split(",")
            return Parsed(error=f"{raw!r} is ambiguous: write {plain(sign * float(whole + '.' + frac))} for a "
                                f"decimal or {plain(sign * float(whole + frac))} for a whole number")
        value = sign * float(body.replace(",", ""))
        return Parsed(value, note=f"read {raw!r} as {plain(value)}")
    if _SPACED.match(body):
        value = sign * float(body.replace(" ", "").replace(",", "."))
        return Parsed(value, note=f"read {raw!r} as {plain(value)}")
    m = _DECIMAL_COMMA.match(body)
    if m:
        value = sign * float(f"{m.group(1) or '0'}.{m.group(2)}")
        return Parsed(value, note=f"read the comma in {raw!r} as a decimal point: {plain(value)}")
    if re.fullmatch(r"[\d.,]+", body):
        return Parsed(error=f"{raw!r} is ambiguous: write it with one dot for decimals and no other separator "
                            "(e.g. 1500.5)")
    return Parsed(error=f"{raw!r} is not a number")


def check(label: str, text: str, bound: Bound, scale: float = 1.0, whole: bool = False) -> Parsed:
    """Parse a form field and hold it to ``bound`` (given in stored units; the field shows ``stored x scale``).

    The value returned is in stored units; errors name the field: ``Drawdown (bps) = 1e12: must be at most 2,000``.
    """
    p = parse_number(text)
    if p.error:
        return Parsed(error=f"{label}: {p.error}")
    shown = p.value
    if whole and not float(shown).is_integer():
        return Parsed(error=f"{label} = {plain(shown)}: must be a whole number")
    problem = bound.scaled(scale).problem(shown)
    if problem:
        return Parsed(error=f"{label} = {plain(shown)}: {problem}")
    value = shown / scale
    return Parsed(int(value) if whole else value, note=p.note)


def plain(x: float) -> str:
    """A number as a person writes it: no exponent, no float noise (``1.5``, ``1500``, ``0.0001``)."""
    text = f"{x:.10f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"
