"""The top of every page: login, engine, sidebar (when app.py did not draw it), title, last command's result."""

from __future__ import annotations

from collections.abc import Callable

import streamlit as st

from engine.config import ConfigError
from engine.runtime import Engine
from ui.guard import guard
from ui.nav import page_config
from ui.sidebar import flash, sidebar


def page(title: str) -> Engine:
    shell = st.session_state.pop("_shell_drawn", False)
    if not shell:  # a deep link ran this page file on its own, without console.py
        page_config()
    engine = guard()
    if not shell:
        sidebar(engine)
    st.title(title)
    flash()
    return engine


def save_setting(apply: Callable[[], None], done: str) -> None:
    """Run a settings change (validated and saved by ``apply``); show ``done`` or why it was not saved; rerun."""
    try:
        apply()
        st.session_state.flash = ("success", done)
    except ConfigError as exc:
        st.session_state.flash = ("error", f"Not saved: {exc}")
    st.rerun()
