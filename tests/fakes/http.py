"""Shared by the local fake servers: a JSON reply with its status code."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler


def json_reply(handler: BaseHTTPRequestHandler, code: int, payload: dict) -> None:
    data = json.dumps(payload).encode()
    handler.send_response(code)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)
