"""Binance's spot websocket streams (``/ws``) beside its REST API, on one local port, for ccxt.pro's ``binance``.

The REST requests go to a :class:`tests.fakes.binance.FakeBinance` (its ``handle``); the websocket answers
``SUBSCRIBE`` as Binance does (``{"result": null, "id": N}``) and pushes a :class:`ScriptedMarket`'s changes to the
connections subscribed to them: ``<symbol>@depth@100ms`` gets ``depthUpdate`` events, ``<symbol>@trade`` gets
``trade`` events. :meth:`drop` closes every connection, as a network cut or Binance's 24-hour disconnect does.
"""

from __future__ import annotations

import asyncio
import json
import threading

from aiohttp import WSMsgType, web

from tests.fakes.binance import FakeBinance
from tests.fakes.binance_market import ScriptedMarket


class FakeBinanceStreams:
    """REST and websocket on ``self.url`` (``http://127.0.0.1:PORT``)."""

    def __init__(self, rest: FakeBinance, market: ScriptedMarket) -> None:
        self.rest = rest
        self.market = market
        self.connections = 0  # websocket connections accepted so far
        self.subscriptions: list[str] = []
        self._clients: dict[web.WebSocketResponse, set[str]] = {}
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="fake-binance-ws")
        self.url = ""

    # ------------------------------------------------------------------ the server
    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_get("/stream/ws/{stream}", self._websocket)
        app.router.add_route("*", "/{tail:.*}", self._http)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        port = site._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        self._ready.set()
        self._loop.run_forever()

    async def _http(self, request: web.Request) -> web.Response:
        body = await request.text()
        code, payload = await asyncio.to_thread(self.rest.handle, request.method, request.path, request.query_string,
                                                body, dict(request.headers))
        return web.json_response(payload, status=code)

    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None)
        await ws.prepare(request)
        self.connections += 1
        self._clients[ws] = set()
        try:
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    continue
                req = json.loads(msg.data)
                if req.get("method") == "SUBSCRIBE":
                    self._clients[ws].update(req["params"])
                    self.subscriptions.extend(req["params"])
                    await ws.send_str(json.dumps({"result": None, "id": req.get("id")}))
        finally:
            self._clients.pop(ws, None)
        return ws

    def _push(self, event: dict) -> None:
        stream = event["s"].lower() + ("@trade" if event["e"] == "trade" else "@depth@100ms")
        data = json.dumps(event)
        for ws, streams in list(self._clients.items()):
            if stream in streams and not ws.closed:
                asyncio.ensure_future(ws.send_str(data))

    # ------------------------------------------------------------------ what a test does
    def drop(self) -> None:
        """Close every websocket connection now."""
        async def close_all() -> None:
            for ws in list(self._clients):
                await ws.close()

        asyncio.run_coroutine_threadsafe(close_all(), self._loop).result(5)

    def __enter__(self) -> FakeBinanceStreams:
        self._thread.start()
        self._ready.wait(5)
        self.market.listeners.append(lambda e: self._loop.call_soon_threadsafe(self._push, e))
        return self

    def __exit__(self, *exc: object) -> None:
        self.market.listeners.clear()
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)
        self.rest.server.server_close()  # its own HTTP server never served: this one answered for it
