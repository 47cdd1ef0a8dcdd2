"""Strategies (seed 004): one row per symbol of the safe list with its strategy, state, last signal and PnL; enable
or disable a symbol, change its strategy and params (validated, saved, applied at once); its price chart with the
strategy's indicators, entries and exits; and the signal history with filters."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import service
from engine.charts import strategy_figure
from ui import fmt
from ui.page import page, save_setting

engine = page("Strategies")

rows = service.strategy_rows(engine)
if not rows:
    st.info("No symbol is configured. Add one under symbols.<exchange> in config/config.yaml.")
    st.stop()
table = pd.DataFrame([{
    "exchange": r["exchange"], "symbol": r["symbol"], "strategy": r["strategy"], "tier": r["tier"],
    "state": r["state"], "last signal": r["last_signal"] or "—",
    "confidence": f"{r['confidence']:.0%}" if r["confidence"] is not None else "",
    "reasoning": r["reasoning"], "position": r["position"], "realized PnL": r["realized_pnl"],
    "unrealized PnL": r["unrealized_pnl"], "stop": r["stop_loss"], "take profit": r["take_profit"],
    "approved": r["approved"], "refused": r["refused"],
} for r in rows])
st.dataframe(table, hide_index=True, use_container_width=True)
st.caption("Directional strategies give one signal per closed one-minute candle; each passes the individual checks "
           "(stop on the right side, confidence), ATR sizing and the portfolio limits before it is executed.")

labels = [f"{r['symbol']} on {r['exchange']}" for r in rows]
choice = st.selectbox("Symbol", labels)
row = rows[labels.index(choice)]
left, right = st.columns([1, 2])

with left:
    st.subheader("Settings")
    enabled = st.toggle("Trading", value=row["enabled"], key=f"enabled_{choice}",
                        help="Disabling cancels the symbol's orders at once; an open position stays (close it on "
                             "Positions & orders).")
    if enabled != row["enabled"]:
        save_setting(lambda: service.set_symbol_enabled(engine, row["exchange"], row["symbol"], enabled),
                     f"{row['symbol']} on {row['exchange']} is now {'enabled' if enabled else 'disabled'} (saved)")
    names = service.strategy_names()
    strategy = st.selectbox("Strategy", names, index=names.index(row["strategy"]), key=f"strategy_{choice}")
    defaults = service.strategy_params(strategy)
    current = {**defaults, **(row["params"] if strategy == row["strategy"] else {})}
    with st.form(f"params_{choice}_{strategy}"):
        values = {}
        for key, default in defaults.items():
            value = current.get(key, default)
            if isinstance(default, bool):
                values[key] = st.checkbox(key, value=bool(value))
            elif isinstance(default, int):
                values[key] = int(st.number_input(key, value=int(value), step=1))
            elif isinstance(default, float):
                values[key] = float(st.number_input(key, value=float(value), format="%.4g"))
            else:
                values[key] = st.text_input(key, value=str(value))
        if st.form_submit_button("Save and apply", type="primary"):
            save_setting(lambda: service.set_strategy(engine, row["exchange"], row["symbol"], strategy, values),
                         f"{row['symbol']} on {row['exchange']}: {strategy} saved and applied")
    if row["stop_loss"] is not None:
        st.caption(f"Held exits: stop {fmt.price(row['stop_loss'])} · take profit "
                   f"{fmt.price(row['take_profit']) if row['take_profit'] is not None else '—'}")

with right:
    chart = service.strategy_chart(engine, row["symbol"], row["exchange"])
    if chart["candles"]:
        st.plotly_chart(strategy_figure(chart, row["symbol"], row["strategy"]), use_container_width=True)
    else:
        st.info("No candles yet.")

st.subheader("Signal history")
f = st.columns(3)
symbol_filter = f[0].selectbox("Symbol ", ["all", *sorted({r["symbol"] for r in rows})])
decision_filter = f[1].selectbox("Decision", ["all", "approved", "refused", "executed"])
strategy_filter = f[2].selectbox("Strategy ", ["all", *sorted({r["strategy"] for r in rows})])
history = service.signal_history(engine.db, symbol=None if symbol_filter == "all" else symbol_filter,
                                 decision=None if decision_filter == "all" else decision_filter,
                                 strategy=None if strategy_filter == "all" else strategy_filter, limit=300)
if history:
    frame = pd.DataFrame(history)
    frame["time"] = frame["ts"].map(fmt.utc)
    st.dataframe(frame[["time", "exchange", "symbol", "strategy", "type", "confidence", "entry", "stop_loss",
                        "take_profit", "decision", "reason", "amount", "status", "exit_reason", "reasoning",
                        "order_ids"]], hide_index=True, use_container_width=True)
else:
    st.caption("No signal yet: directional symbols signal on closed one-minute candles.")
