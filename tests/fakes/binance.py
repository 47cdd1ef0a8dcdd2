"""A local imitation of Binance's spot REST API (``/api/v3``, ``/sapi/v1``) on 127.0.0.1, trading on a simulated venue.

ccxt's own ``binance`` class talks to it over HTTP (the connection's ``api_url`` override), so the engine is
exercised end to end on the wire format it will meet: Binance's JSON shapes, HMAC-SHA256 signatures over the query
string (checked exactly as Binance does, with ``X-MBX-APIKEY`` and the ``recvWindow``), Binance's error codes and
messages (``-2010 Order would immediately match and take.``, ``-2013 Order does not exist.``, ``-1022``, ``-2015``,
``-1021``, ``-1003`` with HTTP 429), ``newClientOrderId`` / ``origClientOrderId``, and a per-minute request limit.

The simulated venue underneath does the matching, so quotes rest in a queue and fill when the market trades
through them. Its faults (errors, a timeout after the venue accepted an order) come out as Binance would show them:
HTTP 503, or ``-1007`` "execution status unknown".
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import ccxt

from tests.fakes.binance_market import ScriptedMarket
from tests.fakes.http import json_reply

KEY = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A"
SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"

STATUS = {"open": "NEW", "closed": "FILLED", "canceled": "CANCELED", "rejected": "REJECTED", "expired": "EXPIRED"}


def _num(x: float | None) -> str:
    return "0" if x is None else format(float(x), ".8f")


def _price_and_lot_filters(m: dict) -> list[dict]:
    """Binance's PRICE_FILTER and LOT_SIZE of a unified market."""
    return [{"filterType": "PRICE_FILTER", "minPrice": _num(m["limits"]["price"]["min"]),
             "maxPrice": _num(m["limits"]["price"]["max"]), "tickSize": _num(m["precision"]["price"])},
            {"filterType": "LOT_SIZE", "minQty": _num(m["limits"]["amount"]["min"]),
             "maxQty": _num(m["limits"]["amount"]["max"]), "stepSize": _num(m["precision"]["amount"])}]


