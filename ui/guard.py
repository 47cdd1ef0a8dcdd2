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
import hashlib
import hmac
import json
import os
import secrets
import sys
import threading
import time
import types
from urllib.parse import urlencode, urlparse

import streamlit as st

from engine.config import ConfigError
from engine.registry import ensure_engine, stop_all_engines
from engine.runtime import Engine
from ui.login_throttle import LoginThrottle
from ui.sessions import COOKIE, SESSION_PATH, Sessions, key_file, load_key, safe_next, session_hours


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


def sessions() -> Sessions:
    """The process's session signer (keyed by the secret in ``data/`` and the current password)."""
    reg = _registry()
    password = console_password()
    with reg.lock:
        current = getattr(reg, "sessions", None)
        if current is None or getattr(reg, "sessions_for", None) != hashlib.sha256(password.encode()).digest():
            reg.sessions = Sessions(load_key(key_file()), password, session_hours() * 3600)
            reg.sessions_for = hashlib.sha256(password.encode()).digest()
        return reg.sessions


def logged_in() -> bool:
    """Whether this browser session is logged in: by the form in this session, or by a valid session cookie."""
    if st.session_state.get("authenticated"):
        return True
    try:
        token = st.context.cookies.get(COOKIE)
    except Exception:  # noqa: BLE001 - no request context (AppTest, bare mode): no cookie
        token = None
    if token and sessions().valid(token, time.time()):
        st.session_state.authenticated = True
        return True
    return False


def _hand_over_cookie() -> None:
    """Right after a login: send the browser through the session route once, which sets the cookie and comes back
    to the page that was asked for (a refresh then keeps the login)."""
    grant = st.session_state.pop("cookie_grant", None)
    if grant is None:
        return
    code, target = grant
    url = f"{SESSION_PATH}?{urlencode({'grant': code, 'next': safe_next(target)})}"
    st.html(f"<script>window.location.replace({json.dumps(url)});</script>", unsafe_allow_javascript=True)


def _asked_path() -> str:
    """The page the browser asked for (a deep link such as /positions), to return to after the login."""
    try:
        url = st.context.url or ""
    except Exception:  # noqa: BLE001
        url = ""
    parsed = urlparse(url)
    return parsed.path + (f"?{parsed.query}" if parsed.query else "") if parsed.path else "/"


def require_login() -> None:
    """Show the login form and stop the page unless this browser session has logged in."""
    if logged_in():
        _hand_over_cookie()
        return
    expected = console_password()
    st.title("Market maker console")
    with st.form("login"):
        given = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        throttle = _registry().throttle
        address, client = _client_address(), _client_id()
        verdict = throttle.begin(address, time.monotonic(), client)
        if not verdict.allowed:
            st.error(f"Not checked: {verdict.reason}. Try again in {max(1, round(verdict.wait_s))} s.")
        else:
            ok = hmac.compare_digest(given.encode(), expected.encode())
            throttle.end(address, ok, time.monotonic(), client)
            if ok:
                st.session_state.authenticated = True
                st.session_state.cookie_grant = (sessions().grant(time.time()), _asked_path())
                st.rerun()
            st.error("Wrong password. Each failed attempt from this browser makes its next one wait longer.")
    st.caption("The password is MM_CONSOLE_PASSWORD, or console_password in .streamlit/secrets.toml; without either, "
               "the terminal that started the console printed one (look for 'Console password'). A login lasts "
               f"{session_hours():g} h in this browser, across refreshes.")
    st.stop()


def _client_id() -> str:
    """This browser session (the failed-login delay is per client: another client's typos never slow you)."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        return ctx.session_id if ctx else "local"
    except Exception:  # noqa: BLE001
        return "local"


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
