"""The console: the process's market-making engine and the market it trades.

Run: streamlit run app.py   (binds to 127.0.0.1; see .streamlit/config.toml). ``MM_CONFIG_DIR`` picks another
config directory (default ./config). The full console (login, pages) is the console issue's; this page shows
the engine's state and lets the operator start, pause, resume and stop it.
"""

from __future__ import annotations

import atexit
import os

import streamlit as st

from engine.config import ConfigError
from engine.market_view import book_depth_figure, candles_figure, market_summary
from engine.runtime import HALTED, PAUSED, RUNNING, STOPPED, Engine, ensure_engine, stop_all_engines

st.set_page_config(page_title="Market maker console", page_icon="📈", layout="wide")


@st.cache_resource
def _engine_lookup(config_dir: str) -> Engine:
    """Only caches the lookup: the one Engine lives in ensure_engine's registry, whatever the cache does."""
    from engine.logs import setup_logging

    engine = ensure_engine(config_dir or None)
    setup_logging(engine.config, console=True)
    atexit.register(stop_all_engines)
    return engine


try:
    engine = _engine_lookup(os.environ.get("MM_CONFIG_DIR", ""))
except ConfigError as exc:
    st.error(f"The configuration cannot be loaded: {exc}")
    st.stop()

st.title("Market maker")
st.caption(f"Venue: **{engine.trader.name}** · symbols: {', '.join(engine.trader.symbols)} · "
           f"risk mode: **{engine.config.strategy.risk_mode}**")
if engine.error:
    st.error(engine.error)

controls = st.columns(4)
if controls[0].button("Start", disabled=engine.state != STOPPED, width="stretch"):
    try:
        engine.start()
    except Exception as exc:  # the page stays usable; the reason is shown
        st.error(f"Could not start: {exc}")
    st.rerun()
if controls[1].button("Pause", disabled=engine.state != RUNNING, width="stretch"):
    engine.pause()
    st.rerun()
if controls[2].button("Resume", disabled=engine.state != PAUSED, width="stretch"):
    engine.resume()
    st.rerun()
if controls[3].button("Stop (cancels orders)", disabled=engine.state == STOPPED, width="stretch"):
    engine.stop()
    st.rerun()

if engine.state == HALTED:
    st.error(f"HALTED: {engine.reason}. Nothing is quoted until you re-arm.")
    if st.button("Re-arm (resume trading)"):
        engine.rearm()
        st.rerun()
with st.expander("Kill switch", expanded=False):
    st.write("Halts trading, cancels every order of the engine and, if chosen, closes every position with market "
             "orders. Trading stays halted until re-armed (also after a restart).")
    close_positions = st.checkbox("Also close all positions")
    confirmed = st.checkbox("I understand: halt trading now")
    if st.button("KILL", type="primary", disabled=not confirmed or engine.state == STOPPED):
        result = engine.kill("kill switch from the console", close_positions=close_positions, source="console")
        st.warning(f"Halted. Orders still live: {result['orders_left']}; closed: {', '.join(result['closed']) or '—'}")
        st.rerun()


@st.fragment(run_every=2)
def live() -> None:
    s = engine.summary()
    cols = st.columns(6)
    cols[0].metric("Engine", s["state"])
    cols[1].metric("Equity", f"{s['equity']:,.2f} USDT" if s["equity"] is not None else "—")
    cols[2].metric("Open orders", s["open_orders"])
    cols[3].metric("Fills", s["fills"])
    cols[4].metric("Realized PnL", f"{s['realized_pnl']:,.2f} USDT")
    cols[5].metric("Fees", f"{s['fees']:,.2f} USDT")
    if s["state"] == STOPPED:
        st.info("The engine is stopped: no orders rest on the exchange. Press Start to quote.")
    now = engine.clock.now_ms()
    breakers = engine.risk.board.active()
    if breakers:
        st.warning("Open breakers: " + "; ".join(
            f"{b.breaker} on {b.scope} ({b.state}, "
            + ("until re-armed" if b.until_ms is None else f"{b.remaining_s(now):.0f}s left") + ")"
            for b in breakers))
    if engine.risk_stale:
        st.error("Risk checks are stale: quoting is paused until the risk job runs again.")
    symbol = st.session_state.get("symbol", engine.trader.symbols[0])
    venue = engine.exchange
    ticker = venue.fetch_ticker(symbol)
    book = venue.fetch_order_book(symbol, 25)
    m = market_summary(ticker, book)
    mcols = st.columns(5)
    mcols[0].metric("Last", f"{m['last']:,.{m['decimals']}f} {m['quote']}")
    mcols[1].metric("Bid", f"{m['bid']:,.{m['decimals']}f}")
    mcols[2].metric("Ask", f"{m['ask']:,.{m['decimals']}f}")
    mcols[3].metric("Spread", f"{m['spread_bps']:.2f} bps")
    mcols[4].metric("24h change", f"{m['change_pct']:+.2f}%")
    left, right = st.columns(2)
    left.plotly_chart(candles_figure(venue.fetch_ohlcv(symbol, "1m", limit=120), symbol), width="stretch")
    right.plotly_chart(book_depth_figure(book), width="stretch")
    st.caption(f"Updated {ticker['datetime']} (UTC)")


st.selectbox("Market", engine.trader.symbols, key="symbol")
live()
