"""Dashboard (seed "Dashboard.tsx"): equity, PnL, health, the active markets, the equity curve, our ladder."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import service
from engine.charts import equity_figure, ladder_figure
from ui import fmt
from ui.page import page

engine = page("Dashboard")


@st.fragment(run_every=2)
def live() -> None:
    s = service.summary(engine)
    c = st.columns(4)
    c[0].metric("Total equity (USDT)", fmt.money(s["equity"], ccy=""))
    c[1].metric("Daily PnL (USDT)", fmt.money(s["daily_pnl"], ccy="", signed=True))
    c[2].metric("Total PnL (USDT)", fmt.money(s["total_pnl"], ccy="", signed=True))
    c[3].metric("Fees (USDT)", fmt.money(s["fees"], ccy=""))
    c = st.columns(4)
    c[0].metric("Open orders", s["open_orders"])
    c[1].metric("Healthy exchanges", f"{s['exchanges_healthy']} of {s['exchanges']}")
    c[2].metric("Open breakers", s["open_breakers"])
    c[3].metric("Risk mode", s["risk_mode"].replace("_", " ").title())
    if s["state"] == "STOPPED":
        st.info("The engine is stopped: nothing is quoted. Press Start in the sidebar.")
    elif s["state"] == "HALTED":
        st.error(f"Trading is halted: {s['reason']}. Re-arm in the sidebar or on Risk controls.")
    rows = service.market_rows(engine)
    if rows:
        df = pd.DataFrame(rows)
        if len(engine.traders) == 1:
            df = df.drop(columns=["exchange"])
        st.dataframe(df, hide_index=True, width="stretch", column_config={
            "price": st.column_config.NumberColumn("price", format="%.4f"),
            "change_24h_pct": st.column_config.NumberColumn("24h change", format="%+.2f%%"),
            "volume_24h": st.column_config.NumberColumn("24h volume (USDT)", format="%.0f"),
            "spread_bps": st.column_config.NumberColumn("spread (bps)", format="%.2f"),
            "volatility_bps": st.column_config.NumberColumn("volatility (bps/min)", format="%.2f"),
            "inventory": st.column_config.NumberColumn("our inventory", format="%.5f"),
            "inventory_usd": st.column_config.NumberColumn("inventory (USDT)", format="%.2f"),
            "quoted_spread_bps": st.column_config.NumberColumn("our spread (bps)", format="%.2f"),
        })
    left, right = st.columns(2)
    curve = service.equity_curve(engine.db, engine.clock.now_ms() - 24 * 3_600_000)
    if curve:
        left.plotly_chart(equity_figure(curve), width="stretch")
    else:
        left.info("No equity history yet: it is recorded every few seconds while the engine runs.")
    exchange, symbol = st.session_state.get("dash_market") or markets[0]
    candles = service.candles(engine, symbol, exchange)
    title = symbol if len(engine.traders) == 1 else f"{symbol} on {exchange}"
    right.plotly_chart(ladder_figure(candles, service.ladder(engine, symbol, exchange), title), width="stretch")
    st.caption(f"Updated {fmt.utc(engine.clock.now_ms())}")


markets = [(t.name, s) for t in engine.traders for s in t.symbols]
if not markets:
    st.info("No symbol is enabled: enable one under symbols.<exchange> in the config (or on Risk controls).")
    st.stop()
st.selectbox("Market for the price chart", markets, key="dash_market",
             format_func=lambda m: m[1] if len(engine.traders) == 1 else f"{m[1]} · {m[0]}")
live()
