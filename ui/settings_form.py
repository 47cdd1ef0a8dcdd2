"""A settings section: text fields read by :mod:`ui.numbers` (decimal commas, ambiguity refused), each with its
bound stated beside it, on/off switches, then **Review** (the values as they will be applied, what changes) and
**Apply** (saved and applied). Switching a protection off needs a confirmation.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import streamlit as st

from engine.config import ConfigError
from engine.config.bounds import Bound
from ui.numbers import check, plain


@dataclass(frozen=True)
class NumberField:
    """One number: where it is saved (``path``, dotted), its current stored value and its bound (stored units)."""

    label: str
    path: str
    current: float
    bound: Bound
    scale: float = 1.0  # shown = stored x scale (a share shown in %)
    whole: bool = False
    unit: str = ""  # what the shown number is in, when the label does not say


@dataclass(frozen=True)
class Switch:
    """An on/off setting; ``warn_off`` is what switching it off means (asks for a confirmation)."""

    label: str
    path: str
    current: bool
    warn_off: str = ""


@dataclass
class Review:
    """What Review found: the changes to save (nested), one line each, and the errors (nothing is saved then)."""

    changes: dict = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dangers: list[str] = field(default_factory=list)


def _put(tree: dict, path: str, value: object) -> None:
    *head, last = path.split(".")
    for part in head:
        tree = tree.setdefault(part, {})
    tree[last] = value


def review(fields: list[NumberField], texts: dict[str, str], switches: list[Switch] = (),
           states: dict[str, bool] | None = None) -> Review:
    """Pure: the typed ``texts`` (by path) and switch ``states`` against the current values."""
    out = Review()
    for f in fields:
        p = check(f.label, texts.get(f.path, ""), f.bound, f.scale, f.whole)
        if p.error:
            out.errors.append(p.error)
            continue
        if abs(p.value - f.current) > 1e-12 * max(1.0, abs(f.current)):
            note = f" ({p.note})" if p.note else ""
            out.lines.append(f"{f.label}: {plain(f.current * f.scale)} → {plain(p.value * f.scale)}{note}")
            _put(out.changes, f.path, p.value)
    for s in switches:
        on = (states or {}).get(s.path, s.current)
        if on != s.current:
            out.lines.append(f"{s.label}: {'off → on' if on else 'on → off'}")
            _put(out.changes, s.path, on)
            if not on and s.warn_off:
                out.dangers.append(f"{s.label} off: {s.warn_off}")
    return out


def settings_section(name: str, fields: list[NumberField], apply: Callable[[dict, list[str]], str],
                     switches: list[Switch] = (), columns: int = 3) -> None:
    """Draw the section. ``apply(changes, lines)`` saves and applies, returning what was done (raises ConfigError)."""
    cols = st.columns(columns)
    texts = {}
    for i, f in enumerate(fields):
        col = cols[i % columns]
        texts[f.path] = col.text_input(f.label, value=plain(f.current * f.scale), key=f"{name}:{f.path}")
        col.caption(f"Allowed: {f.bound.scaled(f.scale, f.unit or None).describe()}")
    states = {}
    if switches:
        cols = st.columns(min(len(switches), 5))
        for i, s in enumerate(switches):
            states[s.path] = cols[i % len(cols)].toggle(s.label, value=s.current, key=f"{name}:{s.path}")
    pending_key = f"{name}:review"
    if st.button("Review changes", key=f"{name}:review_btn"):
        st.session_state[pending_key] = review(fields, texts, switches, states)
    found: Review | None = st.session_state.get(pending_key)
    if found is None:
        return
    for e in found.errors:
        st.error(f"Not saved: {e}")
    if found.errors:
        return
    if not found.lines:
        st.info("Nothing changed: every value is as it is now.")
        return
    st.markdown("**Will be applied:**\n" + "\n".join(f"- {line}" for line in found.lines))
    confirmed = True
    if found.dangers:
        for d in found.dangers:
            st.warning(d)
        confirmed = st.checkbox("I understand: switch these protections off", key=f"{name}:confirm")
    if st.button("Apply", key=f"{name}:apply", type="primary", disabled=not confirmed):
        try:
            done = apply(found.changes, found.lines)
        except ConfigError as exc:
            st.error(f"Not saved: {exc}")
            return
        st.session_state.pop(pending_key, None)
        for f in fields:  # the fields show the saved values from now on
            st.session_state.pop(f"{name}:{f.path}", None)
        st.session_state.flash = ("success", done)
        st.rerun()
