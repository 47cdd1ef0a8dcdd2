"""ccxt's unified market-data calls: markets, currencies, time, status, books, tickers, candles, trades."""

from __future__ import annotations

import logging

import ccxt

from engine.clock import iso8601
from engine.exchanges.sim.api import (
    _api,
)
from engine.exchanges.sim.records import TIMEFRAMES_MS

log = logging.getLogger("engine.exchanges.sim.venue")


class MarketDataApi:
    """A part of :class:`engine.exchanges.sim.venue.SimExchange` (see the module docstring)."""

    @_api
    def fetch_markets(self, params: dict | None = None) -> list[dict]:
        return [s.to_ccxt() for s in self.specs.values()]

    @_api
    def fetch_currencies(self, params: dict | None = None) -> dict:
        return self._currencies()

    @_api
    def fetch_time(self, params: dict | None = None) -> int:
        return self.clock.now_ms()

    @_api
    def fetch_status(self, params: dict | None = None) -> dict:
        now = self.clock.now_ms()
        halted = self._halted(None, now)
        finished = getattr(self.source, "finished", False)
        return {
            "status": "maintenance" if halted else "ok", "updated": now, "eta": None, "url": None,
            "info": {"halted": halted, "replayFinished": finished, "source": self.sim_config.source.type,
                     **({"live": self.live_source.status()} if self.live_source is not None else {})},
        }

    @_api
    def fetch_order_book(self, symbol: str, limit: int | None = None, params: dict | None = None) -> dict:
        spec = self._spec(symbol)
        self._require_fresh(symbol)
        book = self.source.book(symbol)
        n = 100 if limit is None else max(1, int(limit))
        # The best n of the book and our orders together are among the book's best n and those of our orders at or
        # better than the book's n-th level (one further back has n better levels in front of it).
        top_bids, top_asks = book.levels(True, n), book.levels(False, n)
        bids, asks = dict(top_bids), dict(top_asks)
        bid_edge = top_bids[-1][0] if len(top_bids) == n else -1
        ask_edge = top_asks[-1][0] if len(top_asks) == n else 1 << 62
        for o in self._open[symbol]:  # our own resting orders are part of the public book
            if o.waiting:  # a trigger order rests off the book until it fires
                continue
            if o.is_buy:
                if o.tick < bid_edge:
                    continue
                side = bids
            elif o.tick > ask_edge:
                continue
            else:
                side = asks
            shown = side.get(o.tick)
            side[o.tick] = (book.qty(o.is_buy, o.tick) if shown is None else shown) + o.remaining
        dec, adec = spec.price_decimals, spec.amount_decimals + 4
        now = self.clock.now_ms()
        return {
            "symbol": symbol,
            "bids": [[round(t * spec.tick, dec), round(q, adec)] for t, q in sorted(bids.items(), reverse=True)[:n]],
            "asks": [[round(t * spec.tick, dec), round(q, adec)] for t, q in sorted(asks.items())[:n]],
            "timestamp": now, "datetime": iso8601(now), "nonce": book.nonce,
        }

    def _ticker(self, symbol: str) -> dict:
        spec = self._spec(symbol)
        now = self.clock.now_ms()
        bb, bq, ba, aq = self.source.best(symbol)
        rows = self._candles[symbol].window(now - 86_400_000)
        public = self._public[symbol]
        last = public[-1][1] if public else (rows[-1][4] if rows else None)
        bid, ask = self._price(symbol, bb), self._price(symbol, ba)
        if last is None and bid is not None and ask is not None:
            last = round((bid + ask) / 2, spec.price_decimals)
        high = max((r[2] for r in rows), default=last)
        low = min((r[3] for r in rows), default=last)
        open_ = rows[0][1] if rows else last
        base_volume = sum(r[5] for r in rows) * spec.contract_size
        quote_volume = sum(r[5] * r[4] for r in rows) * spec.contract_size
        change = (last - open_) if last is not None and open_ else None
        ticker = {
            "symbol": symbol, "info": {"source": self.sim_config.source.type},
            "timestamp": now, "datetime": iso8601(now),
            "high": high, "low": low, "bid": bid, "bidVolume": bq, "ask": ask, "askVolume": aq,
            "vwap": quote_volume / base_volume if base_volume else None,
            "open": open_, "close": last, "last": last, "previousClose": None,
            "change": change, "percentage": change / open_ * 100 if change is not None else None,
            "average": (last + open_) / 2 if last is not None and open_ else None,
            "baseVolume": base_volume, "quoteVolume": quote_volume,
            "markPrice": None, "indexPrice": None,
        }
        if spec.contract:
            ticker["markPrice"] = self._mark(symbol)
            spot = f"{spec.base}/{spec.quote}"
            ticker["indexPrice"] = self._mark(spot) if spot in self.specs else ticker["markPrice"]
        return ticker

    @_api
    def fetch_ticker(self, symbol: str, params: dict | None = None) -> dict:
        self._spec(symbol)
        self._require_fresh(symbol)
        return self._ticker(symbol)

    @_api
    def fetch_tickers(self, symbols: list[str] | None = None, params: dict | None = None) -> dict:
        """Every asked market's ticker (a live source's markets whose book is stale are left out)."""
        live = self.live_source
        return {s: self._ticker(s) for s in (symbols or list(self.specs)) if live is None or not live.stale_reason(s)}

    def _require_fresh(self, symbol: str) -> None:
        """Paper trading on live data: a market whose stream is down is not served (ExchangeNotAvailable)."""
        reason = self.live_source.stale_reason(symbol) if self.live_source is not None else None
        if reason:
            raise ccxt.ExchangeNotAvailable(reason)

    @_api
    def fetch_ohlcv(self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None,
                    params: dict | None = None) -> list[list]:
        self._spec(symbol)
        if timeframe not in TIMEFRAMES_MS:
            raise ccxt.BadRequest(f"sim: timeframe {timeframe!r} is not supported; use one of "
                                  + ", ".join(TIMEFRAMES_MS))
        return self._candles[symbol].ohlcv(timeframe, since, limit, self.clock.now_ms())

    @_api
    def fetch_trades(self, symbol: str, since: int | None = None, limit: int | None = None,
                     params: dict | None = None) -> list[dict]:
        spec = self._spec(symbol)
        rows = [r for r in self._public[symbol] if since is None or r[0] >= since]
        if limit is not None:
            rows = rows[-int(limit):]
        out = []
        for ts, price, qty, buy in rows:
            out.append({
                "info": {}, "id": None, "order": None, "timestamp": ts, "datetime": iso8601(ts), "symbol": symbol,
                "type": None, "side": "buy" if buy else "sell", "takerOrMaker": None, "price": price,
                "amount": qty, "cost": price * qty * spec.contract_size, "fee": None, "fees": [],
            })
        return out
