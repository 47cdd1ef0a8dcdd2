"""The console's pages, in one list: the navigation (``console.py``) and the sidebar's links (every page, also when
a deep link ran the page file on its own) are built from it. Streamlit's own list of the ``pages/`` folder is off
(``client.showSidebarNavigation = false``): before the login no page name shows."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

ROOT = Path(__file__).resolve().parents[1]
PAGES = (  # file, title, icon
    ("pages/dashboard.py", "Dashboard", ":material/monitoring:"),
    ("pages/positions.py", "Positions & orders", ":material/list_alt:"),
    ("pages/trades.py", "Trade history", ":material/receipt_long:"),
    ("pages/strategies.py", "Strategies", ":material/insights:"),
    ("pages/lab.py", "Backtest lab", ":material/science:"),
    ("pages/settings.py", "Trading settings", ":material/tune:"),
    ("pages/risk.py", "Risk controls", ":material/shield:"),
    ("pages/alerts.py", "Alerts & logs", ":material/notifications:"),
    ("pages/exchanges.py", "Exchange connections", ":material/hub:"),
    ("pages/kucoin.py", "KuCoin tester", ":material/key:"),
)


ICON = ROOT / "ui" / "static" / "icon.png"  # shipped with the app: nothing is fetched from the internet


def page_config() -> None:
    """The tab's title and icon, and the wide layout (also for a page file run on its own by a deep link)."""
    st.set_page_config(page_title="Market maker console", page_icon=str(ICON), layout="wide")


def navigation() -> st.navigation:
    """Declare the pages (the first is the default); the links are drawn by :func:`links`."""
    return st.navigation([st.Page(str(ROOT / path), title=title, icon=icon, default=i == 0)
                          for i, (path, title, icon) in enumerate(PAGES)], position="hidden")


def links() -> None:
    """One link per page in the sidebar."""
    for path, title, icon in PAGES:
        st.sidebar.page_link(str(ROOT / path), label=title, icon=icon)
