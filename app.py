"""The console: a password gate, then the pages over the process's one market-making engine.

Run: streamlit run app.py   (binds to 127.0.0.1; see .streamlit/config.toml). ``MM_CONFIG_DIR`` picks another
config directory (default ./config); ``MM_CONSOLE_PASSWORD`` (or ``console_password`` in .streamlit/secrets.toml)
sets the password, else one is generated and printed in the terminal.
"""

from __future__ import annotations

import streamlit as st

from ui.guard import guard
from ui.sidebar import sidebar

st.set_page_config(page_title="Market maker console", page_icon=":material/monitoring:", layout="wide")

engine = guard()
nav = st.navigation([
    st.Page("pages/dashboard.py", title="Dashboard", icon=":material/monitoring:", default=True),
    st.Page("pages/positions.py", title="Positions & orders", icon=":material/list_alt:"),
    st.Page("pages/trades.py", title="Trade history", icon=":material/receipt_long:"),
    st.Page("pages/risk.py", title="Risk controls", icon=":material/shield:"),
    st.Page("pages/alerts.py", title="Alerts & logs", icon=":material/notifications:"),
])
sidebar(engine)
st.session_state["_shell_drawn"] = True
nav.run()
