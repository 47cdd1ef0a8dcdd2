"""A public Binance market a test writes by hand, served by :class:`tests.fakes.binance.FakeBinance`.

Books carry Binance's ``lastUpdateId`` (one more per change) and prints are aggregate trades (``aggTrades``: ``a``
the id, ``p``, ``q``, ``T`` the time, ``m`` true when the buyer was the maker, i.e. a sell hit the bid). Listeners
(the websocket imitation) hear every change as Binance's ``depthUpdate`` and ``trade`` events.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


def _num(x: float) -> str:
    return format(float(x), ".8f")


class ScriptedMarket:
    """Books and prints per Binance symbol id (``BTCUSDT``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.books: dict[str, dict[str, dict[float, float]]] = {}
        self.update_id: dict[str, int] = {}
        self.trades: dict[str, list[dict]] = {}
        self._next_trade = 1000
        self.funding: dict[str, float] = {}  # a perpetual's current funding rate (premiumIndex's lastFundingRate)
        self.listeners: list[Callable[[dict], None]] = []

    def set_book(self, sid: str, bids: list[tuple[float, float]], asks: list[tuple[float, float]]) -> int:
        """Replace ``sid``'s book (a level of 0 is removed); returns the new update id."""
        with self._lock:
            old = self.books.get(sid, {"bids": {}, "asks": {}})
            new = {"bids": {p: q for p, q in bids if q > 0}, "asks": {p: q for p, q in asks if q > 0}}
            first = self.update_id.get(sid, 100) + 1
            self.update_id[sid] = first
            self.books[sid] = new
            event = {"e": "depthUpdate", "E": int(time.time() * 1000), "s": sid, "U": first, "u": first,
                     "b": _diff(old["bids"], new["bids"]), "a": _diff(old["asks"], new["asks"])}
        self._tell(event)
        return first

    def print_trade(self, sid: str, price: float, qty: float, buyer_maker: bool) -> int:
        """A public print (``buyer_maker``: a sell aggressor hit the bid); returns its trade id."""
        with self._lock:
            self._next_trade += 1
            t = {"a": self._next_trade, "p": _num(price), "q": _num(qty), "f": self._next_trade,
                 "l": self._next_trade, "T": int(time.time() * 1000), "m": buyer_maker, "M": True}
            self.trades.setdefault(sid, []).append(t)
            event = {"e": "trade", "E": t["T"], "s": sid, "t": t["a"], "p": t["p"], "q": t["q"], "T": t["T"],
                     "m": buyer_maker, "M": True}
        self._tell(event)
        return t["a"]

    def _tell(self, event: dict) -> None:
        for listener in list(self.listeners):
            listener(event)

    # ------------------------------------------------------------------ REST shapes
    def depth(self, sid: str, limit: int) -> dict:
        with self._lock:
            book = self.books.get(sid, {"bids": {}, "asks": {}})
            return {"lastUpdateId": self.update_id.get(sid, 100),
                    "bids": [[_num(p), _num(q)] for p, q in sorted(book["bids"].items(), reverse=True)[:limit]],
                    "asks": [[_num(p), _num(q)] for p, q in sorted(book["asks"].items())[:limit]]}

    def agg_trades(self, sid: str, params: dict[str, Any]) -> list[dict]:
        """``/api/v3/aggTrades``: by ``fromId``, or ``startTime`` / ``endTime`` (inclusive), oldest first."""
        with self._lock:
            rows = list(self.trades.get(sid, []))
        if "fromId" in params:
            rows = [t for t in rows if t["a"] >= int(params["fromId"])]
        if "startTime" in params:
            rows = [t for t in rows if t["T"] >= int(params["startTime"])]
        if "endTime" in params:
            rows = [t for t in rows if t["T"] <= int(params["endTime"])]
        limit = min(int(params.get("limit") or 500), 1000)
        return rows[:limit] if "startTime" in params or "fromId" in params else rows[-limit:]


def _diff(old: dict[float, float], new: dict[float, float]) -> list[list[str]]:
    """Binance's diff levels: every changed level with its new size, "0" for a removed one."""
    out = [[_num(p), _num(q)] for p, q in new.items() if old.get(p) != q]
    out += [[_num(p), "0.00000000"] for p in old if p not in new]
    return out
