"""Positions & orders (seed "PositionManager.tsx"): positions with notional and leverage, PnL per symbol, sides not
quoted and why, open orders with their ages (all refreshing on their own); close a position (with confirmation),
cancel orders, stop or resume quoting one symbol."""

from __future__ import annotations

import streamlit as st

from engine import service
from ui import fmt
from ui.page import page
from ui.tables import table

engine = page("Positions & orders")
many = len(engine.traders) > 1


def _where(exchange: str) -> str:
    return f" · {exchange}" if many else ""


def signed(v: float, _row: dict | None = None) -> str:
    return fmt.money(v, ccy="", signed=True)


@st.fragment(run_every=2)
def positions_panel() -> None:
    st.subheader("Open positions")
    positions = service.positions(engine)
    if not positions:
        st.info("No positions." + (" The engine is stopped; press Start in the sidebar." if engine.state == "STOPPED"
                                   else " They appear as the engine's quotes get filled."))
    else:
        table(positions, {
            **({"exchange": ("Exchange", None)} if many else {}),
            "symbol": ("Symbol", None), "side": ("Side", None),
            "size": ("Size", lambda v, r: fmt.amount(v, r["lot"])),
            "notional": ("Notional (USDT)", lambda v, r: fmt.fixed(v, 2)),
            "leverage": ("Leverage", lambda v, r: f"{v}x"),
            "entry": ("Entry", lambda v, r: fmt.price(v, r["tick"])),
            "mark": ("Mark", lambda v, r: fmt.price(v, r["tick"])),
            "realized_pnl": ("Realized (USDT)", signed), "unrealized_pnl": ("Unrealized (USDT)", signed),
        })
        for p in positions:
            if p["below_minimum"]:
                st.warning(f"{p['symbol']}{_where(p['exchange'])}: {fmt.amount(p['size'], p['lot'])} is below the "
                           "market's minimum order amount, so no order can close it (see Close position for how to "
                           "clear it).")
        for p in positions:
            key = f"{p['exchange']}|{p['symbol']}"
            if st.session_state.get("confirm_close") == key:
                st.warning(f"Close the {p['side']} {p['symbol']} position of {fmt.amount(p['size'], p['lot'])} on "
                           f"{p['exchange']} with a reduce-only market order?")
                yes, no = st.columns(2)
                if yes.button(f"Yes, close {p['symbol']}", key=f"close_yes_{key}", type="primary"):
                    st.session_state.pop("confirm_close")
                    st.session_state.flash = service.close_position(engine, p["symbol"], p["exchange"])
                    st.rerun()
                if no.button("Keep it", key=f"close_no_{key}"):
                    st.session_state.pop("confirm_close")
                    st.rerun()
        cols = st.columns(min(len(positions), 4))
        for i, p in enumerate(positions):
            key = f"{p['exchange']}|{p['symbol']}"
            if cols[i % len(cols)].button(f"Close {p['symbol']}" + _where(p["exchange"]), key=f"close_{key}",
                                          help="a reduce-only market order; asks first"):
                st.session_state.confirm_close = key
                st.rerun()

    st.subheader("PnL per symbol")
    rows = service.pnl_rows(engine)
    if rows:
        table(rows, {**({"exchange": ("Exchange", None)} if many else {}), "symbol": ("Symbol", None),
                     "spread_capture": ("Spread capture", signed), "fees": ("Fees", lambda v, r: fmt.money(v, "")),
                     "trading_net": ("Trading PnL net of fees", signed), "inventory_pnl": ("Inventory PnL", signed),
                     "funding": ("Funding", signed), "net_pnl": ("Net PnL", signed)})
        st.caption("USDT. " + " · ".join(f"**{k.replace('_', ' ')}**: {v}" for k, v in service.PNL_DEFINITIONS.items()))
    else:
        st.caption("No fills yet.")
    netted = service.netting_rows(engine)
    if netted:
        st.subheader("Across exchanges")
        table(netted, {"symbol": ("Symbol", None), "positions": ("Positions", None),
                       "net": ("Net", lambda v, r: fmt.amount(v))})
        st.caption("With pnl_harvest.cross_exchange_netting on, the net is what the inventory caps, the skew and the "
                   "take profit see: long on one exchange and short on another counts as flat." if netted[0]["netted"]
                   else "Netting is off (pnl_harvest.cross_exchange_netting): each exchange's caps see its own.")
    funding = service.funding_rows(engine)
    if funding:
        st.subheader("Funding")
        table(funding, {**({"exchange": ("Exchange", None)} if many else {}), "symbol": ("Symbol", None),
                        "rate_bps": ("Funding rate (bps)", lambda v, r: fmt.fixed(v, 3, signed=True)),
                        "lean": ("Quotes lean", None),
                        "target_usd": ("Inventory target (USD)", lambda v, r: fmt.fixed(v, 0, signed=True)),
                        "funding": ("Received - paid (USDT)", signed)})
        st.caption(f"Read every {engine.config.funding.funding_check_interval:g} s; beyond "
                   f"{engine.config.funding.funding_threshold_bps:g} bps the quotes and the inventory target lean to "
                   "the side that receives funding (funding.* in the config).")
    arbitrage = service.arbitrage_rows(engine)
    if arbitrage or engine.config.cross_exchange_arbitrage.enabled:
        st.subheader("Cross-exchange arbitrage")
        table(arbitrage, {"id": ("#", None), "time": ("Time", None), "symbol": ("Symbol", None),
                          "route": ("Bought -> sold", None), "amount": ("Amount", lambda v, r: fmt.amount(v)),
                          "edge_bps": ("Edge after fees (bps)", lambda v, r: fmt.fixed(v, 1)),
                          "status": ("State", None), "pnl": ("PnL (quote)", signed), "note": ("What happened", None)})
        a = engine.config.cross_exchange_arbitrage
        st.caption(("On" if a.enabled else "Off") + f" (cross_exchange_arbitrage): beyond both taker fees plus "
                   f"{a.min_profit_bps:g} bps, up to {a.max_trade_usd:,.0f} USD a trade and {a.max_position_usd:,.0f} "
                   "USD of position per exchange; a leg that fails is sold back where it was bought. The last 20.")


