"""What ccxt (the installed version) puts on the wire for the engine's orders on OKX and KuCoin futures: a local
server on 127.0.0.1 records each signed request and answers as the exchange would; the markets are given to ccxt
directly, so nothing else is asked of the server."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from engine.clock import SimClock
from engine.config import Credentials, Secret, load_config
from engine.exchanges.factory import build_ccxt
from engine.store import make_engine
from engine.trader import Trader
from tests.engine.test_runtime import make_config_dir
from tests.fakes.http import json_reply

ANSWERS = {
    "okx": {"code": "0", "msg": "", "data": [{"clOrdId": "", "ordId": "312269865356374016", "sCode": "0",
                                               "sMsg": "Order placed", "tag": "", "ts": "1695190491421"}]},
    "kucoinfutures": {"code": "200000", "data": {"orderId": "234125150956625920", "clientOid": ""}},
}
MARKETS = {
    "okx": {"id": "BTC-USDT-SWAP", "contractSize": 0.01, "precision": {"amount": 1, "price": 0.1}},
    "kucoinfutures": {"id": "XBTUSDTM", "contractSize": 0.001, "precision": {"amount": 1, "price": 0.1}},
}


class Recorder:
    def __init__(self, kind: str) -> None:
        self.requests: list[tuple[str, str, dict]] = []
        rec = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - ccxt asks KuCoin whether the account is unified first
                if self.path.startswith("/api/ua/v1/account/mode"):
                    json_reply(self, 200, {"code": "200000", "data": {"selfAccountMode": "CLASSIC"}})
                else:
                    json_reply(self, 404, {"code": "404000", "msg": f"no route {self.path}"})

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                rec.requests.append((self.path, body, dict(self.headers)))
                json_reply(self, 200, ANSWERS[kind])

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def orders(self) -> list[dict]:
        out = []
        for _, body, _ in self.requests:
            data = json.loads(body)
            out += data if isinstance(data, list) else [data]
        return out


@pytest.fixture(params=["okx", "kucoinfutures"])
def wired(request, tmp_path):
    kind = request.param
    name = "okx" if kind == "okx" else "kucoin"
    rec = Recorder(kind)
    creds = Credentials(api_key=Secret("k" * 24), api_secret=Secret("s" * 36), passphrase=Secret("p" * 12))
    ex = build_ccxt(name, "swap", creds, api_url=rec.url)
    ex.set_markets([{
        "symbol": "BTC/USDT:USDT", "base": "BTC", "quote": "USDT", "settle": "USDT", "baseId": "BTC",
        "quoteId": "USDT", "settleId": "USDT", "type": "swap", "spot": False, "margin": False, "swap": True,
        "future": False, "option": False, "contract": True, "linear": True, "inverse": False, "active": True,
        "limits": {"amount": {"min": 1, "max": None}, "price": {"min": None, "max": None},
                   "cost": {"min": None, "max": None}, "leverage": {"min": 1, "max": 100}},
        "info": {}, **MARKETS[kind]}])
    cdir = make_config_dir(tmp_path, engine={"exchange": name},
                           symbols={name: {"BTC/USDT:USDT": {"enabled": True, "leverage": 7}}},
                           connections={name: {"market": "swap", "hedge_mode": kind == "okx"}})
    trader = Trader(load_config(cdir, env={}), ex, SimClock(), make_engine("sqlite:///:memory:"), exchange_name=name)
    yield kind, trader, rec
    rec.server.shutdown()


def test_a_quote_carries_the_client_id_margin_mode_and_leg_each_exchange_needs(wired):
    kind, trader, rec = wired
    cid = trader.next_client_id()
    params = trader.order_params("BTC/USDT:USDT", "sell", 3, {"postOnly": True, "clientOrderId": cid})
    order = trader.ex.create_order("BTC/USDT:USDT", "limit", "sell", 3, 60000.0, params)
    assert order["id"]
    [sent] = rec.orders()
    if kind == "okx":
        assert sent["clOrdId"] == cid and cid.isalnum() and len(cid) <= 32
        assert sent["tdMode"] == "isolated"  # not OKX's default, cross
        assert sent["posSide"] == "short" and sent["ordType"] == "post_only"  # hedge mode: a sell opens the short
    else:
        assert sent["clientOid"] == cid
        assert sent["marginMode"] == "ISOLATED" and sent["leverage"] == 7  # not ccxt's default of 1x
        assert sent["postOnly"] is True and "reduceOnly" not in sent


def test_closing_a_position_names_the_leg_or_reduce_only(wired):
    kind, trader, rec = wired
    trader.ledger.positions["BTC/USDT:USDT"] = type(trader.ledger.position("BTC/USDT:USDT"))(qty=5.0)
    params = trader.order_params("BTC/USDT:USDT", "sell", 5, {"clientOrderId": trader.next_client_id(),
                                                                 "reduceOnly": True})
    trader.ex.create_order("BTC/USDT:USDT", "market", "sell", 5, None, params)
    [sent] = rec.orders()
    if kind == "okx":
        assert sent["posSide"] == "long" and "reduceOnly" not in sent  # closing the long leg
    else:
        assert sent["reduceOnly"] is True
