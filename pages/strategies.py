"""Strategies (seed 004): one row per symbol of the safe list with its strategy, state, last signal and PnL; enable
or disable a symbol, change its strategy and params (validated, saved, applied at once); its price chart with the
strategy's indicators, entries and exits; and the signal history with filters."""

from __future__ import annotations

import streamlit as st

from engine import service
from engine.charts import strategy_figure
from ui import fmt
from ui.page import page, save_setting
from ui.params_form import params_fields, shown
from ui.tables import table

engine = page("Strategies")

rows = service.strategy_rows(engine)
if not rows:
    st.info("No symbol is configured. Add one under symbols.<exchange> in config/config.yaml.")
    st.stop()
money = (lambda v, r: fmt.money(v, "", signed=True))  # noqa: E731
table(rows, {
    "exchange": ("Exchange", None), "symbol": ("Symbol", None), "strategy": ("Strategy", None), "tier": ("Tier", None),
    "state": ("State", None), "last_signal": ("Last signal", None),
    "confidence": ("Confidence", lambda v, r: f"{v:.0%}"), "reasoning": ("Reasoning", None),
    "position": ("Position", lambda v, r: fmt.amount(v)), "realized_pnl": ("Realized PnL (after fees)", money),
    "unrealized_pnl": ("Unrealized PnL", money), "stop_loss": ("Stop", lambda v, r: fmt.price(v)),
    "take_profit": ("Take profit", lambda v, r: fmt.price(v)), "approved": ("Approved", None),
    "refused": ("Refused", None),
})
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
        values, problems = params_fields(defaults, current)
        if st.form_submit_button("Save and apply", type="primary"):
            if problems:
                for problem in problems:
                    st.error(f"Not saved: {problem}")
            else:
                save_setting(lambda: service.set_strategy(engine, row["exchange"], row["symbol"], strategy, values),
                             f"{row['symbol']} on {row['exchange']}: {strategy} saved and applied ({shown(values)})")
    if row["stop_loss"] is not None:
        st.caption(f"Held exits: stop {fmt.price(row['stop_loss'])} · take profit "
                   f"{fmt.price(row['take_profit']) if row['take_profit'] is not None else '—'}")

with right:
    chart = service.strategy_chart(engine, row["symbol"], row["exchange"])
    if chart["candles"]:
        st.plotly_chart(strategy_figure(chart, row["symbol"], row["strategy"]), width="stretch")
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
    price = (lambda v, r: fmt.price(v))  # noqa: E731
    table(history, {"ts": ("Time", lambda v, r: fmt.utc(v)), "exchange": ("Exchange", None),
                    "symbol": ("Symbol", None), "strategy": ("Strategy", None), "type": ("Type", None),
                    "confidence": ("Confidence", lambda v, r: f"{v:.0%}"), "entry": ("Entry", price),
                    "stop_loss": ("Stop", price), "take_profit": ("Take profit", price),
                    "decision": ("Decision", None), "reason": ("Why", None),
                    "amount": ("Amount", lambda v, r: fmt.amount(v)), "status": ("Status", None),
                    "exit_reason": ("Exit", None), "reasoning": ("Reasoning", None), "order_ids": ("Orders", None)})
else:
    st.caption("No signal yet: directional symbols signal on closed one-minute candles.")
