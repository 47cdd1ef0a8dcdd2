"""Risk controls (seed "RiskControls.tsx"): risk mode, limits and breaker thresholds (validated, saved, applied
to the running engine), breaker states with reset / re-arm, and the breaker history."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from engine import service
from engine.config import RISK_MODES, ConfigError
from ui import fmt
from ui.page import page, save_setting

engine = page("Risk controls")
cfg = engine.config

st.subheader("Risk mode")
cols = st.columns(3)
for col, mode in zip(cols, RISK_MODES, strict=True):
    m = cfg.strategy.modes[mode]
    current = mode == cfg.strategy.risk_mode
    title = mode.replace("_", " ").title()
    col.markdown(f":green[**{title} — current**]" if current else f"**{title}**")
    col.caption(f"{m.levels} ladder level{'s' if m.levels > 1 else ''} per side · spread {cfg.strategy.spread_bps:g} "
                f"bps · step {cfg.strategy.step_bps:g} bps · margin {m.margin_pct:g}% · max inventory "
                f"{fmt.money(m.max_inventory_usd)} per symbol")
    if col.button(f"Use {mode}", key=f"mode_{mode}", disabled=current, type="primary" if not current else "secondary"):
        save_setting(lambda mode=mode: service.set_risk_mode(engine, mode),
                     f"Risk mode is now {mode} (saved; the engine uses it from its next cycle)")


def save(changes: dict, errors: list[str]) -> None:
    """Show every field error inline; save nothing unless all pass."""
    if errors:
        for e in errors:
            st.error(e)
        return
    try:
        service.apply_changes(engine, changes)
    except ConfigError as exc:
        st.error(f"Not saved: {exc}")
        return
    st.session_state.flash = "Saved to config/config.json and applied to the running engine."
    st.rerun()


st.subheader("Position limits")
caps = cfg.risk.caps
limits = service.leverage_limits(engine)
max_leverage = limits["market_max"]
with st.form("limits"):
    c = st.columns(3)
    inv = c[0].number_input("Max inventory per symbol (USDT)", value=float(caps.max_inventory_per_symbol_usd),
                            step=1000.0)
    orders = c[1].number_input("Max open orders per symbol", value=int(caps.max_open_orders_per_symbol), step=1)
    leverage = c[2].number_input("Max leverage (perpetuals)", value=limits["leverage"], step=1,
        help=f"the markets allow up to {max_leverage}x" if max_leverage else "no perpetual is traded")
    if st.form_submit_button("Save limits"):
        errors = []
        if inv <= 0:
            errors.append(f"Max inventory per symbol = {inv:g}: must be greater than 0")
        if orders < 1:
            errors.append(f"Max open orders per symbol = {orders}: must be at least 1")
        if leverage < 1:
            errors.append(f"Max leverage = {leverage}: must be at least 1")
        elif max_leverage and leverage > max_leverage:
            errors.append(f"Max leverage = {leverage}: above the market's maximum of {max_leverage}x")
        changes = {"risk": {"caps": {"max_inventory_per_symbol_usd": inv, "max_open_orders_per_symbol": int(orders)}}}
        if limits["perps"]:  # every venue's perpetuals
            changes["symbols"] = {name: {s: {"leverage": int(leverage)} for s in syms}
                                  for name, syms in limits["perps"].items()}
        save(changes, errors)

st.subheader("Circuit breaker thresholds")
b = cfg.risk.breakers
with st.form("breakers"):
    c = st.columns(6)
    latency = c[0].number_input("Latency (ms)", value=float(b["latency"].threshold), step=50.0)
    spread = c[1].number_input("Spread (bps)", value=float(b["spread"].threshold), step=1.0)
    vol = c[2].number_input("Volatility (%)", value=float(b["volatility"].threshold), step=0.5)
    err = c[3].number_input("Error rate (%)", value=float(b["error_rate"].threshold * 100), step=1.0)
    dd = c[4].number_input("Drawdown (bps)", value=float(b["drawdown"].threshold), step=10.0)
    cooldown = c[5].number_input("Cooldown (s)", value=float(b["latency"].cooldown_s), step=30.0)
    if st.form_submit_button("Save thresholds"):
        fields = {"Latency (ms)": latency, "Spread (bps)": spread, "Volatility (%)": vol, "Error rate (%)": err,
                  "Drawdown (bps)": dd}
        errors = [f"{name} = {value:g}: must be greater than 0" for name, value in fields.items() if value <= 0]
        if err > 100:
            errors.append(f"Error rate (%) = {err:g}: must be at most 100")
        if cooldown < 0:
            errors.append(f"Cooldown (s) = {cooldown:g}: must not be negative")
        thresholds = {"latency": latency, "spread": spread, "volatility": vol, "error_rate": err / 100,
                      "drawdown": dd}
        save({"risk": {"breakers": {k: {"threshold": v, "cooldown_s": cooldown} for k, v in thresholds.items()}}},
             errors)

st.subheader("Breakers now")
for row in service.breaker_states(engine):
    c = st.columns([1.2, 1.4, 1, 2, 1.4, 1])
    c[0].markdown(f"**{row['breaker']}**")
    c[1].write(f"trips at {row['threshold']:g}{row['unit']}")
    color = {"closed": "green", "open": "red", "cooling_down": "orange"}[row["state"]]
    c[2].markdown(f":{color}[{row['state']}]")
    c[3].write(row["scope"])
    c[4].write("re-arm by hand" if row["manual_rearm"] and row["state"] != "closed" else
               (f"{row['cooldown_left_s']:.0f} s cooldown left" if row["cooldown_left_s"] is not None else ""))
    label = "Re-arm" if row["manual_rearm"] else "Reset"
    if c[5].button(label, key=f"reset_{row['breaker']}", disabled=row["state"] == "closed" and
                   not (row["manual_rearm"] and engine.state == "HALTED")):
        st.session_state.flash = service.reset_breaker(engine, row["breaker"])
        st.rerun()

st.subheader("Breaker history")
events = service.breaker_events(engine.db)
if events:
    st.dataframe(pd.DataFrame(events), hide_index=True, width="stretch")
else:
    st.info("No breaker has opened yet.")
