"""Trading settings: market making's quoting, its levels per risk mode, the inventory skew and order hygiene, in
validated forms (Review, then Apply): saved to config/config.json and applied to the running engine at once."""

from __future__ import annotations

import streamlit as st

from engine import service
from engine.config import bounds
from ui.page import page
from ui.settings_form import NumberField, Switch, settings_section

engine = page("Trading settings")
cfg = engine.config
st_, hy, q = cfg.strategy, cfg.hygiene, bounds.QUOTING


def apply(changes: dict, lines: list[str]) -> str:
    service.apply_changes(engine, changes)
    text = "; ".join(lines) + " — saved to config/config.json and applied"
    leverage = {venue: {s: c["leverage"] for s, c in table.items() if "leverage" in c}
                for venue, table in changes.get("symbols", {}).items()}
    done, failed = service.push_leverage(engine, {v: t for v, t in leverage.items() if t})
    return text + (f"; leverage set on the exchange: {', '.join(done)}" if done else "") + \
        (f"; leverage NOT set on {', '.join(failed)}: it is saved and set at the next start" if failed else "")


st.subheader("Quoting")
st.caption("For every market-making symbol; a symbol's own params (Strategies) override these. A tier's spread "
           "multiplier widens the spread (tiers.*).")
settings_section("quoting", [
    NumberField("Spread (bps, full, around the mid)", "strategy.spread_bps", st_.spread_bps, q["spread_bps"]),
    NumberField("Step between levels (bps)", "strategy.step_bps", st_.step_bps, q["step_bps"]),
    NumberField("Minimum spread after skew (bps)", "strategy.min_spread_bps", st_.min_spread_bps,
                q["min_spread_bps"]),
    NumberField("Order size (USDT before the volume factor)", "strategy.usd_per_order", st_.usd_per_order,
                q["usd_per_order"]),
    NumberField("Smallest order (USDT)", "strategy.min_order_usd", st_.min_order_usd, q["min_order_usd"]),
    NumberField("Largest order (USDT)", "strategy.max_order_usd", st_.max_order_usd, q["max_order_usd"]),
    NumberField("Volume factor", "strategy.volume_factor", st_.volume_factor, q["volume_factor"]),
], apply, switches=[Switch("Fee-aware spread", "strategy.fee_aware", st_.fee_aware)])

st.subheader("Levels per risk mode")
st.caption(f"The mode in force is {st_.risk_mode} (Risk controls switches it). Each mode's inventory limit is set on "
           "Risk controls, where the limit in force and the setting that binds are shown.")
fields = []
for mode, m in st_.modes.items():
    fields.append(NumberField(f"{mode}: levels a side", f"strategy.modes.{mode}.levels", m.levels, q["levels"],
                              whole=True))
    fields.append(NumberField(f"{mode}: margin (%)", f"strategy.modes.{mode}.margin_pct", m.margin_pct,
                              q["margin_pct"]))
settings_section("modes", fields, apply, columns=2)

st.subheader("Inventory skew (Avellaneda-Stoikov)")
sk = st_.skew
settings_section("skew", [
    NumberField("Risk aversion (gamma)", "strategy.skew.gamma", sk.gamma, q["gamma"]),
    NumberField("Horizon (s)", "strategy.skew.tau_s", sk.tau_s, q["tau_s"]),
    NumberField("Size shrink at full inventory", "strategy.skew.size_shrink", sk.size_shrink, q["size_shrink"]),
], apply, switches=[Switch("Skew on", "strategy.skew.enabled", sk.enabled,
                           warn_off="quotes stop leaning against the inventory: it can build up on one side")])

st.subheader("Order hygiene")
settings_section("hygiene", [
    NumberField("Replace orders older than (s)", "hygiene.max_order_age_s", hy.max_order_age_s, q["max_order_age_s"]),
    NumberField("Requote when the price drifted (bps)", "hygiene.drift_bps", hy.drift_bps, q["drift_bps"]),
    NumberField("Stale beyond the top of book (bps)", "hygiene.stale_depth_bps", hy.stale_depth_bps,
                q["stale_depth_bps"]),
    NumberField("Replacements per cycle at most", "hygiene.max_replacements_per_cycle",
                hy.max_replacements_per_cycle, q["max_replacements_per_cycle"], whole=True),
    NumberField("Per symbol, requote at most every (ms)", "hygiene.min_requote_interval_ms",
                hy.min_requote_interval_ms, q["min_requote_interval_ms"], whole=True),
], apply)

st.subheader("Symbols")
st.caption("Per exchange (the safe list, symbols.<exchange>): on or off, the position cap and, on perpetuals, the "
           "leverage (at most the tier's max_leverage). The cap in force is the smallest of the symbol's cap, the "
           "risk mode's inventory limit and the per-symbol cap on Risk controls; which one binds is said for each. A "
           "leverage change is set on the exchange at once, and the answer is shown.")
mode_cap, risk_cap = cfg.mode().max_inventory_usd, cfg.risk.caps.max_inventory_per_symbol_usd
for venue, table in cfg.symbols.items():
    if not table:
        continue
    st.markdown(f"**{venue}**")
    fields, switches = [], []
    for symbol, sc in table.items():
        base = f"symbols.{venue}.{symbol}"
        switches.append(Switch(f"{symbol} on", f"{base}.enabled", sc.enabled,
                               warn_off=f"{symbol} stops quoting on {venue} (its orders are cancelled, its position "
                                        "stays)"))
        fields.append(NumberField(f"{symbol}: position cap (USDT)", f"{base}.max_position_size_usd",
                                  sc.max_position_size_usd, bounds.MAX_INVENTORY_PER_SYMBOL_USD))
        tier = cfg.tiers[sc.tier]
        contract = bool((engine.trader.ex.markets.get(symbol) or {}).get("contract")) if venue == engine.trader.name \
            else ":" in symbol
        if contract:
            fields.append(NumberField(f"{symbol}: leverage", f"{base}.leverage", sc.leverage,
                                      bounds.Bound(1, tier.max_leverage, f"x ({sc.tier} tier's maximum)",
                                                   inclusive=True), whole=True))
        binds = min((sc.max_position_size_usd, "its own cap"), (mode_cap, f"the {cfg.strategy.risk_mode} mode's limit"),
                    (risk_cap, "the per-symbol cap on Risk controls"))
        st.caption(f"{symbol} ({sc.tier}): cap in force {binds[0]:,.0f} USDT, set by {binds[1]}")
    settings_section(f"symbols:{venue}", fields, apply, switches=switches)
