"""The console's server: ``streamlit run app.py``.

At server boot, before any browser connects, the lifespan loads the configuration, starts the process's one engine
(``engine.autostart``) and prints the console password if none is configured; at shutdown (Ctrl-C, SIGTERM) it stops
the engine, which cancels its orders. The pages are in ``console.py`` and ``pages/``. Binds to 127.0.0.1
(``.streamlit/config.toml``). ``MM_CONFIG_DIR`` picks another config directory (default ./config);
``MM_CONSOLE_PASSWORD`` (or ``console_password`` in .streamlit/secrets.toml) sets the password.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st
from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from ui.sessions import LOGOUT_PATH, SESSION_PATH

log = logging.getLogger("console")


@asynccontextmanager
async def lifespan(app: st.App) -> AsyncIterator[dict]:
    from engine.config import ConfigError
    from engine.logs import setup_logging
    from engine.registry import ensure_engine, stop_all_engines
    from ui.guard import console_password

    console_password()  # generated and printed now if none is configured
    try:
        engine = ensure_engine(os.environ.get("MM_CONFIG_DIR") or None)
        setup_logging(engine.config, console=True)
        log.info("console up: engine %s on %s", engine.state, engine.trader.name)
    except ConfigError as exc:  # the pages show it too; the server still starts so the operator can read it
        print(f"configuration error: {exc}", file=sys.stderr, flush=True)
    except Exception as exc:  # noqa: BLE001 - one line naming the problem and the fix; the pages show it too
        from engine.problems import explain

        print(f"error: {explain(exc)}", file=sys.stderr, flush=True)
    try:
        yield {}
    finally:
        stop_all_engines()


async def session_route(request: Request) -> RedirectResponse:
    """Trade a one-time login grant for the session cookie, then go back to the page that was asked for."""
    from ui.guard import sessions
    from ui.sessions import COOKIE, safe_next

    signer = sessions()
    response = RedirectResponse(safe_next(request.query_params.get("next")), status_code=303)
    if signer.redeem(request.query_params.get("grant"), time.time()):
        response.set_cookie(COOKIE, signer.issue(time.time()), max_age=int(signer.ttl_s), httponly=True,
                            samesite="strict", path="/")
    return response


async def logout_route(request: Request) -> RedirectResponse:
    """End this browser's session: the cookie goes, the next page asks for the password."""
    from ui.sessions import COOKIE

    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/")
    return response


app = st.App("console.py", lifespan=lifespan, routes=[
    Route(SESSION_PATH, session_route, methods=["GET"]), Route(LOGOUT_PATH, logout_route, methods=["GET"])])
