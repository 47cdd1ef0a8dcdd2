"""The streams behind paper trading on live data: a real exchange's public books and trades, over its websocket
(ccxt.pro) or polled over REST, in a :class:`engine.feed.FeedThread` (the live feed's reconnects, backoff and jitter).

Each stream hands what it got to callbacks (``on_trades(symbol, trades)``, ``on_book(symbol, book)``) on the feed's
thread; :class:`engine.exchanges.sim.live_source.LiveSource` queues them for the venue, which applies them in the
order they arrived.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from typing import Any

import ccxt

from engine.feed import FeedThread

log = logging.getLogger(__name__)

TRADES_PER_POLL = 500
FUNDING_EVERY_S = 60.0  # a perpetual's funding rate changes slowly: read once a minute


class RestMarketWatcher:
    """One poll of a symbol's market over REST: its new public trades, then its book (trades first, so a print and
    the book that already shows it never both shorten the queue ahead of our orders)."""

    has = {"watchOrderBook": True, "watchTrades": True}

    def __init__(self, client: ccxt.Exchange, poll_s: float) -> None:
        self.client = client
        self.poll_s = poll_s
        self._since: dict[str, int] = {}
        self._lock = threading.Lock()  # one ccxt client, polled from several threads of the pool

    def _poll(self, symbol: str, depth: int) -> tuple[list[dict], dict]:
        with self._lock:
            since = self._since.get(symbol)
            trades = self.client.fetch_trades(symbol, since, TRADES_PER_POLL)
            book = self.client.fetch_order_book(symbol, depth)
        if trades:
            # The next poll asks from the newest print on: it comes back again and is dropped by its id.
            self._since[symbol] = max(t["timestamp"] or 0 for t in trades)
        return trades, book

    def funding_rate(self, symbol: str) -> float:
        """The perpetual's current funding rate, read over REST (blocking)."""
        with self._lock:
            return float(self.client.fetch_funding_rate(symbol)["fundingRate"])

    async def watch_market(self, symbol: str, depth: int) -> tuple[list[dict], dict]:
        await asyncio.sleep(self.poll_s)
        return await asyncio.to_thread(self._poll, symbol, depth)

    async def close(self) -> None:
        return None


class LiveMarketFeed(FeedThread):
    """Books and trades of ``symbols`` from ``watcher``: ccxt.pro's ``watch_order_book`` and ``watch_trades`` (one
    stream each per symbol), or a :class:`RestMarketWatcher` (one poll stream per symbol)."""

    name = "paper-feed"

    def __init__(self, watcher: Any, symbols: list[str], depth: int,
                 on_trades: Callable[[str, list[dict]], None], on_book: Callable[[str, dict], None],
                 backoff_base_s: float = 0.5, backoff_max_s: float = 30.0,
                 funding: Callable[[str], float] | None = None, perpetuals: list[str] = (),
                 on_funding: Callable[[str, float], None] | None = None) -> None:
        super().__init__(watcher, backoff_base_s, backoff_max_s)
        self.funding = funding  # reads a perpetual's current funding rate (REST, blocking)
        self.perpetuals = list(perpetuals)
        self.on_funding = on_funding
        self.symbols = list(symbols)
        self.depth = depth
        self.on_trades = on_trades
        self.on_book = on_book
        self.websocket = not isinstance(watcher, RestMarketWatcher)
        self._funded: set[str] = set()

    def streams(self) -> list[Any]:
        out = []
        for s in self.symbols:
            if self.websocket:
                out.append(self._loop_watch(f"{s} book", lambda s=s: self.watcher.watch_order_book(s),
                                            lambda book, s=s: self.on_book(s, _copy_book(book, self.depth))))
                out.append(self._loop_watch(f"{s} trades", lambda s=s: self.watcher.watch_trades(s),
                                            lambda trades, s=s: self.on_trades(s, list(trades))))
            else:
                out.append(self._loop_watch(s, lambda s=s: self.watcher.watch_market(s, self.depth),
                                            lambda got, s=s: self._polled(s, got)))
        if self.funding is not None and self.on_funding is not None:
            for s in self.perpetuals:
                out.append(self._loop_watch(f"{s} funding", lambda s=s: self._watch_funding(s),
                                            lambda rate, s=s: self.on_funding(s, rate)))
        return out

    async def _watch_funding(self, symbol: str) -> float:
        """The funding rate now (the first at once, then once every ``FUNDING_EVERY_S``)."""
        if symbol in self._funded:
            await asyncio.sleep(FUNDING_EVERY_S)
        self._funded.add(symbol)
        return await asyncio.to_thread(self.funding, symbol)

    def _polled(self, symbol: str, got: tuple[list[dict], dict]) -> None:
        trades, book = got
        self.on_trades(symbol, trades)
        self.on_book(symbol, _copy_book(book, self.depth))

    def stale_streams(self) -> list[str]:
        """The streams whose last watch failed (reconnecting now)."""
        with self._lock:
            return sorted(self.failing)


def _copy_book(book: dict, depth: int) -> dict:
    """The levels and sequence of a book as they are now (ccxt.pro updates its book object in place)."""
    return {"bids": [list(x[:2]) for x in book["bids"][:depth]], "asks": [list(x[:2]) for x in book["asks"][:depth]],
            "nonce": book.get("nonce"), "timestamp": book.get("timestamp")}


def websocket_watcher(client: ccxt.Exchange) -> Any | None:
    """ccxt.pro's public twin of ``client`` when it streams both books and trades, else None (poll over REST)."""
    try:
        import ccxt.pro as pro
    except ImportError:  # pragma: no cover - ccxt ships ccxt.pro
        return None
    cls = getattr(pro, client.id, None)
    if cls is None:
        return None
    twin = cls({"options": dict(client.options), "enableRateLimit": True, "timeout": client.timeout})
    if not (twin.has.get("watchOrderBook") and twin.has.get("watchTrades")):
        return None
    if client.options.get("consoleApiUrl"):
        from engine.exchanges.factory import override_urls

        override_urls(twin, client.options["consoleApiUrl"])  # a gateway or a local imitation: never the real host
    return twin
