"""Alerts & logs: the alerts table with delivery status, and the last log lines, filterable by level."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from engine import service
from engine.config import PROJECT_ROOT
from ui.page import page, save_setting
from ui.tables import table

engine = page("Alerts & logs")

st.subheader("Alerts")
level = st.selectbox("Level", ["all", "critical", "error", "warning", "info"])
rows = service.alerts(engine.db, None if level == "all" else level)
if rows:
    table(rows, {"time": ("Time (UTC)", None), "level": ("Level", None), "kind": ("Kind", None),
                 "message": ("Message", None), "status": ("Delivery", None), "attempts": ("Attempts", None),
                 "error": ("Why not sent", None)})
    st.caption("Delivery: sent · skipped (Telegram not configured) · suppressed (duplicate or rate limit) · stored "
               "(kept here only: position opened / closed) · failed (Telegram did not take it).")
else:
    st.info("No alerts yet.")
if not engine.config.telegram.configured:
    st.caption("Telegram is not configured: alerts are stored here with status skipped. Set TELEGRAM_BOT_TOKEN and "
               "TELEGRAM_CHAT_ID (or secrets.json) to receive them.")

st.subheader("Which alerts go out")
current = service.alert_kinds(engine)
with st.form("alert_kinds"):
    cols = st.columns(3)
    chosen = {kind: cols[i % 3].selectbox(kind, ["on", "silent", "off"], index=["on", "silent", "off"].index(mode),
                                           key=f"kind_{kind}") for i, (kind, mode) in enumerate(current.items())}
    saved = st.form_submit_button("Save")
st.caption("on: sent to Telegram · silent: sent without a sound (Telegram's disable_notification) · off: kept here "
           f"only. Every {engine.config.alerts.summary_every_min:g} min a summary of the fills and PnL per symbol is "
           "sent instead of position opened / closed (alerts.summary_every_min; 0: none).")
if saved:
    changed = {k: v for k, v in chosen.items() if v != current[k]}
    if changed:
        save_setting(lambda: service.set_alert_kinds(engine, changed),
                     "Saved: " + ", ".join(f"{k} {v}" for k, v in changed.items()))

st.subheader("Log")
levels = st.multiselect("Levels", ["CRITICAL", "ERROR", "WARNING", "INFO", "DEBUG"],
                        default=["CRITICAL", "ERROR", "WARNING", "INFO"])
log_dir = Path(engine.config.logging.dir)
path = log_dir if log_dir.is_absolute() else PROJECT_ROOT / log_dir
lines = service.log_lines(path / engine.config.logging.json_file, tuple(levels))
if lines:
    st.dataframe(pd.DataFrame(lines), hide_index=True, width="stretch")
else:
    st.info(f"No log lines at these levels in {path / engine.config.logging.json_file}.")