@st.fragment(run_every=2)
def orders_panel() -> None:
    st.subheader("Open orders")
    gaps = service.unquoted(engine) if engine.state == "RUNNING" else []
    for g in gaps:
        st.caption(f":orange[{g['symbol']}{_where(g['exchange'])} {g['side']} side not quoted]: {g['why']}")
    paused = service.paused_symbols(engine)
    for (exchange, symbol), why in sorted(paused.items()):
        row = st.columns([4, 1])
        row[0].warning(f"{symbol}{_where(exchange)}: quoting {why}.")
        if row[1].button(f"Resume quoting {symbol}", key=f"resume_{exchange}|{symbol}"):
            st.session_state.flash = service.resume_symbol(engine, symbol, exchange)
            st.rerun()
    orders = service.open_orders(engine)
    if not orders:
        st.info("No open orders." + (" The engine is stopped; press Start in the sidebar."
                                     if engine.state == "STOPPED" else ""))
    if orders and engine.state == "RUNNING":
        st.caption("While the engine runs, a cancelled order is quoted again at the next cycle (within a second). "
                   "To keep a symbol unquoted, use Stop quoting.")
    for exchange, symbol in sorted({(o["exchange"], o["symbol"]) for o in orders}):
        mine = [o for o in orders if o["symbol"] == symbol and o["exchange"] == exchange]
        head = st.columns([3, 1, 1])
        head[0].markdown(f"**{symbol}**{_where(exchange)} · {len(mine)} orders")
        if head[1].button(f"Cancel all {symbol}", key=f"cancel_all_{exchange}|{symbol}"):
            st.session_state.flash = service.cancel_symbol(engine, symbol, exchange)
            st.rerun()
        if (exchange, symbol) not in paused and head[2].button(f"Stop quoting {symbol}",
                                                                key=f"pause_{exchange}|{symbol}",
                                                                help="cancels its orders and quotes it no more "
                                                                     "until resumed; the position stays"):
            st.session_state.flash = service.pause_symbol(engine, symbol, exchange)
            st.rerun()
        table(mine, {"side": ("Side", None), "type": ("Type", None), "level": ("Level", None),
                     "amount": ("Amount", lambda v, r: fmt.amount(v, r["lot"])),
                     "price": ("Price", lambda v, r: fmt.price(v, r["tick"])),
                     "notional": ("Notional (USDT)", lambda v, r: fmt.fixed(v, 2)), "status": ("Status", None),
                     "age_s": ("Age", lambda v, r: f"{v:,.0f} s"), "client_order_id": ("Client order id", None)},
              key=f"orders_{exchange}|{symbol}")
        pick = st.columns([3, 1])
        cid = pick[0].selectbox(f"Order to cancel ({symbol})", [o["client_order_id"] for o in mine],
                                key=f"pick_{exchange}|{symbol}", label_visibility="collapsed")
        if pick[1].button("Cancel", key=f"cancel_{exchange}|{symbol}"):
            st.session_state.flash = service.cancel_order(engine, cid)
            st.rerun()


positions_panel()
orders_panel()