class BinanceError(Exception):
    def __init__(self, http: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.http, self.code, self.msg = http, code, msg


class FakeBinance:
    """Binance spot on ``self.url``; ``venue`` (a simulated exchange) holds the market and the account."""

    ROUTES: dict[tuple[str, str], tuple[Any, bool]] = {}  # (method, path) -> (handler, signed); filled below

    def __init__(self, venue: ccxt.Exchange, key: str = KEY, secret: str = SECRET, recv_window_ms: int = 5000,
                 limit_per_min: int = 6000, market: ScriptedMarket | None = None) -> None:
        self.venue = venue
        self.market = market  # when given, the public books and prints come from it instead of the venue
        self.down = False  # True: every request fails with HTTP 503, as an exchange in trouble answers
        self.key, self.secret = key, secret
        self.recv_window_ms = recv_window_ms
        self.limit_per_min = limit_per_min
        self.requests: list[dict] = []  # method, path, params (signature removed), status
        self._recent: deque[float] = deque()
        self._lock = threading.Lock()
        venue.load_markets()
        self.symbols = self._listed()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                code, payload = fake.handle(method, url.path, url.query, body, dict(self.headers))
                json_reply(self, code, payload)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_DELETE(self) -> None:  # noqa: N802
                self._handle("DELETE")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _listed(self) -> dict[str, str]:
        """Binance's symbol id -> the venue's unified symbol, for the markets this API serves."""
        return {m["id"]: s for s, m in self.venue.markets.items() if m["spot"]}

    def __enter__(self) -> FakeBinance:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # ------------------------------------------------------------------------------ the door
    def handle(self, method: str, path: str, query: str, body: str, headers: dict) -> tuple[int, Any]:
        """One request: (HTTP status, JSON payload). Every request is recorded with its outcome."""
        params = dict(parse_qsl(query, keep_blank_values=True))
        params.update(dict(parse_qsl(body, keep_blank_values=True)))
        entry = {"method": method, "path": path, "params": {k: v for k, v in params.items() if k != "signature"},
                 "status": None}
        with self._lock:
            self.requests.append(entry)
        try:
            code, payload = self._dispatch(method, path, query, body, headers, params)
        except BinanceError as exc:
            code, payload = exc.http, {"code": exc.code, "msg": exc.msg}
        entry["status"] = code
        return code, payload

    def _dispatch(self, method: str, path: str, query: str, body: str, headers: dict,
                  params: dict) -> tuple[int, Any]:
        with self._lock:
            now = time.monotonic()
            while self._recent and now - self._recent[0] > 60:
                self._recent.popleft()
            self._recent.append(now)
            if len(self._recent) > self.limit_per_min:
                raise BinanceError(429, -1003, "Too many requests; current limit of IP is "
                                   f"{self.limit_per_min} requests per minute.")
        if self.down:
            raise BinanceError(503, -1001, "Internal error; unable to process your request. Please try again.")
        route = self.ROUTES.get((method, path))
        if route is None:
            raise BinanceError(404, -1000, f"imitation: no route {method} {path}")
        handler, signed = route
        if signed:
            self._authenticate(query, body, params, headers)
        try:
            return 200, handler(self, params)
        except BinanceError:
            raise
        except ccxt.OrderImmediatelyFillable:
            raise BinanceError(400, -2010, "Order would immediately match and take.") from None
        except ccxt.InsufficientFunds:
            raise BinanceError(400, -2010, "Account has insufficient balance for requested action.") from None
        except ccxt.DuplicateOrderId:
            raise BinanceError(400, -2010, "Duplicate order sent.") from None
        except ccxt.OrderNotFound:
            if method == "DELETE":
                raise BinanceError(400, -2011, "Unknown order sent.") from None
            raise BinanceError(400, -2013, "Order does not exist.") from None
        except ccxt.BadSymbol:
            raise BinanceError(400, -1121, "Invalid symbol.") from None
        except ccxt.InvalidOrder as exc:
            raise BinanceError(400, -1013, f"Filter failure: {exc}") from None
        except ccxt.RequestTimeout:
            raise BinanceError(503, -1007, "Timeout waiting for response from backend server. Send status "
                                           "unknown; execution status unknown.") from None
        except ccxt.RateLimitExceeded:
            raise BinanceError(429, -1003, "Too many requests.") from None
        except ccxt.NetworkError:
            raise BinanceError(503, -1001, "Internal error; unable to process your request. Please try again.") \
                from None

    def _authenticate(self, query: str, body: str, params: dict, headers: dict) -> None:
        key = headers.get("X-MBX-APIKEY") or headers.get("x-mbx-apikey")
        if key != self.key:
            raise BinanceError(401, -2015, "Invalid API-key, IP, or permissions for action.")
        payload = query + body  # Binance signs totalParams: the query string then the body
        if "&signature=" not in payload:
            raise BinanceError(400, -1102, "Mandatory parameter 'signature' was not sent, was empty/null, "
                                           "or malformed.")
        signed, _, signature = payload.rpartition("&signature=")
        expected = hmac.new(self.secret.encode(), signed.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, expected):
            raise BinanceError(400, -1022, "Signature for this request is not valid.")
        ts = int(params.get("timestamp") or 0)
        window = int(params.get("recvWindow") or self.recv_window_ms)
        now = int(time.time() * 1000)
        if ts > now + 1000 or now - ts > window:
            raise BinanceError(400, -1021, "Timestamp for this request is outside of the recvWindow.")

    # ------------------------------------------------------------------------------ shapes
    def _symbol(self, params: dict, required: bool = True) -> str | None:
        sid = params.get("symbol")
        if sid is None:
            if required:
                raise BinanceError(400, -1102, "Mandatory parameter 'symbol' was not sent, was empty/null, "
                                               "or malformed.")
            return None
        if sid not in self.symbols:
            raise BinanceError(400, -1121, "Invalid symbol.")
        return self.symbols[sid]

    def _market_json(self, symbol: str) -> dict:
        m = self.venue.markets[symbol]
        return {
            "symbol": m["id"], "status": "TRADING", "baseAsset": m["base"], "baseAssetPrecision": 8,
            "quoteAsset": m["quote"], "quotePrecision": 8, "quoteAssetPrecision": 8,
            "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"], "icebergAllowed": False, "ocoAllowed": False,
            "isSpotTradingAllowed": True, "isMarginTradingAllowed": False, "permissions": ["SPOT"],
            "permissionSets": [["SPOT"]], "defaultSelfTradePreventionMode": "EXPIRE_MAKER",
            "filters": [
                *_price_and_lot_filters(m),
                {"filterType": "NOTIONAL", "minNotional": _num(m["limits"]["cost"]["min"]),
                 "applyMinToMarket": True, "maxNotional": "9000000.00000000", "applyMaxToMarket": False,
                 "avgPriceMins": 5},
            ],
        }

    def _order_json(self, o: dict, full: bool = False) -> dict:
        m = self.venue.markets[o["symbol"]]
        status = STATUS.get(o["status"], "NEW")
        if status == "NEW" and (o.get("filled") or 0) > 0:
            status = "PARTIALLY_FILLED"
        kind = "MARKET" if o["type"] == "market" else ("LIMIT_MAKER" if o.get("postOnly") else "LIMIT")
        out = {
            "symbol": m["id"], "orderId": int(o["id"]), "orderListId": -1, "clientOrderId": o["clientOrderId"],
            "price": _num(o.get("price")), "origQty": _num(o["amount"]), "executedQty": _num(o.get("filled")),
            "cummulativeQuoteQty": _num(o.get("cost")), "status": status, "timeInForce": o.get("timeInForce") or
            "GTC", "type": kind, "side": o["side"].upper(), "stopPrice": "0.00000000", "icebergQty": "0.00000000",
            "time": o["timestamp"], "transactTime": o["timestamp"],
            "updateTime": o.get("lastUpdateTimestamp") or o["timestamp"], "isWorking": True,
            "workingTime": o["timestamp"], "origQuoteOrderQty": "0.00000000", "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if full:
            out["fills"] = [{"price": _num(t["price"]), "qty": _num(t["amount"]), "commission": _num(t["fee"]["cost"]),
                             "commissionAsset": t["fee"]["currency"], "tradeId": int(t["id"])}
                            for t in o.get("trades") or []]
        return out

    def _trade_json(self, t: dict) -> dict:
        return {"symbol": self.venue.markets[t["symbol"]]["id"], "id": int(t["id"]), "orderId": int(t["order"]),
                "orderListId": -1, "price": _num(t["price"]), "qty": _num(t["amount"]), "quoteQty": _num(t["cost"]),
                "commission": _num(t["fee"]["cost"]), "commissionAsset": t["fee"]["currency"],
                "time": t["timestamp"], "isBuyer": t["side"] == "buy", "isMaker": t["takerOrMaker"] == "maker",
                "isBestMatch": True}

    def _find(self, params: dict) -> tuple[str | None, str, dict]:
        symbol = self._symbol(params)
        oid = params.get("orderId")
        cid = params.get("origClientOrderId")
        if oid is None and cid is None:
            raise BinanceError(400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were "
                                           "empty/null!")
        return oid, symbol, ({"clientOrderId": cid} if oid is None else {})

    # ------------------------------------------------------------------------------ public endpoints
    def ping(self, params: dict) -> dict:
        return {}

    def server_time(self, params: dict) -> dict:
        return {"serverTime": int(time.time() * 1000)}

    def exchange_info(self, params: dict) -> dict:
        return {"timezone": "UTC", "serverTime": int(time.time() * 1000), "rateLimits": [
            {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": self.limit_per_min}],
            "exchangeFilters": [], "symbols": [self._market_json(s) for s in self.symbols.values()]}

    def depth(self, params: dict) -> dict:
        symbol = self._symbol(params)
        if self.market is not None:
            return self.market.depth(params["symbol"], int(params.get("limit") or 100))
        book = self.venue.fetch_order_book(symbol, int(params.get("limit") or 100))
        return {"lastUpdateId": int(book.get("nonce") or book["timestamp"] or 0),
                "bids": [[_num(p), _num(q)] for p, q in book["bids"]],
                "asks": [[_num(p), _num(q)] for p, q in book["asks"]]}

    def agg_trades(self, params: dict) -> list:
        self._symbol(params)
        if self.market is None:
            raise BinanceError(404, -1000, "imitation: aggTrades needs a ScriptedMarket")
        return self.market.agg_trades(params["symbol"], params)

    def klines(self, params: dict) -> list:
        symbol = self._symbol(params)
        since = int(params["startTime"]) if "startTime" in params else None
        rows = self.venue.fetch_ohlcv(symbol, params.get("interval", "1m"), since, int(params.get("limit") or 500))
        return [[r[0], _num(r[1]), _num(r[2]), _num(r[3]), _num(r[4]), _num(r[5]), r[0] + 59_999,
                 _num(r[5] * r[4]), 0, "0", "0", "0"] for r in rows]

    def ticker_24hr(self, params: dict) -> Any:
        if "symbols" in params:
            wanted = [self._symbol({"symbol": s}) for s in json.loads(params["symbols"])]
        elif "symbol" in params:
            return self._ticker_json(self._symbol(params))
        else:
            wanted = list(self.symbols.values())
        return [self._ticker_json(s) for s in wanted]

    def _ticker_json(self, symbol: str) -> dict:
        t = self.venue.fetch_ticker(symbol)
        return {"symbol": self.venue.markets[symbol]["id"], "lastPrice": _num(t["last"]),
                "bidPrice": _num(t["bid"]), "bidQty": _num(t.get("bidVolume")), "askPrice": _num(t["ask"]),
                "askQty": _num(t.get("askVolume")), "openPrice": _num(t.get("open")),
                "highPrice": _num(t.get("high")), "lowPrice": _num(t.get("low")),
                "volume": _num(t.get("baseVolume")), "quoteVolume": _num(t.get("quoteVolume")),
                "openTime": t["timestamp"] - 86_400_000, "closeTime": t["timestamp"], "count": 0}

    # ------------------------------------------------------------------------------ signed endpoints
    def currencies(self, params: dict) -> list:
        bal = self.venue.fetch_balance()
        return [{"coin": c, "name": c, "free": _num(bal[c]["free"]), "locked": _num(bal[c]["used"]),
                 "depositAllEnable": True, "withdrawAllEnable": True, "trading": True, "networkList": []}
                for c in bal["total"]]

    def account(self, params: dict) -> dict:
        bal = self.venue.fetch_balance()
        return {"makerCommission": 2, "takerCommission": 6, "canTrade": True, "canWithdraw": True,
                "canDeposit": True, "accountType": "SPOT", "updateTime": int(time.time() * 1000),
                "balances": [{"asset": c, "free": _num(bal[c]["free"]), "locked": _num(bal[c]["used"])}
                             for c in bal["total"]], "permissions": ["SPOT"]}

    def new_order(self, params: dict) -> dict:
        symbol = self._symbol(params)
        kind = params.get("type", "")
        if kind not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
            raise BinanceError(400, -1116, "Invalid orderType.")
        extra: dict[str, Any] = {"postOnly": kind == "LIMIT_MAKER"}
        if params.get("newClientOrderId"):
            extra["clientOrderId"] = params["newClientOrderId"]
        if kind == "LIMIT" and params.get("timeInForce") in ("IOC", "FOK"):
            extra["timeInForce"] = params["timeInForce"]
        price = float(params["price"]) if kind != "MARKET" else None
        o = self.venue.create_order(symbol, "market" if kind == "MARKET" else "limit", params["side"].lower(),
                                    float(params["quantity"]), price, extra)
        return self._order_json(o, full=params.get("newOrderRespType") == "FULL")

    def cancel_order(self, params: dict) -> dict:
        oid, symbol, extra = self._find(params)
        if oid is None:
            oid = self.venue.fetch_order(None, symbol, extra)["id"]
        return self._order_json(self.venue.cancel_order(str(oid), symbol))

    def get_order(self, params: dict) -> dict:
        oid, symbol, extra = self._find(params)
        return self._order_json(self.venue.fetch_order(oid, symbol, extra))

    def open_orders(self, params: dict) -> list:
        symbol = self._symbol(params, required=False)
        return [self._order_json(o) for o in self.venue.fetch_open_orders(symbol)]

    def cancel_open_orders(self, params: dict) -> list:
        symbol = self._symbol(params)
        return [self._order_json(self.venue.cancel_order(o["id"], symbol))
                for o in self.venue.fetch_open_orders(symbol)]

    def all_orders(self, params: dict) -> list:
        symbol = self._symbol(params)
        since = int(params["startTime"]) if "startTime" in params else None
        orders = self.venue.fetch_open_orders(symbol) + self.venue.fetch_closed_orders(symbol, since)
        return [self._order_json(o) for o in sorted(orders, key=lambda o: int(o["id"]))][-int(params.get("limit")
                                                                                             or 500):]

    def my_trades(self, params: dict) -> list:
        symbol = self._symbol(params)
        since = int(params["startTime"]) if "startTime" in params else None
        end = int(params.get("endTime") or 2**62)
        trades = [t for t in self.venue.fetch_my_trades(symbol, since) if t["timestamp"] <= end]
        if "orderId" in params:
            trades = [t for t in trades if t["order"] == params["orderId"]]
        return [self._trade_json(t) for t in trades[: min(int(params.get("limit") or 500), 1000)]]


def _public(prefix: str) -> dict[tuple[str, str], tuple[Any, bool]]:
    """The market-data endpoints, the same under /api/v3 (spot) and /fapi/v1 (USD-M)."""
    return {("GET", f"{prefix}/{path}"): (handler, False) for path, handler in (
        ("ping", FakeBinance.ping), ("time", FakeBinance.server_time), ("exchangeInfo", FakeBinance.exchange_info),
        ("depth", FakeBinance.depth), ("aggTrades", FakeBinance.agg_trades), ("klines", FakeBinance.klines),
        ("ticker/24hr", FakeBinance.ticker_24hr))}


FakeBinance.ROUTES = {
    **_public("/api/v3"),
    ("GET", "/sapi/v1/capital/config/getall"): (FakeBinance.currencies, True),
    ("GET", "/api/v3/account"): (FakeBinance.account, True),
    ("POST", "/api/v3/order"): (FakeBinance.new_order, True),
    ("DELETE", "/api/v3/order"): (FakeBinance.cancel_order, True),
    ("GET", "/api/v3/order"): (FakeBinance.get_order, True),
    ("GET", "/api/v3/openOrders"): (FakeBinance.open_orders, True),
    ("DELETE", "/api/v3/openOrders"): (FakeBinance.cancel_open_orders, True),
    ("GET", "/api/v3/allOrders"): (FakeBinance.all_orders, True),
    ("GET", "/api/v3/myTrades"): (FakeBinance.my_trades, True),
}


class FakeBinanceFutures(FakeBinance):
    """Binance USD-M futures (``/fapi``) on the same terms, trading the venue's perpetuals: position mode
    (``positionSide/dual``), margin type, leverage, post-only as ``timeInForce=GTX`` (refused with -5022 when it would
    take), ``positionSide`` LONG/SHORT in hedge mode (and -1106 for ``reduceOnly`` alongside it, as Binance does)."""

    def _listed(self) -> dict[str, str]:
        return {m["base"] + m["quote"]: s for s, m in self.venue.markets.items() if m.get("swap")}

    def _market_json(self, symbol: str) -> dict:
        m = self.venue.markets[symbol]
        return {
            "symbol": m["base"] + m["quote"], "pair": m["base"] + m["quote"], "contractType": "PERPETUAL",
            "deliveryDate": 4133404800000, "onboardDate": 1569398400000, "status": "TRADING",
            "baseAsset": m["base"], "quoteAsset": m["quote"], "marginAsset": m["settle"], "pricePrecision": 2,
            "quantityPrecision": 3, "baseAssetPrecision": 8, "quotePrecision": 8, "underlyingType": "COIN",
            "orderTypes": ["LIMIT", "MARKET"], "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
            "filters": [
                *_price_and_lot_filters(m),
                {**_price_and_lot_filters(m)[1], "filterType": "MARKET_LOT_SIZE"},
                {"filterType": "MIN_NOTIONAL", "notional": _num(m["limits"]["cost"]["min"])},
            ],
        }

    def _order_json(self, o: dict, full: bool = False) -> dict:
        m = self.venue.markets[o["symbol"]]
        status = STATUS.get(o["status"], "NEW")
        if status == "NEW" and (o.get("filled") or 0) > 0:
            status = "PARTIALLY_FILLED"
        ps = o.get("positionSide")
        return {
            "orderId": int(o["id"]), "symbol": m["base"] + m["quote"], "status": status,
            "clientOrderId": o["clientOrderId"], "price": _num(o.get("price")), "avgPrice": _num(o.get("average")),
            "origQty": _num(o["amount"]), "executedQty": _num(o.get("filled")), "cumQty": _num(o.get("filled")),
            "cumQuote": _num(o.get("cost")), "timeInForce": "GTX" if o.get("postOnly") else (o.get("timeInForce")
                                                                                               or "GTC"),
            "type": "MARKET" if o["type"] == "market" else "LIMIT", "reduceOnly": bool(o.get("reduceOnly")),
            "closePosition": False, "side": o["side"].upper(), "positionSide": ps.upper() if ps else "BOTH",
            "stopPrice": "0", "workingType": "CONTRACT_PRICE", "priceProtect": False,
            "origType": "MARKET" if o["type"] == "market" else "LIMIT", "priceMatch": "NONE",
            "selfTradePreventionMode": "EXPIRE_MAKER", "goodTillDate": 0, "time": o["timestamp"],
            "updateTime": o.get("lastUpdateTimestamp") or o["timestamp"],
        }

    def _trade_json(self, t: dict) -> dict:
        o = self.venue.fetch_order(t["order"], t["symbol"])
        ps = o.get("positionSide")
        m = self.venue.markets[t["symbol"]]
        return {"symbol": m["base"] + m["quote"], "id": int(t["id"]), "orderId": int(t["order"]),
                "side": t["side"].upper(), "price": _num(t["price"]), "qty": _num(t["amount"]),
                "realizedPnl": _num((t.get("info") or {}).get("realizedPnl")), "quoteQty": _num(t["cost"]),
                "commission": _num(t["fee"]["cost"]), "commissionAsset": t["fee"]["currency"],
                "time": t["timestamp"], "positionSide": ps.upper() if ps else "BOTH", "buyer": t["side"] == "buy",
                "maker": t["takerOrMaker"] == "maker"}

    def new_order(self, params: dict) -> dict:
        symbol = self._symbol(params)
        kind = params.get("type", "")
        if kind not in ("LIMIT", "MARKET"):
            raise BinanceError(400, -1116, "Invalid orderType.")
        tif = params.get("timeInForce", "GTC")
        hedged = bool(getattr(self.venue, "_hedged", False))
        position_side = params.get("positionSide", "BOTH")
        if hedged and position_side == "BOTH" or not hedged and position_side != "BOTH":
            raise BinanceError(400, -4061, "Order's position side does not match user's setting.")
        if hedged and "reduceOnly" in params:
            raise BinanceError(400, -1106, "Parameter 'reduceonly' sent when not required.")
        extra: dict[str, Any] = {"postOnly": tif == "GTX"}
        if params.get("newClientOrderId"):
            extra["clientOrderId"] = params["newClientOrderId"]
        if tif in ("IOC", "FOK"):
            extra["timeInForce"] = tif
        if params.get("reduceOnly") == "true":
            extra["reduceOnly"] = True
        if hedged:
            extra["positionSide"] = position_side.lower()
        price = float(params["price"]) if kind == "LIMIT" else None
        try:
            o = self.venue.create_order(symbol, "market" if kind == "MARKET" else "limit", params["side"].lower(),
                                        float(params["quantity"]), price, extra)
        except ccxt.OrderImmediatelyFillable:
            raise BinanceError(400, -5022, "Due to the order could not be executed as maker, the Post Only order "
                                           "will be rejected. The order will not be recorded in the order history") \
                from None
        return self._order_json(o)

    def premium_index(self, params: dict) -> dict:
        symbol = self._symbol(params)
        t = self.venue.fetch_ticker(symbol)
        rate = (self.market.funding.get(params["symbol"]) if self.market is not None else None) or 0.0001
        return {"symbol": params["symbol"], "markPrice": _num(t["last"]), "indexPrice": _num(t["last"]),
                "estimatedSettlePrice": _num(t["last"]), "lastFundingRate": format(rate, ".8f"),
                "interestRate": "0.00010000", "nextFundingTime": (int(time.time() * 1000) // 28_800_000 + 1)
                * 28_800_000, "time": int(time.time() * 1000)}

    def position_side_dual(self, params: dict) -> dict:
        want = params.get("dualSidePosition") == "true"
        if want == bool(getattr(self.venue, "_hedged", False)):
            raise BinanceError(400, -4059, "No need to change position side.")
        self.venue.set_position_mode(want)
        return {"code": 200, "msg": "success"}

    def get_position_side_dual(self, params: dict) -> dict:
        return {"dualSidePosition": bool(getattr(self.venue, "_hedged", False))}

    def margin_type(self, params: dict) -> dict:
        symbol = self._symbol(params)
        self.venue.set_margin_mode(params["marginType"].lower(), symbol)
        return {"code": 200, "msg": "success"}

    def leverage(self, params: dict) -> dict:
        symbol = self._symbol(params)
        self.venue.set_leverage(int(params["leverage"]), symbol)
        return {"leverage": int(params["leverage"]), "maxNotionalValue": "1000000", "symbol": params["symbol"]}

    def leverage_brackets(self, params: dict) -> list:
        return [{"symbol": sid, "brackets": [{"bracket": 1, "initialLeverage": 125, "notionalCap": 50_000,
                                              "notionalFloor": 0, "maintMarginRatio": 0.004, "cum": 0.0}]}
                for sid in self.symbols]

    def futures_account(self, params: dict) -> dict:
        bal = self.venue.fetch_balance()
        usdt = bal["USDT"]
        now = int(time.time() * 1000)
        asset = {"asset": "USDT", "walletBalance": _num(usdt["total"]), "unrealizedProfit": "0",
                 "marginBalance": _num(usdt["total"]), "maintMargin": "0", "initialMargin": _num(usdt["used"]),
                 "positionInitialMargin": "0", "openOrderInitialMargin": _num(usdt["used"]),
                 "crossWalletBalance": _num(usdt["total"]), "crossUnPnl": "0",
                 "availableBalance": _num(usdt["free"]), "maxWithdrawAmount": _num(usdt["free"]),
                 "updateTime": now}
        return {"totalWalletBalance": _num(usdt["total"]), "totalMarginBalance": _num(usdt["total"]),
                "availableBalance": _num(usdt["free"]), "assets": [asset], "positions": []}

    def position_risk(self, params: dict) -> list:
        out = []
        for p in self.venue.fetch_positions(list(self.symbols.values())):
            if not p.get("contracts"):
                continue
            m = self.venue.markets[p["symbol"]]
            sign = 1 if p["side"] == "long" else -1
            out.append({"symbol": m["base"] + m["quote"],
                        "positionSide": p["side"].upper() if p.get("hedged") else "BOTH",
                        "positionAmt": _num(sign * p["contracts"] * (m.get("contractSize") or 1)),
                        "entryPrice": _num(p.get("entryPrice")), "breakEvenPrice": _num(p.get("entryPrice")),
                        "markPrice": _num(p.get("markPrice")), "unRealizedProfit": _num(p.get("unrealizedPnl")),
                        "liquidationPrice": _num(p.get("liquidationPrice")),
                        "isolatedMargin": _num(p.get("collateral")), "notional": _num(sign * (p.get("notional")
                                                                                              or 0)),
                        "marginAsset": "USDT", "isolatedWallet": _num(p.get("collateral")),
                        "initialMargin": _num(p.get("initialMargin")), "maintMargin": _num(p.get("maintenanceMargin")),
                        "positionInitialMargin": _num(p.get("initialMargin")), "openOrderInitialMargin": "0",
                        "adl": 0, "bidNotional": "0", "askNotional": "0",
                        "updateTime": p.get("timestamp") or int(time.time() * 1000)})
        return out


FakeBinanceFutures.ROUTES = {
    **_public("/fapi/v1"),
    ("GET", "/fapi/v1/premiumIndex"): (FakeBinanceFutures.premium_index, False),
    ("POST", "/fapi/v1/positionSide/dual"): (FakeBinanceFutures.position_side_dual, True),
    ("GET", "/fapi/v1/positionSide/dual"): (FakeBinanceFutures.get_position_side_dual, True),
    ("POST", "/fapi/v1/marginType"): (FakeBinanceFutures.margin_type, True),
    ("POST", "/fapi/v1/leverage"): (FakeBinanceFutures.leverage, True),
    ("GET", "/fapi/v1/leverageBracket"): (FakeBinanceFutures.leverage_brackets, True),
    ("GET", "/fapi/v2/account"): (FakeBinanceFutures.futures_account, True),
    ("GET", "/fapi/v3/account"): (FakeBinanceFutures.futures_account, True),
    ("GET", "/fapi/v2/positionRisk"): (FakeBinanceFutures.position_risk, True),
    ("GET", "/fapi/v3/positionRisk"): (FakeBinanceFutures.position_risk, True),
    ("POST", "/fapi/v1/order"): (FakeBinanceFutures.new_order, True),
    ("DELETE", "/fapi/v1/order"): (FakeBinance.cancel_order, True),
    ("GET", "/fapi/v1/order"): (FakeBinance.get_order, True),
    ("GET", "/fapi/v1/openOrders"): (FakeBinance.open_orders, True),
    ("DELETE", "/fapi/v1/allOpenOrders"): (FakeBinance.cancel_open_orders, True),
    ("GET", "/fapi/v1/allOrders"): (FakeBinance.all_orders, True),
    ("GET", "/fapi/v1/userTrades"): (FakeBinance.my_trades, True),
}
