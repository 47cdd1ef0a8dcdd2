"""Market data without burning the rate limit (seed 004 "Multi-Symbol Feed Handler").

:class:`BookFeed` keeps the latest order book of every symbol, pushed by the exchange's websocket API (ccxt.pro
``watch_order_book``: all subscriptions share one connection per exchange). It runs in a feed thread with its own
asyncio event loop. A failed watch reconnects with exponential backoff and jitter; the trader reads the feed's book
while it is fresh and falls back to REST (within the request budget) when it is not. The same thread streams
tickers of every configured symbol (``watch_tickers``: marks for what the account holds).

:class:`AccountFeed` streams the account: our fills (``watch_my_trades``) and our orders' changes
(``watch_orders``), so the trader learns of fills, cancellations and expiries without polling; REST remains the
safety net.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import deque
from typing import Any

import ccxt

log = logging.getLogger(__name__)


class SimWatcher:
    """The simulated exchange behind ccxt.pro's ``watch_order_book`` interface: a new book every ``interval_s``.

    Its faults (error rates, latency spikes) reach the feed as they would from a real socket.
    """

    has = {"watchOrderBook": True, "watchMyTrades": True, "watchOrders": True, "watchTickers": True}

    def __init__(self, venue: ccxt.Exchange, interval_s: float = 0.1) -> None:
        self.venue = venue
        self.interval_s = interval_s
        self._since: int | None = None
        self._seen: set[str] = set()
        self._order_state: dict[str, tuple[str, float]] = {}  # order id -> (status, filled) last pushed
        self._orders_since: int | None = None

    async def watch_order_book(self, symbol: str, limit: int | None = None) -> dict:
        await asyncio.sleep(self.interval_s)
        return await asyncio.to_thread(self.venue.fetch_order_book, symbol, limit)

    async def watch_my_trades(self, symbol: str | None = None, since: int | None = None,
                              limit: int | None = None) -> list[dict]:
        """New fills since the last call (waits until there is at least one, as a socket would)."""
        while True:
            await asyncio.sleep(self.interval_s)
            trades = await asyncio.to_thread(self.venue.fetch_my_trades, None, self._since)
            new = [t for t in trades if t["id"] not in self._seen]
            if new:
                self._seen.update(t["id"] for t in new)
                self._since = max(t["timestamp"] for t in new)
                return new

    async def watch_orders(self, symbol: str | None = None, since: int | None = None,
                           limit: int | None = None) -> list[dict]:
        """Orders whose status or filled amount changed since the last call (waits for at least one)."""
        while True:
            await asyncio.sleep(self.interval_s)
            orders = await asyncio.to_thread(self._orders_now)
            changed = [o for o in orders if self._order_state.get(o["id"]) != (o["status"], o["filled"])]
            if changed:
                for o in changed:
                    self._order_state[o["id"]] = (o["status"], o["filled"])
                    if o["status"] != "open":
                        self._orders_since = max(self._orders_since or 0, o.get("lastUpdateTimestamp") or 0)
                return changed

    def _orders_now(self) -> list[dict]:
        return self.venue.fetch_open_orders() + self.venue.fetch_closed_orders(None, self._orders_since)

    async def watch_tickers(self, symbols: list[str] | None = None) -> dict:
        await asyncio.sleep(self.interval_s * 5)
        return await asyncio.to_thread(self.venue.fetch_tickers, symbols)

    async def close(self) -> None:
        return None


class FeedThread:
    """A websocket watcher driven by its own asyncio event loop in a thread; failed watches reconnect with backoff."""

    name = "feed"

    def __init__(self, watcher: Any, backoff_base_s: float = 0.5, backoff_max_s: float = 30.0) -> None:
        self.watcher = watcher
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stopping = False
        self.updates = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self.failing: set[str] = set()  # streams whose last watch failed (their data comes over REST meanwhile)

    # ------------------------------------------------------------------------------ the thread
    def start(self) -> None:
        started = threading.Event()

        def run() -> None:
            self._loop = asyncio.new_event_loop()
            asyncio.set_event_loop(self._loop)
            started.set()
            try:
                self._loop.run_until_complete(self._main())
            except BaseException as exc:
                self.last_error = f"feed thread ended: {exc!r}"
                log.error("%s", self.last_error)
                raise
            finally:
                self._loop.run_until_complete(self._loop.shutdown_asyncgens())
                self._loop.close()

        self._stopping = False
        self._thread = threading.Thread(target=run, name=self.name, daemon=True)
        self._thread.start()
        started.wait(5)

    def stop(self, timeout_s: float = 5.0) -> None:
        self._stopping = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            try:
                loop.call_soon_threadsafe(self._cancel_all)
            except RuntimeError:  # the loop closed meanwhile: the thread is finishing by itself
                pass
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _cancel_all(self) -> None:
        for task in asyncio.all_tasks():
            task.cancel()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def streams(self) -> list[Any]:
        """The coroutines to run (one per subscription)."""
        raise NotImplementedError

    async def _main(self) -> None:
        try:
            await asyncio.gather(*self.streams())
        except asyncio.CancelledError:
            pass
        finally:
            try:
                await self.watcher.close()
            except Exception:  # noqa: BLE001 - closing a broken socket must not hide the shutdown
                pass

    async def _loop_watch(self, label: str, watch: Any, on_data: Any) -> None:
        """Call ``watch()`` forever, handing results to ``on_data``; reconnect with backoff and jitter on failure."""
        failures = 0
        while not self._stopping:
            try:
                data = await watch()
            except asyncio.CancelledError:
                if self._stopping:
                    raise
                failures += 1  # cancelled by something other than stop(): reconnect
                self.reconnects += 1
                self.last_error = f"{label}: watch cancelled"
                await asyncio.sleep(self.backoff_base_s)
                continue
            except (ccxt.NotSupported, ccxt.ArgumentsRequired) as exc:  # it will never work: REST it is
                self.failing.add(label)
                self.last_error = f"{label}: {type(exc).__name__}: {exc}"[:300]
                log.warning("%s %s: not available over the websocket (%s); polling over REST", self.name, label, exc)
                return
            except Exception as exc:  # noqa: BLE001 - every failure means: reconnect after a pause
                self.failing.add(label)
                failures += 1
                self.reconnects += 1
                self.last_error = f"{label}: {type(exc).__name__}: {exc}"[:300]
                delay = min(self.backoff_max_s, self.backoff_base_s * 2 ** (failures - 1))
                delay *= random.uniform(0.75, 1.25)  # jitter: many streams do not reconnect in lockstep
                log.warning("%s %s: %s; reconnecting in %.1fs", self.name, label, type(exc).__name__, delay)
                await asyncio.sleep(delay)
                continue
            failures = 0
            self.failing.discard(label)
            with self._lock:
                on_data(data)
                self.updates += 1


class BookFeed(FeedThread):
    """Latest books per symbol from a websocket watcher."""

    name = "book-feed"

    def __init__(self, watcher: Any, symbols: list[str], max_age_s: float = 2.0, depth: int = 10,
                 backoff_base_s: float = 0.5, backoff_max_s: float = 30.0, ticker_symbols: list[str] | None = None,
                 ticker_max_age_s: float = 15.0) -> None:
        super().__init__(watcher, backoff_base_s, backoff_max_s)
        self.symbols = list(symbols)
        self.max_age_s = max_age_s
        self.depth = depth
        self._books: dict[str, tuple[float, dict]] = {}
        # Tickers of more symbols (every configured one, quoted or not): marks for what the account holds.
        self.ticker_symbols = list(ticker_symbols or [])
        self.ticker_max_age_s = ticker_max_age_s
        self._tickers: dict[str, tuple[float, dict]] = {}

    def streams(self) -> list[Any]:
        out = [self._book_stream(s) for s in self.symbols]
        if self.ticker_symbols:
            out.append(self._loop_watch("tickers", lambda: self.watcher.watch_tickers(self.ticker_symbols),
                                        self._store_tickers))
        return out

    def watch(self, symbols: list[str]) -> None:
        """Stream the books of ``symbols`` not streamed yet, on the running feed (a symbol no longer quoted keeps its
        stream: the trader just stops reading it)."""
        new = [s for s in symbols if s not in self.symbols]
        if not new:
            return
        self.symbols.extend(new)
        loop = self._loop
        if loop is None or loop.is_closed() or not self.running:
            return  # not started yet: start() streams every symbol listed
        for s in new:
            asyncio.run_coroutine_threadsafe(self._book_stream(s), loop)
        log.info("%s: websocket order books now also for %s", self.name, ", ".join(new))

    def _book_stream(self, s: str) -> Any:
        return self._loop_watch(s, lambda: self.watcher.watch_order_book(s, self.depth),
                                lambda book: self._books.__setitem__(s, (time.monotonic(), book)))

    def _store_tickers(self, tickers: dict) -> None:
        now = time.monotonic()
        for symbol, t in tickers.items():
            self._tickers[symbol] = (now, t)

    # ------------------------------------------------------------------------------ readers
    def latest(self, symbol: str) -> dict | None:
        """The newest book of ``symbol`` if it is fresh, else None (the caller falls back to REST)."""
        return self._fresh(self._books, symbol, self.max_age_s)

    def ticker(self, symbol: str) -> dict | None:
        """The newest streamed ticker of ``symbol`` if it is fresh, else None."""
        return self._fresh(self._tickers, symbol, self.ticker_max_age_s)

    def _fresh(self, store: dict[str, tuple[float, dict]], symbol: str, max_age_s: float) -> dict | None:
        with self._lock:
            entry = store.get(symbol)
        if entry is None or time.monotonic() - entry[0] > max_age_s:
            return None
        return entry[1]


class AccountFeed(FeedThread):
    """Our fills and order updates as the exchange pushes them (ccxt.pro ``watch_my_trades``, ``watch_orders``);
    the trader drains both each cycle. Either stream runs only where the exchange offers it."""

    name = "account-feed"

    def __init__(self, watcher: Any, fills: bool = True, orders: bool = True, backoff_base_s: float = 0.5,
                 backoff_max_s: float = 30.0, max_buffer: int = 50_000) -> None:
        super().__init__(watcher, backoff_base_s, backoff_max_s)
        self.fills = fills
        self.orders = orders
        self._fills: deque[dict] = deque(maxlen=max_buffer)
        self._orders: deque[dict] = deque(maxlen=max_buffer)
        self.order_updates = 0

    def streams(self) -> list[Any]:
        out = []
        if self.fills:
            out.append(self._loop_watch("my trades", self.watcher.watch_my_trades, self._fills.extend))
        if self.orders:
            out.append(self._loop_watch("orders", self.watcher.watch_orders, self._add_orders))
        return out

    @property
    def fills_up(self) -> bool:
        """Whether fills are streaming now (else the trader polls them over REST at its usual pace)."""
        return self.fills and self.running and "my trades" not in self.failing

    @property
    def orders_up(self) -> bool:
        """Whether order updates are streaming now (else reconciliation runs at its usual pace)."""
        return self.orders and self.running and "orders" not in self.failing

    def _add_orders(self, orders: list[dict]) -> None:
        self._orders.extend(orders)
        self.order_updates += len(orders)

    def drain(self) -> list[dict]:
        """Streamed fills not yet taken."""
        return self._take(self._fills)

    def drain_orders(self) -> list[dict]:
        """Streamed order updates not yet taken, oldest first."""
        return self._take(self._orders)

    def _take(self, buffer: deque[dict]) -> list[dict]:
        with self._lock:
            out = list(buffer)
            buffer.clear()
        return out


def watcher_for(exchange: ccxt.Exchange) -> Any:
    """ccxt.pro's twin of a ccxt exchange (same credentials and options), or the simulated exchange's watcher."""
    from engine.exchanges.profiles import profile_for

    if profile_for(exchange.id).in_process_watcher:
        return SimWatcher(exchange)
    import ccxt.pro as pro

    from engine.exchanges.factory import override_urls

    cls = getattr(pro, exchange.id, None)
    if cls is None:
        raise ValueError(f"{exchange.id} has no websocket API in ccxt.pro; the engine polls it over REST")
    twin = cls({"apiKey": exchange.apiKey, "secret": exchange.secret, "password": exchange.password,
                "options": dict(exchange.options), "enableRateLimit": True})
    if getattr(exchange, "isSandboxModeEnabled", False):
        twin.set_sandbox_mode(True)  # a testnet key streams from the testnet, never from the live exchange
    if exchange.options.get("consoleApiUrl"):
        override_urls(twin, exchange.options["consoleApiUrl"])  # a gateway or a local imitation: never the real host
    return twin
