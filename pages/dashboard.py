"""Dashboard (seed "Dashboard.tsx"): equity, PnL an operator can read, health, sides not quoted and why, the active
markets, the equity curve, our ladder."""

from __future__ import annotations

import streamlit as st

from engine import service
from engine.charts import equity_figure, ladder_figure
from engine.paper_status import paper_feeds
from ui import fmt
from ui.page import page
from ui.tables import table

engine = page("Dashboard")

PNL_HELP = service.PNL_DEFINITIONS


def money(v: float, _row: dict | None = None) -> str:
    return fmt.money(v, ccy="", signed=True)


def pnl_metrics(s: dict) -> None:
    c = st.columns(4)
    c[0].metric("Spread capture (USDT)", money(s["spread_capture"]), help=PNL_HELP["spread_capture"])
    c[1].metric("Fees (USDT)", fmt.money(s["fees"], ccy=""), help=PNL_HELP["fees"])
    c[2].metric("Trading PnL net of fees (USDT)", money(s["trading_net"]), help=PNL_HELP["trading_net"])
    c[3].metric("Inventory PnL (USDT)", money(s["inventory_pnl"]), help=PNL_HELP["inventory_pnl"])


@st.fragment(run_every=2)
def live() -> None:
    for feed in paper_feeds(engine):
        st.info(feed["headline"], icon=":material/sensors:")
        if feed["problem"]:
            st.warning(feed["problem"])
    s = service.summary(engine)
    c = st.columns(4)
    c[0].metric("Total equity (USDT)", fmt.money(s["equity"], ccy=""))
    c[1].metric("Net PnL (USDT)", money(s["net_pnl"]), help=PNL_HELP["net_pnl"])
    c[2].metric("Equity change today (USDT)", fmt.money(s["daily_pnl"], ccy="", signed=True),
                help="today's change of total equity: net PnL plus the price moves of what the account held at the "
                     "start of the day")
    c[3].metric("Risk mode", s["risk_mode"].replace("_", " ").title())
    pnl_metrics(s)
    st.caption("Spread capture = the fills against the mid each order was priced at · Trading PnL = spread capture - "
               "fees · Inventory PnL = realized + unrealized - spread capture · Net PnL = trading + inventory. "
               "Equity change today also counts price moves of the holdings the day started with.")
    c = st.columns(4)
    c[0].metric("Open orders", s["open_orders"])
    c[1].metric("Exchanges that can quote", f"{s['exchanges_healthy']} of {s['exchanges']}")
    c[2].metric("Open breakers", s["open_breakers"])
    c[3].metric("Fills", f"{s['fills']:,}")
    ops = service.operations(engine)
    if ops["ts"]:
        c = st.columns(4)
        c[0].metric("Fills per minute", f"{ops['fills_per_minute']:,.1f}")
        c[1].metric("Volume (USDT)", fmt.money(ops["volume"], ccy=""), help="traded notional of every stored fill")
        c[2].metric("Quoted spread", fmt.bps(ops["quoted_spread_bps"]),
                    help="our best ask minus our best bid, in bps of the mid (the median over the quoted markets)")
        c[3].metric(f"Sharpe ({ops['sharpe_window_min']} min)",
                    "—" if ops["sharpe"] is None else f"{ops['sharpe']:,.2f}",
                    help="of equity sampled by the metrics job over the window, annualised")
        c = st.columns(4)
        c[0].metric("API latency", "—" if ops["latency_ms"] is None else f"{ops['latency_ms']:,.0f} ms",
                    help="the median of the latest requests (the slowest exchange)")
        c[1].metric("Request success (1 min)", f"{ops['success_rate']:.1%}" if ops["success_rate"] is not None
                    else "—", help="the lowest exchange's share of requests that succeeded in the last minute")
        c[2].metric("API calls (1 min)", f"{ops['calls_last_minute']:,}")
        c[3].metric("Uptime", fmt.duration(ops["uptime_s"]))
        if ops["prometheus"]:
            st.caption(f"Prometheus scrapes these at {ops['prometheus']}")
    if s["state"] == "STOPPED":
        st.info("The engine is stopped: nothing is quoted. Press Start in the sidebar.")
    elif s["state"] == "HALTED":
        st.error(f"Trading is halted: {s['reason']}. Re-arm in the sidebar or on Risk controls.")
    elif s["state"] == "PAUSED":
        st.warning(f"Quoting is paused: {s['reason'] or 'by the operator'}. Resume in the sidebar.")
    elif s["exchanges_healthy"] < s["exchanges"]:
        st.warning(f"Only {s['exchanges_healthy']} of {s['exchanges']} exchanges can quote: see Exchange connections.")
    gaps = service.unquoted(engine) if s["state"] == "RUNNING" else []
    if gaps:
        st.warning("Not quoted now:\n" + "\n".join(
            f"- **{g['symbol']}** {g['side']} side" + (f" on {g['exchange']}" if len(engine.traders) > 1 else "")
            + f": {g['why']}" for g in gaps))
    rows = service.market_rows(engine)
    if rows:
        cols = {
            "symbol": ("Symbol", None),
            "price": ("Price", lambda v, r: fmt.price(v, r["tick"])),
            "change_24h_pct": ("24h change", lambda v, r: fmt.pct(v)),
            "volume_24h": ("24h volume (USDT)", lambda v, r: fmt.fixed(v, 0)),
            "spread_bps": ("Spread (bps)", lambda v, r: fmt.fixed(v, 2)),
            "volatility_bps": ("Volatility (bps/min)", lambda v, r: fmt.fixed(v, 2)),
            "inventory": ("Our inventory", lambda v, r: fmt.amount(v, r["lot"])),
            "inventory_usd": ("Inventory (USDT)", lambda v, r: fmt.fixed(v, 2)),
            "quoted_spread_bps": ("Our spread (bps)", lambda v, r: fmt.fixed(v, 2)),
            "open_orders": ("Our orders", None),
        }
        if len(engine.traders) > 1:
            cols = {"exchange": ("Exchange", None), **cols}
        table(rows, cols)
    universe()
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


