"""The top of every page: login, engine, sidebar (when app.py did not draw it), title, last command's result."""

from __future__ import annotations

import streamlit as st

from engine.runtime import Engine
from ui.guard import guard
from ui.sidebar import flash, sidebar


def page(title: str) -> Engine:
    engine = guard()
    if not st.session_state.pop("_shell_drawn", False):  # a deep link ran this page without app.py
        sidebar(engine)
    st.title(title)
    flash()
    return engine
