"""A local imitation of the Telegram Bot API (``sendMessage``) on 127.0.0.1, with its error replies."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from tests.fakes.http import json_reply

GOOD_TOKEN = "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsaw"
GOOD_CHAT = "4242"


class FakeTelegram:
    """Serves POST /bot<token>/sendMessage. ``fail_next`` queues HTTP statuses (500, 429) for the next calls."""

    def __init__(self) -> None:
        self.messages: list[dict] = []
        self.requests = 0
        self.fail_next: list[int] = []
        self.updates: list[dict] = []  # what getUpdates serves: the operator's (and strangers') messages
        self._arrived = threading.Condition()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:  # quiet
                pass

            def do_GET(self) -> None:  # noqa: N802 - getUpdates, long-polled (at most 1 s here)
                fake.requests += 1
                path, _, query = self.path.partition("?")
                parts = path.strip("/").split("/")
                if len(parts) != 2 or parts[1] != "getUpdates":
                    return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                if parts[0][3:] != GOOD_TOKEN:
                    return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                args = dict(p.split("=", 1) for p in query.split("&") if "=" in p)
                offset, wait = int(args.get("offset", 0)), min(float(args.get("timeout", 0)), 1.0)
                with fake._arrived:
                    fake._arrived.wait_for(lambda: any(u["update_id"] >= offset for u in fake.updates), timeout=wait)
                    result = [u for u in fake.updates if u["update_id"] >= offset]
                self._reply(200, {"ok": True, "result": result})

            def do_POST(self) -> None:  # noqa: N802 - the http.server API
                fake.requests += 1
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                parts = self.path.strip("/").split("/")
                if len(parts) != 2 or not parts[0].startswith("bot") or parts[1] != "sendMessage":
                    return self._reply(404, {"ok": False, "error_code": 404, "description": "Not Found"})
                if parts[0][3:] != GOOD_TOKEN:
                    return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                if fake.fail_next:
                    code = fake.fail_next.pop(0)
                    if code == 429:
                        return self._reply(429, {"ok": False, "error_code": 429,
                                                 "description": "Too Many Requests: retry after 0",
                                                 "parameters": {"retry_after": 0}})
                    return self._reply(code, {"ok": False, "error_code": code, "description": "Internal Server Error"})
                if str(body.get("chat_id")) != GOOD_CHAT:
                    return self._reply(400, {"ok": False, "error_code": 400,
                                             "description": "Bad Request: chat not found"})
                fake.messages.append(body)
                return self._reply(200, {"ok": True, "result": {"message_id": len(fake.messages),
                                                                "chat": {"id": int(GOOD_CHAT)}, "text": body["text"]}})

            def _reply(self, code: int, payload: dict) -> None:
                json_reply(self, code, payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def say(self, text: str, chat_id: str = GOOD_CHAT) -> None:
        """A message to the bot from ``chat_id`` (the operator's chat unless given)."""
        with self._arrived:
            uid = len(self.updates) + 1000
            self.updates.append({"update_id": uid, "message": {"message_id": uid, "chat": {"id": int(chat_id)},
                                                               "date": 1_700_000_000, "text": text}})
            self._arrived.notify_all()

    def __enter__(self) -> FakeTelegram:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
