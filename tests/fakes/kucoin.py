"""A local imitation of KuCoin's spot and futures REST endpoints used by the connection tester.

It verifies every request the way KuCoin does (API-key version 2): the key exists, the timestamp is within 5 s,
KC-API-PASSPHRASE is base64(HMAC-SHA256(secret, passphrase)), KC-API-SIGN is base64(HMAC-SHA256(secret,
timestamp + method + endpoint + body)); an IP whitelist and a rate limit can be switched on. Errors come in KuCoin's
format: ``{"code": "400005", "msg": "Invalid KC-API-SIGN"}``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.http import json_reply

KEY = "68da47b0c0ffee0011223344"
SECRET = "5f3b1c2d-0a9e-4b8c-9d7f-1e2a3b4c5d6e"
PASSPHRASE = "market-maker-api"

ACCOUNTS = [{"id": "5bd6e9286d99522a52e458de", "currency": "USDT", "type": "trade", "balance": "1000.5",
             "available": "1000.5", "holds": "0"}]
OVERVIEW = {"accountEquity": 250.5, "unrealisedPNL": 0, "marginBalance": 250.5, "positionMargin": 0,
            "orderMargin": 0, "frozenFunds": 0, "availableBalance": 250.5, "currency": "USDT"}
SYMBOLS = [{"symbol": "BTC-USDT", "name": "BTC-USDT", "baseCurrency": "BTC", "quoteCurrency": "USDT",
            "enableTrading": True}, {"symbol": "ETH-USDT", "name": "ETH-USDT", "baseCurrency": "ETH",
                                     "quoteCurrency": "USDT", "enableTrading": True}]


def _b64hmac(secret: str, message: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()).decode()


class FakeKucoin:
    """Spot API on one port, futures API on another, both on 127.0.0.1."""

    def __init__(self) -> None:
        self.ip_whitelisted = True
        self.rate_limited = False
        self.slow_s = 0.0
        self.requests: list[dict] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            futures = False

            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                fake.requests.append({"path": self.path, "headers": dict(self.headers)})
                if fake.slow_s:
                    time.sleep(fake.slow_s)
                if fake.rate_limited:
                    return self._reply(429, {"code": "429000", "msg": "Too many requests. System-level rate limit "
                                                                      "exceeded."})
                public = {"/api/v2/symbols": SYMBOLS,
                          "/api/v1/market/orderbook/level1?symbol=BTC-USDT": {
                              "sequence": "1550467636704", "price": "64123.4", "size": "0.01", "bestBid": "64123.3",
                              "bestBidSize": "1.2", "bestAsk": "64123.4", "bestAskSize": "0.8", "time": 1732000000000}}
                if not self.futures and self.path in public:
                    return self._reply(200, {"code": "200000", "data": public[self.path]})
                private = {"/api/v1/accounts": ACCOUNTS} if not self.futures else \
                    {"/api/v1/account-overview?currency=USDT": OVERVIEW}
                if self.path not in private:
                    return self._reply(404, {"code": "404000", "msg": "Not Found"})
                error = self._auth_error("GET", self.path, "")
                if error:
                    return self._reply(*error)
                return self._reply(200, {"code": "200000", "data": private[self.path]})

            def _auth_error(self, method: str, endpoint: str, body: str) -> tuple[int, dict] | None:
                h = self.headers
                key, sign, ts = h.get("KC-API-KEY"), h.get("KC-API-SIGN"), h.get("KC-API-TIMESTAMP")
                passphrase, version = h.get("KC-API-PASSPHRASE"), h.get("KC-API-KEY-VERSION")
                if not (key and sign and ts and passphrase):
                    return 401, {"code": "400001", "msg": "Please check the header of your request for KC-API-KEY, "
                                                          "KC-API-SIGN, KC-API-TIMESTAMP, KC-API-PASSPHRASE"}
                if not ts.isdigit() or abs(int(ts) - time.time() * 1000) > 5_000:
                    return 401, {"code": "400002", "msg": "KC-API-TIMESTAMP Invalid -- Time differs from server time "
                                                          "by more than 5 seconds"}
                if key != KEY:
                    return 401, {"code": "400003", "msg": "KC-API-KEY not exists"}
                if version != "2" or passphrase != _b64hmac(SECRET, PASSPHRASE):
                    return 401, {"code": "400004", "msg": "Invalid KC-API-PASSPHRASE"}
                if sign != _b64hmac(SECRET, ts + method + endpoint + body):
                    return 401, {"code": "400005", "msg": "Invalid KC-API-SIGN"}
                if not fake.ip_whitelisted:
                    return 403, {"code": "400006", "msg": "Invalid request ip, the current clientIp is:127.0.0.1"}
                return None

            def _reply(self, code: int, payload: dict) -> None:
                json_reply(self, code, payload)

        class FuturesHandler(Handler):
            futures = True

        self.spot = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.futures = ThreadingHTTPServer(("127.0.0.1", 0), FuturesHandler)
        self.spot_url = f"http://127.0.0.1:{self.spot.server_address[1]}"
        self.futures_url = f"http://127.0.0.1:{self.futures.server_address[1]}"
        self._threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in (self.spot, self.futures)]

    def __enter__(self) -> FakeKucoin:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for s in (self.spot, self.futures):
            s.shutdown()
            s.server_close()
