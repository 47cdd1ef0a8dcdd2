"""Paper trading on live data: a real exchange's public market drives the simulated venue.

:class:`LiveSource` is a :class:`engine.exchanges.sim.source.MarketSource` fed by
:class:`engine.exchanges.sim.live_feed.LiveMarketFeed`. It needs no API key and never sends an order anywhere: the
venue matches our orders against the streamed books and prints with its queue-aware rules and books the fills in
its paper account.

What arrives is queued with its local receive time and applied, in arrival order, when the venue next moves
forward. A book whose sequence (``nonce``) is not newer than the one applied is dropped, and so is a print whose
trade id was already applied: after a reconnect, when a REST poll or a resubscribed stream repeats what was seen,
nothing is applied twice. A market whose book is older than ``stale_after_s`` (its stream is reconnecting) is not
served: the venue answers with ``ExchangeNotAvailable`` naming the stream, as a venue we cannot see would.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from typing import Any

import ccxt
from ccxt.base.decimal_to_precision import TICK_SIZE

from engine.clock import Clock
from engine.exchanges.sim.book import L2Book
from engine.exchanges.sim.config import SimConfigError, SourceConfig
from engine.exchanges.sim.live_feed import LiveMarketFeed, RestMarketWatcher, websocket_watcher
from engine.exchanges.sim.markets import MarketSpec
from engine.exchanges.sim.source import MarketSink

log = logging.getLogger(__name__)

SEEN_TRADES_KEPT = 5_000  # trade ids remembered per market, to drop repeats
INBOX_MAX = 200_000  # updates queued for the venue at most (it reads them every quoting cycle while the engine runs)
TRADE_FIELDS = ("id", "timestamp", "price", "amount", "side")
HISTORY_LIMIT = 1_000  # one-minute candles fetched for the warm-up (one request)


class _Market:
    """One streamed market: its book, its newest applied sequence, the trade ids already applied."""

    def __init__(self, spec: MarketSpec) -> None:
        self.spec = spec
        self.book = L2Book()
        self.nonce: int | None = None
        self.book_ms: int | None = None  # local time the applied book arrived
        self.seen: set[str] = set()
        self.seen_order: deque[str] = deque()
        self.books = 0
        self.trades = 0
        self.repeats_dropped = 0
        self.stale_books_dropped = 0

    def saw(self, key: str) -> bool:
        """Whether the print ``key`` was applied already (remembering it if not)."""
        if key in self.seen:
            return True
        self.seen.add(key)
        self.seen_order.append(key)
        if len(self.seen_order) > SEEN_TRADES_KEPT:
            self.seen.discard(self.seen_order.popleft())
        return False


class LiveSource:
    """A real exchange's public books and trades (see the module docstring)."""

    def __init__(self, cfg: SourceConfig, clock: Clock, maker: float, taker: float, fees_given: tuple[str, ...] = (),
                 client: ccxt.Exchange | None = None) -> None:
        self.cfg = cfg
        self.clock = clock
        self.exchange = cfg.exchange or ""
        if not cfg.symbols:
            raise SimConfigError("sim.source.symbols is empty: list the markets to paper trade (e.g. [BTC/USDT, "
                                 "ETH/USDT]), or enable them under symbols.sim")
        self.client = client or _public_client(cfg)
        markets = _load_markets(self.client, self.exchange)
        self.specs: dict[str, MarketSpec] = {}
        for symbol in cfg.symbols:
            m = markets.get(symbol)
            if m is None:
                near = sorted(s for s in markets if s.split("/")[0] == symbol.split("/")[0])[:5]
                raise SimConfigError(f"sim.source.symbols: {self.exchange} does not list {symbol!r}"
                                     + (f" (it lists {', '.join(near)})" if near else ""))
            self.specs[symbol] = spec_of(m, self.client.precisionMode,
                                         maker if "maker" in fees_given else None,
                                         taker if "taker" in fees_given else None)
        self.symbols = list(self.specs)
        self._markets = {s: _Market(spec) for s, spec in self.specs.items()}
        self._inbox: deque[tuple] = deque()
        self._lock = threading.Lock()
        self._booked: set[str] = set()
        self.compacted = 0  # updates dropped while nobody read the venue
        self._started_ms = clock.now_ms()
        self._history = self._fetch_history()
        watcher = websocket_watcher(self.client) if cfg.transport != "rest" else None
        if watcher is None and cfg.transport == "websocket":
            raise SimConfigError(f"sim.source.transport = 'websocket': ccxt.pro does not stream {self.exchange}'s "
                                 "books and trades; use transport: rest (or auto)")
        self.transport = "websocket" if watcher is not None else "rest"
        rest = RestMarketWatcher(self.client, cfg.poll_ms / 1000)
        perps = [s for s, spec in self.specs.items() if spec.contract]
        self._funding: dict[str, float] = {}
        self.feed = LiveMarketFeed(watcher or rest, self.symbols, cfg.depth, self._got_trades, self._got_book,
                                   funding=rest.funding_rate if self.client.has.get("fetchFundingRate") else None,
                                   perpetuals=perps, on_funding=self._funding.__setitem__)
        self._first_books = threading.Event()
        self.feed.start()
        if not self._first_books.wait(min(cfg.stale_after_s, 5.0)):  # quote from the first cycle on, when it can
            log.warning("sim: %s has not sent every first book yet (%s); those markets are not served until it does",
                        self.exchange, ", ".join(s for s in self.symbols if s not in self._booked))
        log.info("sim: paper trading on %s live data (%s over %s), no orders reach %s", self.exchange,
                 ", ".join(self.symbols), self.transport, self.exchange)

    # -- the feed's thread ------------------------------------------------------------------------
    def _got_trades(self, symbol: str, trades: list[dict]) -> None:
        now = self.clock.now_ms()
        rows = [("trade", symbol, now, {k: t.get(k) for k in TRADE_FIELDS})  # not ccxt's raw `info`
                for t in sorted(trades, key=lambda t: t.get("timestamp") or 0)]
        with self._lock:
            self._queue(rows)

    def _got_book(self, symbol: str, book: dict) -> None:
        with self._lock:
            self._queue([("book", symbol, self.clock.now_ms(), book)])
            self._booked.add(symbol)
            if len(self._booked) == len(self._markets):
                self._first_books.set()

    def _queue(self, rows: list[tuple]) -> None:
        """Queue ``rows`` for the venue, compacting a queue nobody reads (with the lock held)."""
        self._inbox.extend(rows)
        if len(self._inbox) > INBOX_MAX:
            self._compact()

    def _compact(self) -> None:
        """Nobody has read the venue for a long while (an idle console): keep each market's newest book and the
        newest prints only, so the queue stays bounded (with the lock held)."""
        newest = {}
        for i, row in enumerate(self._inbox):
            if row[0] == "book":
                newest[row[1]] = i
        kept = [row for i, row in enumerate(self._inbox) if row[0] == "trade" or newest.get(row[1]) == i]
        dropped = len(self._inbox) - len(kept)
        if len(kept) > INBOX_MAX // 2:
            dropped += len(kept) - INBOX_MAX // 2
            kept = kept[-(INBOX_MAX // 2):]
        self._inbox = deque(kept)
        self.compacted += dropped
        log.info("sim: the paper venue was not read for a while; %d superseded book and old print updates dropped",
                 dropped)

    # -- MarketSource ---------------------------------------------------------------------------------
    def start_ms(self) -> int | None:
        return None

    def advance(self, until_ms: int, sink: MarketSink, max_catchup_ms: int | None = None) -> None:
        """Apply, in arrival order, what the streams delivered up to ``until_ms``."""
        with self._lock:
            batch = []
            while self._inbox and self._inbox[0][2] <= until_ms:
                batch.append(self._inbox.popleft())
        for kind, symbol, at_ms, data in batch:
            if kind == "trade":
                self._apply_trade(symbol, at_ms, data, sink)
            else:
                self._apply_book(symbol, at_ms, data, sink)

    def _apply_trade(self, symbol: str, at_ms: int, t: dict, sink: MarketSink) -> None:
        m = self._markets[symbol]
        key = str(t.get("id") if t.get("id") is not None else
                  (t.get("timestamp"), t.get("price"), t.get("amount"), t.get("side")))
        if m.saw(key):
            m.repeats_dropped += 1
            return
        if (t.get("timestamp") or at_ms) < self._started_ms or not t.get("price") or not t.get("amount"):
            return  # printed before the venue opened (the warm-up candles hold it), or not a usable print
        m.trades += 1
        sink.on_trade(symbol, at_ms, round(t["price"] / m.spec.tick), float(t["amount"]), t.get("side") == "buy")

    def _apply_book(self, symbol: str, at_ms: int, book: dict, sink: MarketSink) -> None:
        m = self._markets[symbol]
        nonce = book.get("nonce")
        if nonce is not None and m.nonce is not None and int(nonce) <= m.nonce:
            m.stale_books_dropped += 1  # the same book again (or an older one, from before a reconnect)
            m.book_ms = at_ms  # it is still the market's book: the stream is alive
            return
        tick = m.spec.tick
        b = m.book
        b.clear()
        b.update([1] * len(book["bids"]) + [0] * len(book["asks"]),
                 [round(p / tick) for p, _ in book["bids"]] + [round(p / tick) for p, _ in book["asks"]],
                 [float(q) for _, q in book["bids"]] + [float(q) for _, q in book["asks"]])
        m.nonce = None if nonce is None else int(nonce)
        b.nonce = m.nonce
        b.ts_ms = at_ms
        m.book_ms = at_ms
        m.books += 1
        sink.on_book(symbol, at_ms)

    def book(self, symbol: str) -> L2Book:
        return self._markets[symbol].book

    def best(self, symbol: str) -> tuple[int | None, float, int | None, float]:
        return self._markets[symbol].book.top()

    def history(self) -> dict[str, list[list[float]]]:
        return self._history

    def state(self) -> dict:
        return {}

    def restore(self, state: dict) -> None:
        """Live data has nothing to resume: the market is where it is now."""

    # -- what the venue and the console ask -------------------------------------------------------------
    def funding_rate(self, symbol: str) -> float | None:
        """The exchange's current funding rate of the perpetual ``symbol`` (None until it was read)."""
        return self._funding.get(symbol)

    def stale_reason(self, symbol: str) -> str | None:
        """Why ``symbol``'s book cannot be served now, or None while it is fresh."""
        m = self._markets[symbol]
        now = self.clock.now_ms()
        if m.book_ms is None:
            since = (now - self._started_ms) / 1000
            if since <= self.cfg.stale_after_s:
                return f"paper trading: waiting for {self.exchange}'s first {symbol} book ({since:.0f} s)"
            return (f"paper trading: no {symbol} book from {self.exchange} in {since:.0f} s"
                    + self._failing_note(symbol))
        age = (now - m.book_ms) / 1000
        if age > self.cfg.stale_after_s:
            return (f"paper trading: {self.exchange}'s {symbol} book is {age:.0f} s old"
                    + self._failing_note(symbol))
        return None

    def _failing_note(self, symbol: str) -> str:
        failing = [s for s in self.feed.stale_streams() if s.startswith(symbol)]
        if failing:
            return f" (stream reconnecting: {self.feed.last_error})"
        return "" if self.feed.running else " (the stream stopped)"

    def status(self) -> dict[str, Any]:
        """The streams at a glance, for the dashboard and ``fetch_status``."""
        now = self.clock.now_ms()
        return {
            "exchange": self.exchange, "transport": self.transport, "symbols": list(self.symbols),
            "running": self.feed.running, "reconnects": self.feed.reconnects, "last_error": self.feed.last_error,
            "reconnecting": self.feed.stale_streams(),
            "markets": {s: {"book_age_s": None if m.book_ms is None else (now - m.book_ms) / 1000,
                            "books": m.books, "trades": m.trades, "repeats_dropped": m.repeats_dropped,
                            "stale": self.stale_reason(s) is not None} for s, m in self._markets.items()},
        }

    def close(self) -> None:
        """Stop the streams."""
        self.feed.stop()

    def _fetch_history(self) -> dict[str, list[list[float]]]:
        """One-minute candles before the start, for the strategies' warm-up (skipped when the exchange has none)."""
        out: dict[str, list[list[float]]] = {}
        if not self.cfg.warmup_minutes or not self.client.has.get("fetchOHLCV"):
            return out
        since = self._started_ms - self.cfg.warmup_minutes * 60_000
        for symbol in self.symbols:
            try:
                rows = self.client.fetch_ohlcv(symbol, "1m", since, min(self.cfg.warmup_minutes, HISTORY_LIMIT))
            except ccxt.BaseError as exc:
                log.warning("sim: no warm-up candles for %s from %s (%s); indicators warm up live", symbol,
                            self.exchange, type(exc).__name__)
                continue
            out[symbol] = [r[:6] for r in rows if r[0] + 60_000 <= self._started_ms]  # closed minutes only
        return out


def spec_of(m: dict, precision_mode: int, maker: float | None = None, taker: float | None = None) -> MarketSpec:
    """A ccxt unified market as the venue's :class:`MarketSpec` (the exchange's own fees unless given)."""
    if m.get("inverse"):
        raise SimConfigError(f"sim.source.symbols: {m['symbol']} is a coin-margined (inverse) contract; the paper "
                             "account books USDT-margined perpetuals and spot only")
    if m.get("contract") and not m.get("swap"):
        raise SimConfigError(f"sim.source.symbols: {m['symbol']} is a dated future or an option; list spot markets "
                             "or perpetuals (BASE/QUOTE:SETTLE)")

    def step(value: Any) -> float:
        value = float(value)
        return value if precision_mode == TICK_SIZE else 10.0 ** -value

    limits = m.get("limits") or {}
    lot = step(m["precision"]["amount"])
    return MarketSpec(
        symbol=m["symbol"], base=m["base"], quote=m["quote"], tick=step(m["precision"]["price"]), lot=lot,
        min_amount=float((limits.get("amount") or {}).get("min") or lot),
        min_cost=float((limits.get("cost") or {}).get("min") or 0.0),
        settle=m.get("settle") if m.get("contract") else None,
        contract_size=float(m.get("contractSize") or 1.0),
        max_leverage=int((limits.get("leverage") or {}).get("max") or 20),
        maker=_fee(maker, m.get("maker")),
        taker=_fee(taker, m.get("taker")),
        max_amount=float((limits.get("amount") or {}).get("max") or 1_000_000_000.0),
    )


def _fee(given: float | None, exchange_fee: Any) -> float:
    """The configured rate, else the exchange's published one, else 0.1% (the usual base tier)."""
    if given is not None:
        return float(given)
    return 0.001 if exchange_fee is None else float(exchange_fee)


def _public_client(cfg: SourceConfig) -> ccxt.Exchange:
    """The exchange's public API (no key), for its markets, candles and, over REST, its books and trades."""
    from engine.exchanges.factory import ExchangeConfigError, build_ccxt

    perps = [s for s in cfg.symbols if ":" in s]
    if perps and len(perps) != len(cfg.symbols):
        raise SimConfigError("sim.source.symbols mixes spot markets and perpetuals: paper trade one kind per venue")
    try:
        return build_ccxt(cfg.exchange or "", "swap" if perps else "spot", api_url=cfg.api_url)
    except ExchangeConfigError as exc:
        raise SimConfigError(f"sim.source.exchange: {exc}") from None


def _load_markets(client: ccxt.Exchange, name: str) -> dict:
    try:
        return client.load_markets()
    except ccxt.NetworkError as exc:
        raise ccxt.ExchangeNotAvailable(f"paper trading: could not reach {name} for its markets "
                                        f"({type(exc).__name__}); check the network, or trade the synthetic market "
                                        "(sim.source.type: synthetic)") from None
    except ccxt.BaseError as exc:
        raise ccxt.ExchangeError(f"paper trading: {name} refused its market list ({type(exc).__name__}: "
                                 f"{str(exc)[:200]})") from None
