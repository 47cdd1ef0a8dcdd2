"""Console sessions that survive a browser refresh: a signed, expiring token in an HttpOnly cookie.

After a correct password the page hands the browser a one-time grant (valid ``GRANT_TTL_S``) and sends it to
``/_mm/session?grant=...&next=/page``; that route (``app.py``) redeems the grant, sets the cookie (``HttpOnly``,
``SameSite=Strict``, ``Max-Age`` = the session's life) and redirects to the page that was asked for. Each page
accepts a valid cookie instead of the password until it expires (``MM_SESSION_HOURS``, default 12).

Tokens are ``<expiry>.<nonce>.<hmac>``, signed with a key derived from a random secret kept in
``data/console_session.key`` (mode 0600, made on first use) and the console password: a restart keeps sessions; a new
password (or a generated one, new per start) ends every session. ``/_mm/logout`` deletes the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

COOKIE = "mm_session"
GRANT_TTL_S = 60.0
SESSION_PATH = "/_mm/session"
LOGOUT_PATH = "/_mm/logout"


def session_hours() -> float:
    try:
        hours = float(os.environ.get("MM_SESSION_HOURS", "12"))
    except ValueError:
        hours = 12.0
    return min(max(hours, 0.1), 24 * 30)


def key_file() -> Path:
    from engine.config import PROJECT_ROOT

    return Path(os.environ.get("MM_SESSION_KEY_FILE") or PROJECT_ROOT / "data" / "console_session.key")


def load_key(path: Path) -> bytes:
    """The random secret in ``path``, made (0600) if missing or unreadable."""
    try:
        data = path.read_bytes()
        if len(data) >= 32:
            return data[:64]
    except OSError:
        pass
    data = secrets.token_bytes(32)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    except OSError:  # a read-only checkout: sessions then last until the console restarts
        pass
    return data


class Sessions:
    """Issues and checks session tokens and one-time grants (thread-safe; times are passed in)."""

    def __init__(self, secret: bytes, password: str, ttl_s: float) -> None:
        self._key = hmac.new(secret, b"mm-console-session\0" + password.encode(), hashlib.sha256).digest()
        self.ttl_s = ttl_s
        self._grants: dict[str, float] = {}
        self._lock = threading.Lock()

    def _sign(self, body: str) -> str:
        return hmac.new(self._key, body.encode(), hashlib.sha256).hexdigest()

    def issue(self, now: float) -> str:
        body = f"{int(now + self.ttl_s)}.{secrets.token_urlsafe(12)}"
        return f"{body}.{self._sign(body)}"

    def valid(self, token: str | None, now: float) -> bool:
        if not token or token.count(".") != 2:
            return False
        body, _, mac = token.rpartition(".")
        if not hmac.compare_digest(mac, self._sign(body)):
            return False
        try:
            return int(body.split(".")[0]) > now
        except ValueError:
            return False

    def grant(self, now: float) -> str:
        """A one-time code the browser trades for the cookie within ``GRANT_TTL_S``."""
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._grants = {c: t for c, t in self._grants.items() if t > now}
            self._grants[code] = now + GRANT_TTL_S
        return code

    def redeem(self, code: str | None, now: float) -> bool:
        with self._lock:
            until = self._grants.pop(code or "", None)
        return until is not None and until > now


def safe_next(path: str | None) -> str:
    """Only a path of this console (no other host, no scheme): ``/positions``; anything else is ``/``."""
    if not path or not path.startswith("/") or path.startswith("//") or "\\" in path or ":" in path.split("?")[0]:
        return "/"
    return path