def universe() -> None:
    """The symbol universe (seed 000): every symbol in it, its state and why it is in, and the next ranked."""
    u = service.universe_view(engine)
    if not u["enabled"] and not any(r["state"] == "leaving" for r in u["rows"]):
        return
    st.subheader("Symbol universe")
    if not u["refreshed_ms"]:
        st.info("The first scan runs within 10 s of the start; until then the safe list quotes alone.")
        return
    st.caption(f"{u['count']} symbols (min {u['min']}, max {u['max']}) · {u['passing']} of {u['scanned']} markets "
               f"pass the filters · last scan {fmt.utc(u['refreshed_ms'])} · ranked 50% 24 h volume, 30% depth, "
               "20% spread" + ("" if u["enabled"] else " · the universe is off: its symbols are leaving"))
    if u["shortfall"]:
        st.warning(u["shortfall"])
    for venue, error in u["errors"].items():
        st.warning(f"{venue} was not scanned ({error}); its universe stays as it is")
    cols = {
        "symbol": ("Symbol", None), "state": ("State", None), "why": ("Why", None),
        "score": ("Score", lambda v, r: fmt.fixed(v, 3)), "volume_24h": ("24h volume", None),
        "spread_bps": ("Spread (bps)", lambda v, r: fmt.fixed(v, 2)), "depth": ("Depth", None),
    }
    if len(engine.traders) > 1:
        cols = {"exchange": ("Exchange", None), **cols}
    table(u["rows"], cols, key="universe")


markets = [(t.name, s) for t in engine.traders for s in t.symbols]
if not markets:
    st.info("No symbol is enabled: enable one under symbols.<exchange> in the config (or on Strategies).")
    st.stop()
st.selectbox("Market for the price chart", markets, key="dash_market",
             format_func=lambda m: m[1] if len(engine.traders) == 1 else f"{m[1]} · {m[0]}")
live()
