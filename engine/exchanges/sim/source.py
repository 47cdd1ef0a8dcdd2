"""What a market source is: something that moves books forward in time and reports trades.

Sources (synthetic, replay, candles) push events into a :class:`MarketSink` (the venue), which
matches its resting orders against them.
"""

from __future__ import annotations

from typing import Protocol

from engine.exchanges.sim.book import L2Book


class MarketSink(Protocol):
    """Receives market events in time order."""

    def on_trade(self, symbol: str, ts_ms: int, tick: int, qty: float, aggressor_buy: bool) -> None:
        """A public trade printed at ``tick`` for ``qty`` (market amount units)."""

    def on_book(self, symbol: str, ts_ms: int) -> None:
        """The book of ``symbol`` changed."""

    def on_top(self, symbol: str, ts_ms: int, bid_tick: int | None, ask_tick: int | None) -> None:
        """Only the best bid / ask of ``symbol`` changed, to these ticks (a best bid/ask stream)."""

    def quiet_band(self, symbol: str) -> tuple[int, int] | None:
        """Ticks ``(low, high)`` such that best bids below ``high`` and best asks above ``low`` need no
        :meth:`on_top` (they reach none of the sink's orders); None when every best bid/ask counts. Optional: a source
        sends a sink without it every best bid/ask."""


class MarketSource(Protocol):
    """A market data source driving the simulated venue."""

    symbols: list[str]

    def start_ms(self) -> int | None:
        """The first timestamp of recorded data, or None for a source that starts whenever asked."""

    def advance(self, until_ms: int, sink: MarketSink) -> None:
        """Move every book forward to ``until_ms``, pushing trades and book changes to ``sink``."""

    def book(self, symbol: str) -> L2Book:
        """The current L2 book of ``symbol``."""

    def best(self, symbol: str) -> tuple[int | None, float, int | None, float]:
        """(best bid tick, its qty, best ask tick, its qty): the freshest top of book."""

    def history(self) -> dict[str, list[list[float]]]:
        """One-minute candles from before the start (warm-up), per symbol; may be empty."""

    def state(self) -> dict:
        """What must survive a restart (JSON-safe)."""

    def restore(self, state: dict) -> None:
        """Resume from :meth:`state`."""
