"""A strategy's params as form fields (inside an ``st.form``): numbers typed as text and read by
:func:`ui.numbers.parse_number` ("1,5" is 1.5, "abc" is named), whole numbers where the default is one, switches for
flags. The Strategies page and the Backtest lab use the same fields, so a value refused live is refused in the lab."""

from __future__ import annotations

from typing import Any

import streamlit as st

from ui.numbers import parse_number, plain


def params_fields(defaults: dict[str, Any], current: dict[str, Any],
                  key: str = "") -> tuple[dict[str, Any], list[str]]:
    """Draw one field per param; returns (the values read, the problems found: one line each)."""
    values: dict[str, Any] = {}
    problems: list[str] = []
    for name, default in defaults.items():
        value = current.get(name, default)
        if isinstance(default, bool):
            values[name] = st.checkbox(name, value=bool(value), key=f"{key}{name}" if key else None)
        elif isinstance(default, (int, float)):
            text = st.text_input(name, value=plain(float(value)), key=f"{key}{name}" if key else None)
            parsed = parse_number(text)
            if parsed.error:
                problems.append(f"{name}: {parsed.error}")
            elif isinstance(default, int) and not float(parsed.value).is_integer():
                problems.append(f"{name} = {plain(parsed.value)}: must be a whole number")
            else:
                values[name] = int(parsed.value) if isinstance(default, int) else parsed.value
        else:
            values[name] = st.text_input(name, value=str(value), key=f"{key}{name}" if key else None)
    return values, problems


def shown(values: dict[str, Any]) -> str:
    """``spread_bps=6, levels=3`` (floats without trailing zeros)."""
    return ", ".join(f"{k}={plain(v) if isinstance(v, float) else v}" for k, v in values.items())
