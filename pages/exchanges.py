"""Exchange connections (seed "ExchangeConnections.tsx"): health per exchange, connect / disconnect / test, and the
exchange selection strategy."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import service
from ui import fmt
from ui.page import page, save_setting

engine = page("Exchange connections")

current = engine.config.engine.selection
choice = st.radio("Exchange selection", service.SELECTIONS, index=service.SELECTIONS.index(current), horizontal=True,
                  help="FAILOVER: first healthy exchange in priority order · LOAD_BALANCE: by weights · "
                       "BEST_EXECUTION: success rate x 100 - latency / 10 · SINGLE: the primary only")
if choice != current:
    save_setting(lambda: service.set_selection(engine, choice),
                 f"Exchange selection is now {choice} (saved; applied now)")

for row in service.venue_rows(engine):
    st.subheader(row["exchange"] + (" · sandbox" if row["sandbox"] else ""))
    c = st.columns(5)
    c[0].metric("Connected", "yes" if row["connected"] else "no")
    c[1].metric("Latency", f"{row['latency_ms']:.0f} ms" if row["latency_ms"] is not None else "—")
    c[2].metric("Success rate", f"{row['success_rate'] * 100:.1f}%")
    budget = row["calls_budget_per_min"]
    c[3].metric("Calls (last minute)", f"{row['calls_last_minute']}" + (f" of {budget}" if budget else ""))
    c[4].metric("Equity (USDT)", fmt.money(row["equity"], ccy=""))
    st.caption(f"Status: **{row['status']}** · symbols: {row['symbols']} · quoting here: {row['routed_here'] or '—'}")
    st.caption(f"Features: {row['features'] or '—'} · websocket streams: {row['streams']} · "
               f"last error: {row['last_error']}")
    b = st.columns(3)
    if row["status"] == "disconnected by the operator":
        if b[0].button("Connect", key=f"connect_{row['exchange']}"):
            st.session_state.flash = service.connect_venue(engine, row["exchange"])
            st.rerun()
    elif b[0].button("Disconnect", key=f"disconnect_{row['exchange']}",
                     help="Cancels this exchange's orders and stops quoting there"):
        st.session_state.flash = service.disconnect_venue(engine, row["exchange"])
        st.rerun()
    if b[1].button("Test connection", key=f"test_{row['exchange']}"):
        st.session_state[f"venue_report_{row['exchange']}"] = service.test_venue(engine, row["exchange"])
    report = st.session_state.get(f"venue_report_{row['exchange']}")
    if report:
        st.dataframe(pd.DataFrame(report), hide_index=True, width="stretch")
