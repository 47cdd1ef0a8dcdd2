"""Writes small Binance websocket captures so tests control the book and the trades exactly."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

T0 = 1_723_161_600_000  # 2024-08-09T00:00:00Z


class Capture:
    """Builds a capture: a REST snapshot, depth diffs and trades, each at a time (ms after T0)."""

    def __init__(self, symbol: str = "btcusdt", futures: bool = False, t0: int = T0) -> None:
        self.symbol = symbol
        self.futures = futures
        self.t0 = t0
        self.lines: list[tuple[int, dict]] = []
        self.u = 1000
        self.trade_id = 1
        self.feed_delay_ms = 0  # how long after the exchange's event time (E) each message is received

    def _event_ms(self, at_ms: int) -> int:
        return self.t0 + at_ms - self.feed_delay_ms

    def _stream(self, kind: str) -> str:
        depth = "depth@0ms" if self.futures else "depth@100ms"
        return f"{self.symbol}@{depth if kind == 'depth' else kind}"

    def diff(self, at_ms: int, bids: list[tuple[str, str]] = (), asks: list[tuple[str, str]] = ()) -> Capture:
        first, last = self.u + 1, self.u + 3
        data = {"e": "depthUpdate", "E": self._event_ms(at_ms), "s": self.symbol.upper(), "U": first, "u": last,
                "b": [list(b) for b in bids], "a": [list(a) for a in asks]}
        if self.futures:
            data["pu"] = self.u
        self.u = last
        self.lines.append((at_ms, {"stream": self._stream("depth"), "data": data}))
        return self

    def snapshot(self, at_ms: int, bids: list[tuple[str, str]], asks: list[tuple[str, str]]) -> Capture:
        # Spot: the first diff must hold lastUpdateId+1; futures: lastUpdateId itself.
        last_update_id = self.u + 1 if self.futures else self.u
        self.lines.append((at_ms, {"lastUpdateId": last_update_id, "bids": [list(b) for b in bids],
                                   "asks": [list(a) for a in asks]}))
        return self

    def trade(self, at_ms: int, price: str, qty: str, buyer_is_maker: bool) -> Capture:
        """A print; ``buyer_is_maker`` True means a seller hit the bid."""
        data = {"e": "trade", "E": self._event_ms(at_ms), "s": self.symbol.upper(), "t": self.trade_id,
                "p": price, "q": qty, "T": self._event_ms(at_ms), "m": buyer_is_maker}
        if self.futures:
            data["X"] = "MARKET"
        self.trade_id += 1
        self.lines.append((at_ms, {"stream": self._stream("trade"), "data": data}))
        return self

    def ticker(self, at_ms: int, bid: str, ask: str, u: int | None = None, qty: str = "1") -> Capture:
        """A best bid/ask (bookTicker) with update id ``u`` (default: the last diff's)."""
        data = {"u": self.u if u is None else u, "s": self.symbol.upper(), "b": bid, "B": qty, "a": ask, "A": qty}
        if self.futures:
            data.update({"e": "bookTicker", "E": self._event_ms(at_ms), "T": self._event_ms(at_ms)})
        self.lines.append((at_ms, {"stream": f"{self.symbol}@bookTicker", "data": data}))
        return self

    def write(self, path: Path) -> str:
        with gzip.open(path, "wt") as fh:
            for at_ms, msg in self.lines:
                fh.write(f"{(self.t0 + at_ms) * 1_000_000} {json.dumps(msg)}\n")
        return str(path)


def simple_book(futures: bool = False, t0: int = T0) -> Capture:
    """A BTC book at ~100: bids 100.00 x5, 99.99 x3, 99.98 x10; asks 100.01 x4, 100.02 x6, 100.03 x10.

    The capture opens with a harmless diff (so the stream is identified), then the snapshot at t=0.
    """
    bids = [("100.00" if not futures else "100.0", "5"), ("99.99" if not futures else "99.9", "3"),
            ("99.98" if not futures else "99.8", "10")]
    asks = [("100.01" if not futures else "100.1", "4"), ("100.02" if not futures else "100.2", "6"),
            ("100.03" if not futures else "100.3", "10")]
    cap = Capture(futures=futures, t0=t0)
    cap.u = 999
    cap.lines.append((0, {"stream": cap._stream("depth"), "data": {
        "e": "depthUpdate", "E": cap.t0, "s": "BTCUSDT", "U": 990, "u": 999, "b": [], "a": [],
        **({"pu": 989} if futures else {})}}))
    cap.snapshot(0, bids, asks)
    return cap
