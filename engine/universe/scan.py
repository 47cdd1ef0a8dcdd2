"""Measure an exchange's markets for the symbol universe: which are eligible, their 24 h volume and spread (one
``fetch_tickers``), and the depth near the top of the book of the most traded (one ``fetch_order_book`` each)."""

from __future__ import annotations

import logging
from typing import Any

import ccxt

from engine.universe.ranking import Candidate, Filters

log = logging.getLogger("engine.universe")
BOOK_DEPTH = 20  # levels read per book
DEPTH_BUDGET = 2  # books read per scan: this many times max_symbols, the most traded first


def eligible(markets: dict[str, dict], quote: str, market: str, exclude_bases: set[str],
             refused: set[str]) -> list[str]:
    """Active markets of ``quote`` of the wanted type (spot | swap | any), bases not excluded, symbols not refused
    (disabled on the safe list)."""
    out = []
    for symbol, m in markets.items():
        if m.get("active") is False or m.get("quote") != quote or symbol in refused:
            continue
        if m.get("base") in exclude_bases:
            continue
        kind = "swap" if m.get("swap") and m.get("linear", True) is not False else "spot" if m.get("spot") else None
        if kind is None or (market != "any" and kind != market):
            continue
        out.append(symbol)
    return sorted(out)


def volume_usd(ticker: dict, contract_size: float) -> float | None:
    """24 h volume in the quote currency: ``quoteVolume``, else ``baseVolume`` x the average price."""
    if ticker.get("quoteVolume") is not None:
        return float(ticker["quoteVolume"])
    base, price = ticker.get("baseVolume"), ticker.get("vwap") or ticker.get("last")
    if base is None or not price:
        return None
    return float(base) * float(price) * contract_size


def spread_bps(bid: float | None, ask: float | None) -> float | None:
    if not bid or not ask or ask <= bid:
        return None
    return (ask - bid) / ((ask + bid) / 2) * 1e4


def depth_usd(book: dict, within_bps: float, contract_size: float) -> float | None:
    """The thinner side's notional within ``within_bps`` of the mid; None without a two-sided book."""
    if not book.get("bids") or not book.get("asks"):
        return None
    mid = (book["bids"][0][0] + book["asks"][0][0]) / 2
    lo, hi = mid * (1 - within_bps / 1e4), mid * (1 + within_bps / 1e4)
    bids = sum(p * q for p, q, *_ in book["bids"] if p >= lo)
    asks = sum(p * q for p, q, *_ in book["asks"] if p <= hi)
    return min(bids, asks) * contract_size


def measure(ex: Any, symbols: list[str], filters: Filters, max_symbols: int) -> list[Candidate]:
    """Every symbol's volume and spread; the depth of the ``DEPTH_BUDGET x max_symbols`` most traded of those
    that pass the volume and spread filters. A failed ticker request fails the scan (the caller keeps the universe
    it has); a failed book leaves that one market unmeasured."""
    if not symbols:
        return []
    if ex.has.get("fetchTickers"):
        tickers = ex.fetch_tickers(symbols)
    else:
        tickers = {s: ex.fetch_ticker(s) for s in symbols}
    cands = []
    for s in symbols:
        t = tickers.get(s)
        size = (ex.markets.get(s) or {}).get("contractSize") or 1.0
        if t is None:
            cands.append(Candidate(s, None, None, None, "no ticker"))
            continue
        cands.append(Candidate(s, volume_usd(t, size), spread_bps(t.get("bid"), t.get("ask"))))
    worth = sorted((c for c in cands if c.spread_bps is not None and (c.volume_usd or 0.0) >= filters.min_volume_usd
                    and c.spread_bps <= filters.max_spread_bps), key=lambda c: -(c.volume_usd or 0.0))
    budget = DEPTH_BUDGET * max_symbols
    measured: dict[str, Candidate] = {}
    for i, c in enumerate(worth):
        if i >= budget:
            measured[c.symbol] = Candidate(c.symbol, c.volume_usd, c.spread_bps, None,
                                           f"depth not measured (beyond the {budget} most traded)")
            continue
        size = (ex.markets.get(c.symbol) or {}).get("contractSize") or 1.0
        try:
            book = ex.fetch_order_book(c.symbol, BOOK_DEPTH)
        except (ccxt.NetworkError, ccxt.ExchangeError) as exc:
            measured[c.symbol] = Candidate(c.symbol, c.volume_usd, c.spread_bps, None,
                                           f"order book not read ({type(exc).__name__})")
            continue
        measured[c.symbol] = Candidate(c.symbol, c.volume_usd, c.spread_bps, depth_usd(book, filters.depth_bps, size))
    return [measured.get(c.symbol, c) for c in cands]
