"""Every page starts with :func:`guard`: the login gate, then the process's one engine.

A deep link such as ``/positions`` runs a page file without ``app.py``, so each page guards itself.
The password comes from ``MM_CONSOLE_PASSWORD`` or ``console_password`` in ``.streamlit/secrets.toml``, compared in
constant time. With none configured, a random one is generated once per process and printed in the terminal
(never a known default). Failed attempts are throttled per client address and across the process
(``ui/login_throttle.py``): one attempt at a time per address, a doubling wait, a lockout, and a global limit that
never holds back an address without failures.
"""

from __future__ import annotations

import atexit
import hmac
import os
import secrets
import sys
import threading
import time
import types

import streamlit as st

from engine.config import ConfigError
from engine.registry import ensure_engine, stop_all_engines
from engine.runtime import Engine
from ui.login_throttle import LoginThrottle


def _registry() -> types.ModuleType:
    """Process-wide login state that no rerun, cache clear or reload resets."""
    mod = sys.modules.get("_mm_console_login")
    if mod is None:
        mod = types.ModuleType("_mm_console_login")
        mod.generated = None
        mod.throttle = LoginThrottle()
        mod.lock = threading.Lock()
        sys.modules["_mm_console_login"] = mod
    if not hasattr(mod, "throttle"):  # a registry from before a reload
        mod.throttle = LoginThrottle()
    return mod


def console_password() -> str:
    configured = os.environ.get("MM_CONSOLE_PASSWORD")
    if not configured:
        try:
            configured = st.secrets.get("console_password")
        except Exception:  # no secrets.toml: that is allowed
            configured = None
    if configured:
        return str(configured)
    reg = _registry()
    with reg.lock:
        if reg.generated is None:
            reg.generated = secrets.token_urlsafe(12)
            print(f"\n  Console password (none configured; set MM_CONSOLE_PASSWORD or console_password in "
                  f".streamlit/secrets.toml): {reg.generated}\n", file=sys.stderr, flush=True)
        return reg.generated


def require_login() -> None:
    """Show the login form and stop the page unless this browser session has logged in."""
    if st.session_state.get("authenticated"):
        return
    expected = console_password()
    st.title("Market maker console")
    with st.form("login"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        throttle = _registry().throttle
        address = _client_address()
        verdict = throttle.begin(address, time.monotonic())
        if not verdict.allowed:
            st.error(f"Not checked: {verdict.reason}. Try again in {max(1, round(verdict.wait_s))} s.")
        else:
            ok = hmac.compare_digest(given.encode(), expected.encode())
            throttle.end(address, ok, time.monotonic())
            if ok:
                st.session_state.authenticated = True
                st.rerun()
            st.error("Wrong password. Each failed attempt from your address makes the next one wait longer.")
    st.caption("The password is MM_CONSOLE_PASSWORD, or console_password in .streamlit/secrets.toml; without either, "
               "the terminal that started the console printed one.")
    st.stop()


def _client_address() -> str:
    """The browser's address (Streamlit gives none for a local connection)."""
    try:
        return st.context.ip_address or "local"
    except Exception:  # noqa: BLE001 - older runtimes, AppTest: one local client
        return "local"


@st.cache_resource
def _engine_lookup(config_dir: str) -> Engine:
    """Only caches the lookup: the one Engine lives in ensure_engine's registry, whatever the cache does."""
    from engine.logs import setup_logging

    engine = ensure_engine(config_dir or None)
    setup_logging(engine.config, console=True)
    atexit.register(stop_all_engines)
    return engine


def get_engine() -> Engine:
    try:
        return _engine_lookup(os.environ.get("MM_CONFIG_DIR", ""))
    except ConfigError as exc:
        st.error(f"The configuration cannot be loaded: {exc}")
        st.stop()
    except Exception as exc:  # noqa: BLE001 - one line naming the problem and the fix, never a traceback
        from engine.problems import explain

        st.error(f"The engine cannot be set up: {explain(exc)}")
        st.stop()


def guard() -> Engine:
    """Login, then the engine: the first line of every page."""
    require_login()
    return get_engine()
