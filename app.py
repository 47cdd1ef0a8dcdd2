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
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st

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


app = st.App("console.py", lifespan=lifespan)
