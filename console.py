"""The console's script: a password gate, then the pages over the process's one market-making engine.

Served by ``app.py`` (``streamlit run app.py``), whose lifespan starts the engine at server boot.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from ui.guard import guard, logged_in
from ui.sidebar import sidebar

ICON = Path(__file__).resolve().parent / "ui" / "static" / "icon.png"  # shipped: nothing fetched from the internet
st.set_page_config(page_title="Market maker console", page_icon=str(ICON), layout="wide")

# The navigation is declared before the login gate, hidden until logged in: a deep link (/positions) keeps its page
# through the login, and the login screen lists no page names.
nav = st.navigation([
    st.Page("pages/dashboard.py", title="Dashboard", icon=":material/monitoring:", default=True),
    st.Page("pages/positions.py", title="Positions & orders", icon=":material/list_alt:"),
    st.Page("pages/trades.py", title="Trade history", icon=":material/receipt_long:"),
    st.Page("pages/strategies.py", title="Strategies", icon=":material/insights:"),
    st.Page("pages/risk.py", title="Risk controls", icon=":material/shield:"),
    st.Page("pages/alerts.py", title="Alerts & logs", icon=":material/notifications:"),
    st.Page("pages/exchanges.py", title="Exchange connections", icon=":material/hub:"),
    st.Page("pages/kucoin.py", title="KuCoin tester", icon=":material/key:"),
], position="sidebar" if logged_in() else "hidden")
engine = guard()
sidebar(engine)
st.session_state["_shell_drawn"] = True
nav.run()
