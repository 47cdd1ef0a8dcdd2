"""KuCoin connection tester (seed "KuCoinTest.tsx", "Autenticación KuCoin"): does this API key work?

Requests are signed with ``requests`` per KuCoin's API-key version 2:

- ``KC-API-SIGN`` = base64(HMAC-SHA256(secret, timestamp + method + endpoint + body)),
- ``KC-API-PASSPHRASE`` = base64(HMAC-SHA256(secret, passphrase)),
- ``KC-API-KEY``, ``KC-API-TIMESTAMP`` (ms), ``KC-API-KEY-VERSION: 2``.

Four tests: Account Overview (futures balance), Account Info (spot accounts), Symbols, BTC Ticker. Each reports
success or error, its latency and the full JSON; KuCoin's error codes become plain advice. Base URLs come from
``KUCOIN_API_URL`` and ``KUCOIN_FUTURES_API_URL``. Used by the console page and ``python -m engine check kucoin``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from engine.config import AppConfig, Credentials, mask_secret

SPOT_URL = "https://api.kucoin.com"
FUTURES_URL = "https://api-futures.kucoin.com"
TIMEOUT_S = 10.0

ADVICE = {
    "400001": "KuCoin did not receive complete authentication headers: the API key, secret or passphrase is empty "
              "or malformed.",
    "400002": "The request's timestamp is outside KuCoin's 5-second window: synchronise this machine's clock (NTP).",
    "400003": "KuCoin does not know this API key: check KUCOIN_API_KEY (a sandbox key does not work on the live API, "
              "nor the reverse).",
    "400004": "KuCoin could not verify the passphrase. Two causes give this answer: a wrong KUCOIN_PASSPHRASE (the "
              "API passphrase chosen when the key was created, not the account's login password), or a wrong "
              "KUCOIN_API_SECRET (v2 keys send the passphrase signed with the secret, so a wrong secret makes a "
              "right passphrase look wrong). Check both against the key's page on KuCoin.",
    "400005": "The signature is wrong: KUCOIN_API_SECRET does not belong to this API key.",
    "400006": "This machine's IP address is not on the key's IP whitelist: add it on KuCoin's API management page.",
    "400007": "The key lacks the permission for this request: enable 'General' (and 'Futures' for the futures "
              "account) on the key.",
    "429000": "KuCoin is rate limiting this key or IP: wait a minute and try again.",
}


@dataclass
class CheckResult:
    name: str
    endpoint: str
    status: str = "pending"  # pending | success | error
    latency_ms: float | None = None
    http_status: int | None = None
    code: str | None = None
    message: str = ""
    advice: str = ""
    data: Any = None


@dataclass
class CheckReport:
    credentials: dict
    results: list[CheckResult] = field(default_factory=list)

    @property
    def passed(self) -> int:
        return sum(1 for r in self.results if r.status == "success")

    @property
    def failed(self) -> int:
        return sum(1 for r in self.results if r.status == "error")

    @property
    def ok(self) -> bool:
        return bool(self.results) and self.failed == 0

    def to_dict(self) -> dict:
        return {"credentials": self.credentials, "passed": self.passed, "failed": self.failed, "ok": self.ok,
                "results": [asdict(r) for r in self.results]}


def sign(secret: str, timestamp: str, method: str, endpoint: str, body: str = "") -> str:
    """KuCoin's KC-API-SIGN for one request (``endpoint`` includes its query string)."""
    digest = hmac.new(secret.encode(), (timestamp + method.upper() + endpoint + body).encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def sign_passphrase(secret: str, passphrase: str) -> str:
    """KuCoin's KC-API-PASSPHRASE for API-key version 2."""
    return base64.b64encode(hmac.new(secret.encode(), passphrase.encode(), hashlib.sha256).digest()).decode()


class KucoinClient:
    """Minimal signed REST client for the tester (requests; the engine trades through ccxt)."""

    def __init__(self, creds: Credentials | None, spot_url: str | None = None, futures_url: str | None = None,
                 session: requests.Session | None = None, timeout_s: float = TIMEOUT_S) -> None:
        self.creds = creds
        self.spot_url = (spot_url or os.environ.get("KUCOIN_API_URL") or SPOT_URL).rstrip("/")
        self.futures_url = (futures_url or os.environ.get("KUCOIN_FUTURES_API_URL") or FUTURES_URL).rstrip("/")
        self.http = session or requests.Session()
        self.timeout_s = timeout_s

    def headers(self, method: str, endpoint: str, body: str = "") -> dict[str, str]:
        c = self.creds
        key = c.api_key.reveal() if c and c.api_key else ""
        secret = c.api_secret.reveal() if c and c.api_secret else ""
        passphrase = c.passphrase.reveal() if c and c.passphrase else ""
        ts = str(int(time.time() * 1000))
        return {"KC-API-KEY": key, "KC-API-SIGN": sign(secret, ts, method, endpoint, body), "KC-API-TIMESTAMP": ts,
                "KC-API-PASSPHRASE": sign_passphrase(secret, passphrase), "KC-API-KEY-VERSION": "2",
                "Content-Type": "application/json"}

    def run(self, result: CheckResult, base: str, signed: bool) -> CheckResult:
        url = (self.futures_url if base == "futures" else self.spot_url) + result.endpoint
        headers = self.headers("GET", result.endpoint) if signed else {}
        t0 = time.perf_counter()
        try:
            r = self.http.get(url, headers=headers, timeout=self.timeout_s)
        except requests.Timeout:
            return self._fail(result, t0, None, None, "timeout",
                              f"KuCoin did not answer within {self.timeout_s:.0f} s: check the network, or "
                              f"{'KUCOIN_FUTURES_API_URL' if base == 'futures' else 'KUCOIN_API_URL'}.")
        except requests.RequestException as exc:
            return self._fail(result, t0, None, None, f"cannot reach {_host(url)} ({type(exc).__name__})",
                              "Check the network, or the base URL "
                              f"({'KUCOIN_FUTURES_API_URL' if base == 'futures' else 'KUCOIN_API_URL'}).")
        result.latency_ms = (time.perf_counter() - t0) * 1000
        result.http_status = r.status_code
        try:
            body = r.json()
        except ValueError:
            return self._fail(result, t0, r.status_code, None, f"not JSON: {r.text[:120]!r}",
                              "The base URL does not point at KuCoin's API.")
        result.data = body
        code = str(body.get("code")) if isinstance(body, dict) else None
        result.code = code
        if r.status_code == 200 and code == "200000":
            result.status = "success"
            result.message = "OK"
            return result
        result.status = "error"
        result.message = str(body.get("msg") if isinstance(body, dict) else body)[:300]
        result.advice = ADVICE.get(code or "", f"KuCoin answered HTTP {r.status_code}, code {code}: {result.message}")
        return result

    @staticmethod
    def _fail(result: CheckResult, t0: float, status: int | None, code: str | None, message: str,
              advice: str) -> CheckResult:
        result.latency_ms = (time.perf_counter() - t0) * 1000
        result.status, result.http_status, result.code = "error", status, code
        result.message, result.advice = message, advice
        return result


def credentials_summary(creds: Credentials | None) -> dict:
    """Configured or not, with masked previews only."""
    c = creds or Credentials()
    return {
        "configured": bool(c.api_key and c.api_secret and c.passphrase),
        "api_key": mask_secret(c.api_key.reveal() if c.api_key else None),
        "api_secret": mask_secret(c.api_secret.reveal() if c.api_secret else None),
        "passphrase": mask_secret(c.passphrase.reveal() if c.passphrase else None),
    }


TESTS = (  # (name, endpoint, base, signed)
    ("Account Overview", "/api/v1/account-overview?currency=USDT", "futures", True),
    ("Account Info", "/api/v1/accounts", "spot", True),
    ("Symbols", "/api/v2/symbols", "spot", False),
    ("BTC Ticker", "/api/v1/market/orderbook/level1?symbol=BTC-USDT", "spot", False),
)


def check_kucoin(config: AppConfig | None = None, creds: Credentials | None = None,
                 **client_kwargs: Any) -> CheckReport:
    """Run the credentials check and the four tests; never raises for a network or KuCoin problem."""
    if creds is None and config is not None:
        creds = config.credentials.get("kucoin")
    summary = credentials_summary(creds)
    report = CheckReport(summary)
    client = KucoinClient(creds, **client_kwargs)
    for name, endpoint, base, signed in TESTS:
        result = CheckResult(name, endpoint)
        if signed and not summary["configured"]:
            result.status = "error"
            result.message = "credentials not configured"
            result.advice = ("Set KUCOIN_API_KEY, KUCOIN_API_SECRET and KUCOIN_PASSPHRASE (environment, .env or "
                             "secrets.json) to test the private endpoints.")
        else:
            client.run(result, base, signed)
        report.results.append(result)
    return report


def format_report(report: CheckReport) -> str:
    """A readable summary for the terminal."""
    c = report.credentials
    lines = [f"KuCoin credentials: {'configured' if c['configured'] else 'NOT configured'} "
             f"(key {c['api_key']}, secret {c['api_secret']}, passphrase {c['passphrase']})"]
    for r in report.results:
        latency = f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "-"
        lines.append(f"  {'PASS' if r.status == 'success' else 'FAIL'}  {r.name:<17} {latency:>8}  {r.message}")
        if r.advice:
            lines.append(f"        -> {r.advice}")
    lines.append(f"{report.passed} passed, {report.failed} failed")
    return "\n".join(lines)


__all__ = ["check_kucoin", "format_report", "sign", "sign_passphrase"]


def _host(url: str) -> str:
    """``https://api.kucoin.com`` from a full request URL (the scheme and host, never a path)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url
