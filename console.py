"""The console's script: a password gate, then the pages over the process's one market-making engine.

Served by ``app.py`` (``streamlit run app.py``), whose lifespan starts the engine at server boot.
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
    st.Page("pages/strategies.py", title="Strategies", icon=":material/insights:"),
    st.Page("pages/risk.py", title="Risk controls", icon=":material/shield:"),
    st.Page("pages/alerts.py", title="Alerts & logs", icon=":material/notifications:"),
    st.Page("pages/exchanges.py", title="Exchange connections", icon=":material/hub:"),
    st.Page("pages/kucoin.py", title="KuCoin tester", icon=":material/key:"),
])
sidebar(engine)
st.session_state["_shell_drawn"] = True
nav.run()
