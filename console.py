"""The console's script: a password gate, then the pages over the process's one market-making engine.

Served by ``app.py`` (``streamlit run app.py``), whose lifespan starts the engine at server boot.
"""

from __future__ import annotations

import streamlit as st

from ui.guard import guard
from ui.nav import navigation, page_config
from ui.sidebar import sidebar

page_config()

engine = guard()  # the login gate first; after a login the browser comes back to the page it asked for (ui/guard.py)
nav = navigation()
sidebar(engine)
st.session_state["_shell_drawn"] = True
nav.run()
