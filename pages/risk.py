"""Risk controls (seed "RiskControls.tsx"): risk mode, limits and breaker thresholds (typed values read as meant,
bounded, reviewed before they are saved and applied), breakers switched off only with a confirmation, breaker states
with reset / re-arm, and the breaker history."""

from __future__ import annotations

import streamlit as st

from engine import service
from engine.config import RISK_MODES, bounds
from ui import fmt
from ui.page import page, save_setting
from ui.settings_form import NumberField, Switch, settings_section
from ui.tables import table

engine = page("Risk controls")
cfg = engine.config
caps = cfg.risk.caps
current_mode = cfg.strategy.modes[cfg.strategy.risk_mode]
effective_inventory = min(caps.max_inventory_per_symbol_usd, current_mode.max_inventory_usd)

st.subheader("Risk mode")
cols = st.columns(3)
for col, mode in zip(cols, RISK_MODES, strict=True):
    m = cfg.strategy.modes[mode]
    current = mode == cfg.strategy.risk_mode
    title = mode.replace("_", " ").title()
    col.markdown(f":green[**{title} — current**]" if current else f"**{title}**")
    col.caption(f"{m.levels} ladder level{'s' if m.levels > 1 else ''} per side · spread {cfg.strategy.spread_bps:g} "
                f"bps · step {cfg.strategy.step_bps:g} bps · margin {m.margin_pct:g}% · mode inventory limit "
                f"{fmt.money(m.max_inventory_usd)} per symbol")
    if col.button(f"Use {mode}", key=f"mode_{mode}", disabled=current, type="primary" if not current else "secondary"):
        save_setting(lambda mode=mode: service.set_risk_mode(engine, mode),
                     f"Risk mode is now {mode} (saved; the engine uses it from its next cycle)")

st.subheader("Position limits")
st.markdown(f"Max inventory per symbol in force: **{fmt.money(effective_inventory)}**, the lower of the risk mode's "
            f"limit ({fmt.money(current_mode.max_inventory_usd)}) and the cap below "
            f"({fmt.money(caps.max_inventory_per_symbol_usd)}).")
limits = service.leverage_limits(engine)
fields = [
    NumberField("Inventory cap per symbol (USDT)", "risk.caps.max_inventory_per_symbol_usd",
                caps.max_inventory_per_symbol_usd, bounds.MAX_INVENTORY_PER_SYMBOL_USD),
    NumberField("Max open orders per symbol", "risk.caps.max_open_orders_per_symbol", caps.max_open_orders_per_symbol,
                bounds.MAX_OPEN_ORDERS_PER_SYMBOL, whole=True),
]
if limits["perps"]:
    ceiling = min(limits["market_max"] or bounds.LEVERAGE.high, bounds.LEVERAGE.high)
    fields.append(NumberField("Max leverage (perpetuals)", "leverage", limits["leverage"],
                              bounds.Bound(1, ceiling, "x (the markets' maximum)", inclusive=True), whole=True))
else:
    st.caption("Leverage: no perpetual is traded, so there is nothing to set it on.")


def apply_limits(changes: dict, lines: list[str]) -> str:
    leverage = changes.pop("leverage", None)
    done = []
    if changes:
        service.apply_changes(engine, changes)
        done.append("saved to config/config.json and applied")
    if leverage is not None:
        done.append(service.set_leverage(engine, int(leverage)))
    return "; ".join(lines) + " — " + "; ".join(done)


settings_section("limits", fields, apply_limits)

st.subheader("Circuit breakers")
b = cfg.risk.breakers
UNITS = {"latency": ("Latency (ms)", 1.0), "spread": ("Spread (bps)", 1.0), "volatility": ("Volatility (%)", 1.0),
         "error_rate": ("Error rate (%)", 100.0), "drawdown": ("Drawdown (bps)", 1.0)}
thresholds = [NumberField(label, f"risk.breakers.{name}.threshold", b[name].threshold,
                          bounds.BREAKER_THRESHOLDS[name], scale=scale, unit="%" if name == "error_rate" else "")
              for name, (label, scale) in UNITS.items()]
thresholds.append(NumberField("Cooldown (s)", "cooldown", b["latency"].cooldown_s, bounds.BREAKER_COOLDOWN_S))
switches = [Switch(f"{name.replace('_', ' ')} breaker", f"risk.breakers.{name}.enabled", b[name].enabled,
                   warn_off=f"the {name.replace('_', ' ')} breaker will not trip whatever happens"
                   + (" (the kill switch will not halt trading on a drawdown)" if name == "drawdown" else ""))
            for name in UNITS]


def apply_breakers(changes: dict, lines: list[str]) -> str:
    cooldown = changes.pop("cooldown", None)
    if cooldown is not None:  # one cooldown for every breaker
        table_ = changes.setdefault("risk", {}).setdefault("breakers", {})
        for name in UNITS:
            table_.setdefault(name, {})["cooldown_s"] = cooldown
    service.apply_changes(engine, changes)
    return "Saved to config/config.json and applied to the running engine: " + "; ".join(lines)


st.caption("A breaker is switched off with its switch (asks for a confirmation), never with a huge threshold.")
settings_section("breakers", thresholds, apply_breakers, switches=switches)

st.subheader("Breakers now")
for row in service.breaker_states(engine):
    c = st.columns([1.2, 1.4, 1, 2, 1.4, 1])
    c[0].markdown(f"**{row['breaker']}**")
    c[1].write(row["trips_at"])
    color = {"closed": "green", "open": "red", "cooling_down": "orange", "off": "gray"}[row["state"]]
    c[2].markdown(f":{color}[{row['state']}]")
    c[3].write(row["scope"])
    c[4].write("re-arm by hand" if row["manual_rearm"] and row["state"] not in ("closed", "off") else
               (f"{row['cooldown_left_s']:.0f} s cooldown left" if row["cooldown_left_s"] is not None else ""))
    label = "Re-arm" if row["manual_rearm"] else "Reset"
    if c[5].button(label, key=f"reset_{row['breaker']}", disabled=row["state"] in ("closed", "off") and
                   not (row["manual_rearm"] and engine.state == "HALTED")):
        st.session_state.flash = ("success", service.reset_breaker(engine, row["breaker"]))
        st.rerun()

st.subheader("Breaker history")
events = service.breaker_events(engine.db)
if events:
    def measure(v: float, r: dict) -> str:  # each breaker in its own unit; the error rate in % like its field
        return f"{v * 100:,.1f}%" if r["breaker"] == "error_rate" else f"{v:,.4g}"

    table(events, {"time": ("Time (UTC)", None), "breaker": ("Breaker", None), "state": ("State", None),
                   "scope": ("Scope", None), "value": ("Value", measure), "threshold": ("Threshold", measure),
                   "action": ("Action", None), "reason": ("Reason", None)})
else:
    st.info("No breaker has opened yet.")
