"""Positions & orders (seed "PositionManager.tsx"): close a position (with confirmation), cancel orders."""

from __future__ import annotations

import streamlit as st

from engine import service
from ui import fmt
from ui.page import page

engine = page("Positions & orders")

st.subheader("Open positions")
positions = service.positions(engine)
if not positions:
    st.info("No positions." + (" The engine is stopped; press Start in the sidebar." if engine.state == "STOPPED"
                               else " They appear as the engine's quotes get filled."))
many = len(engine.traders) > 1
for p in positions:
    key = f"{p['exchange']}|{p['symbol']}"
    cols = st.columns([1.6, 0.8, 1, 1.4, 1.4, 1.6, 1.7, 1.6])
    cols[0].markdown(f"**{p['symbol']}**" + (f" · {p['exchange']}" if many else ""))
    cols[1].markdown(f":{'green' if p['side'] == 'long' else 'red'}[{p['side']}]")
    cols[2].write(f"{p['size']:.6g}")
    cols[3].write(f"entry {fmt.price(p['entry'])}")
    cols[4].write(f"mark {fmt.price(p['mark'])}")
    cols[5].markdown(f"realized :{fmt.pnl_color(p['realized_pnl'])}[{fmt.money(p['realized_pnl'], signed=True)}]")
    cols[6].markdown(f"unrealized :{fmt.pnl_color(p['unrealized_pnl'])}[{fmt.money(p['unrealized_pnl'], signed=True)}]")
    if st.session_state.get("confirm_close") == key:
        st.warning(f"Close the {p['side']} {p['symbol']} position of {p['size']:.6g} on {p['exchange']} with a "
                   "reduce-only market order?")
        yes, no = st.columns(2)
        if yes.button(f"Yes, close {p['symbol']}", key=f"close_yes_{key}", type="primary"):
            st.session_state.pop("confirm_close")
            done = service.close_position(engine, p["symbol"], p["exchange"])
            st.session_state.flash = f"Close {p['symbol']}: {done}"
            st.rerun()
        if no.button("Keep it", key=f"close_no_{key}"):
            st.session_state.pop("confirm_close")
            st.rerun()
    elif cols[7].button("Close position", key=f"close_{key}"):
        st.session_state.confirm_close = key
        st.rerun()

st.subheader("Open orders")
orders = service.open_orders(engine)
if not orders:
    st.info("No open orders." + (" The engine is stopped; press Start in the sidebar."
                                 if engine.state == "STOPPED" else ""))
for exchange, symbol in sorted({(o["exchange"], o["symbol"]) for o in orders}):
    mine = [o for o in orders if o["symbol"] == symbol and o["exchange"] == exchange]
    head = st.columns([4, 1])
    head[0].markdown(f"**{symbol}**" + (f" · {exchange}" if many else "") + f" · {len(mine)} orders")
    if head[1].button(f"Cancel all {symbol}", key=f"cancel_all_{exchange}|{symbol}"):
        st.session_state.flash = service.cancel_symbol(engine, symbol, exchange)
        st.rerun()
    for o in mine:
        cols = st.columns([1, 1, 1.4, 1.6, 1, 1, 1])
        cols[0].markdown(f":{'green' if o['side'] == 'buy' else 'red'}[{o['side']}]")
        cols[1].write(o["type"])
        cols[2].write(f"{o['amount']:.6g}")
        cols[3].write(fmt.price(o["price"]))
        cols[4].write(o["status"])
        cols[5].write(f"{o['age_s']:.0f} s")
        if cols[6].button("Cancel", key=f"cancel_{o['client_order_id']}"):
            st.session_state.flash = service.cancel_order(engine, o["client_order_id"])
            st.rerun()
