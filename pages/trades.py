"""Trade history: filters, paging that stays fast with a million trades, totals, and CSV export of the filter."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from engine import service
from ui import fmt
from ui.page import page
from ui.tables import table

PAGE_SIZE = 100

engine = page("Trade history")

f = st.columns(5)
symbols = service.trade_symbols(engine.db)
symbol = f[0].selectbox("Symbol", ["all", *symbols])
side = f[1].selectbox("Side", ["all", "buy", "sell"])
exchange = f[2].selectbox("Exchange", ["all", *service.exchanges(engine)])
today = datetime.fromtimestamp(engine.clock.now_ms() / 1000, tz=UTC).date()
start = f[3].date_input("From (UTC)", today - timedelta(days=30))
end = f[4].date_input("To (UTC, inclusive)", today)
if start > end:
    st.error("From must not be after To.")
    st.stop()
flt = service.TradeFilter(
    exchange=None if exchange == "all" else exchange, symbol=None if symbol == "all" else symbol,
    side=None if side == "all" else side,
    since_ms=int(datetime.combine(start, time.min, tzinfo=UTC).timestamp() * 1000),
    until_ms=int(datetime.combine(end + timedelta(days=1), time.min, tzinfo=UTC).timestamp() * 1000))

totals = service.trade_totals(engine.db, flt)
t = [*st.columns(3), *st.columns(3)]  # two rows: every label and figure fits, also on a narrow screen
t[0].metric("Trades", f"{totals['trades']:,}")
t[1].metric("Volume (USDT)", fmt.money(totals["volume"], ccy=""))
t[2].metric("Fees (USDT)", fmt.money(totals["fees"], ccy=""))
t[3].metric("Spread capture (USDT)", fmt.money(totals["spread_capture"], ccy="", signed=True),
            help=service.PNL_DEFINITIONS["spread_capture"])
t[4].metric("Trading PnL net of fees (USDT)", fmt.money(totals["trading_net"], ccy="", signed=True),
            help=service.PNL_DEFINITIONS["trading_net"])
t[5].metric("Realized PnL (USDT)", fmt.money(totals["realized_pnl"], ccy="", signed=True),
            help="closed positions' PnL before fees; with unrealized and spread capture it makes inventory PnL "
                 "(the dashboard)")
st.caption("These are the sums of the CSV's columns for this filter (trading PnL = spread_capture - fee).")

marks = service.markouts(engine)
if marks:
    st.markdown("**Markouts of the last hour's fills** — the mid's move after each fill, notional-weighted, in bps; "
                "below 0 the market moved against our fills (adverse selection)")
    table(marks, {"exchange": ("Exchange", None), "symbol": ("Symbol", None), "fills": ("Fills", None),
                  "markout_1s_bps": ("After 1 s (bps)", lambda v, r: fmt.fixed(v, 2, signed=True)),
                  "markout_10s_bps": ("After 10 s (bps)", lambda v, r: fmt.fixed(v, 2, signed=True)),
                  "markout_60s_bps": ("After 60 s (bps)", lambda v, r: fmt.fixed(v, 2, signed=True))})

pages = max(1, -(-totals["trades"] // PAGE_SIZE))
p = st.number_input(f"Page (of {pages:,})", min_value=1, max_value=pages, value=1, step=1) - 1
rows = service.trade_rows(engine, flt, int(p), PAGE_SIZE)
if rows:
    table(rows, {"time": ("Time (UTC)", None), "exchange": ("Exchange", None), "symbol": ("Symbol", None),
                 "side": ("Side", None), "price": ("Price", lambda v, r: fmt.price(v, r["tick"])),
                 "amount": ("Amount", lambda v, r: fmt.amount(v, r["lot"])),
                 "cost": ("Cost (USDT)", lambda v, r: fmt.fixed(v, 2)),
                 "fee": ("Fee", lambda v, r: fmt.money(v, "")), "fee_currency": ("Fee currency", None),
                 "realized_pnl": ("Realized PnL", lambda v, r: fmt.money(v, "", signed=True)),
                 "spread_capture": ("Spread capture", lambda v, r: fmt.money(v, "", signed=True)),
                 "client_order_id": ("Client order id", None), "trade_id": ("Trade id", None)})
else:
    st.info("No trades for this filter. Fills appear here as the engine's quotes get filled.")

st.download_button("Export CSV", data=lambda: service.trades_export(engine, flt), file_name="trades.csv",
                   mime="text/csv", disabled=totals["trades"] == 0,
                   help="Exactly the filtered trades, oldest first. Columns: " + ", ".join(
                       f"{k} ({v})" for k, v in service.CSV_DOC.items()))
