"""The console (placeholder until the console issue): the simulated market's price and book, live.

Run: streamlit run app.py   (binds to 127.0.0.1; see .streamlit/config.toml)
"""

from __future__ import annotations

import streamlit as st

from engine.exchanges import create_exchange
from engine.exchanges.sim import SimExchange
from engine.market_view import book_depth_figure, candles_figure, market_summary

st.set_page_config(page_title="Market maker console", page_icon="📈", layout="wide")


@st.cache_resource
def paper_venue() -> SimExchange:
    """The built-in simulated venue, its paper account kept in data/sim_state.sqlite."""
    return create_exchange("sim", {"state_path": "data/sim_state.sqlite"})


venue = paper_venue()
st.title("Simulated exchange")
st.caption("Built-in venue: a synthetic market that moves in real time. No account and no network needed.")
symbol = st.selectbox("Market", venue.symbols, index=0)


@st.fragment(run_every=2)
def live(symbol: str) -> None:
    ticker = venue.fetch_ticker(symbol)
    book = venue.fetch_order_book(symbol, 25)
    s = market_summary(ticker, book)
    cols = st.columns(5)
    cols[0].metric("Last", f"{s['last']:,.{s['decimals']}f} {s['quote']}")
    cols[1].metric("Bid", f"{s['bid']:,.{s['decimals']}f}")
    cols[2].metric("Ask", f"{s['ask']:,.{s['decimals']}f}")
    cols[3].metric("Spread", f"{s['spread_bps']:.2f} bps")
    cols[4].metric("24h change", f"{s['change_pct']:+.2f}%")
    left, right = st.columns(2)
    left.plotly_chart(candles_figure(venue.fetch_ohlcv(symbol, "1m", limit=120), symbol), width="stretch")
    right.plotly_chart(book_depth_figure(book), width="stretch")
    st.caption(f"Updated {ticker['datetime']} (UTC)")


live(symbol)
