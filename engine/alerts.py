"""Alerts (seed 001): stored in the ``alerts`` table and sent to Telegram from a background queue.

Levels: critical, error, warning, info. The same alert (``key``) again within ``dedupe_s``, or anything beyond
``max_per_minute``, is stored as ``suppressed`` and not sent, so a flapping breaker sends one message. Sending uses
the Bot API ``sendMessage`` through ``requests`` with retries and exponential backoff (429 honours ``retry_after``).
A bad token or chat id is not retried. When Telegram is unreachable or misconfigured, alerts are kept with status
``failed`` and one clear warning is logged; trading never waits on an alert. Without credentials alerts are stored
with status ``skipped``. Each kind is ``on``, ``silent`` (sent with Telegram's ``disable_notification``) or ``off``
(stored only, status ``stored``) by ``alerts.kinds``; position opened / closed are off unless set, an hourly summary
(``alerts.summary_every_min``) tells the fills and PnL instead. The bot token never appears in the database, the logs
or exceptions.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque

import requests
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session

from engine.clock import Clock, iso8601
from engine.config import AlertSettings, TelegramSettings, mask_secret
from engine.store import Alert

log = logging.getLogger(__name__)

LEVELS = ("info", "warning", "error", "critical")
# Kinds kept in the alerts table only (status ``stored``): a market maker's inventory flips many times an hour, and a
# message for each is noise. (Which kinds go out is the operator's choice once alert kinds are configurable.)
STORE_ONLY_KINDS = frozenset({"position opened", "position closed"})
# Every kind the engine raises, as the Alerts page offers them (alerts.kinds takes these names)
KINDS = ("engine started", "engine started halted", "engine stopped", "engine re-armed", "kill switch",
         "breaker opened", "breaker closed", "cap hit", "cap cleared", "risk checks stale", "risk checks back",
         "orders still live", "store unavailable", "store back", "exchange disconnected", "exchange back", "routing",
         "large loss", "position opened", "position closed", "position closed by the operator", "funding skew",
         "universe changed", "universe short", "universe scan failed", "universe leaver slow", "arbitrage",
         "arbitrage unhedged", "metrics not exported", "summary")
ICONS = {"info": "ℹ️", "warning": "⚠️", "error": "❌", "critical": "🚨"}
TIMEOUT_S = 10


class AlertService:
    """Stores every alert and delivers it to Telegram in the background."""

    def __init__(self, settings: AlertSettings, telegram: TelegramSettings, db: DbEngine, clock: Clock,
                 session: requests.Session | None = None) -> None:
        self.settings = settings
        self.telegram = telegram
        self.db = db
        self.clock = clock
        self.http = session or requests.Session()
        self._last_sent: dict[str, int] = {}
        self._recent: deque[int] = deque()
        self._queue: queue.Queue[tuple[int | None, str] | None] = queue.Queue()
        self._lock = threading.Lock()
        self._warned: set[str] = set()
        self._worker: threading.Thread | None = None
        self.sent = self.failed = self.suppressed = 0

    # ------------------------------------------------------------------------------ raising
    def alert(self, level: str, kind: str, message: str, key: str | None = None) -> int | None:
        """Record an alert and queue it for delivery; returns its id (None when the store could not keep it: it is
        delivered all the same). Never raises for delivery or store problems."""
        if level not in LEVELS:
            raise ValueError(f"alert level {level!r}: use one of {', '.join(LEVELS)}")
        now = self.clock.now_ms()
        key = key or f"{kind}:{message}"
        status, error = "pending", ""
        with self._lock:
            last = self._last_sent.get(key)
            while self._recent and self._recent[0] <= now - 60_000:
                self._recent.popleft()
            mode = self.settings.kinds.get(kind, "off" if kind in STORE_ONLY_KINDS else "on")
            if mode == "off":
                status, error = "stored", f"kept in the store only (alerts.kinds: {kind!r} is off)"
            elif LEVELS.index(level) < LEVELS.index(self.settings.min_level):
                status, error = "suppressed", f"below alerts.min_level ({self.settings.min_level})"
            elif last is not None and now - last < self.settings.dedupe_s * 1000:
                status, error = "suppressed", f"duplicate within {self.settings.dedupe_s:.0f}s"
            elif len(self._recent) >= self.settings.max_per_minute and level != "critical":
                status, error = "suppressed", f"rate limited ({self.settings.max_per_minute}/min)"
            elif not self.telegram.configured:
                status, error = "skipped", "Telegram is not configured (TELEGRAM_BOT_TOKEN, TELEGRAM_CHAT_ID)"
            if status in ("pending", "skipped"):
                self._last_sent[key] = now
                self._recent.append(now)
        log_fn = {"info": log.info, "warning": log.warning, "error": log.error, "critical": log.critical}[level]
        (log.debug if status == "stored" else log_fn)("ALERT %s %s: %s", level.upper(), kind, message)
        alert_id = None
        try:
            with Session(self.db) as s:
                row = Alert(ts=now, level=level, kind=kind, message=message[:2000], status=status, error=error)
                s.add(row)
                s.commit()
                alert_id = row.id
        except SQLAlchemyError as exc:  # the store is down: the alert still goes out
            log.warning("alert not stored (the store failed: %s); sending it all the same",
                        str(getattr(exc, "orig", exc)).splitlines()[0][:200])
        if status == "pending":
            self._ensure_worker()
            text = f"{ICONS[level]} {level.upper()} · {kind}\n{message[:2000]}\n{iso8601(now)}"
            self._queue.put((alert_id, text, mode == "silent"))
        elif status == "suppressed":
            self.suppressed += 1
        return alert_id

    # ------------------------------------------------------------------------------ delivery
    def _ensure_worker(self) -> None:
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._run, name="alerts-telegram", daemon=True)
            self._worker.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                self._deliver(*item)
            except Exception:  # the worker must outlive any single delivery problem
                log.exception("alert delivery crashed on alert %s", item[0] if item else None)
            finally:
                self._queue.task_done()

    def _deliver(self, alert_id: int | None, text: str, silent: bool = False) -> None:
        status, error, attempts = "failed", "", 0
        delay = self.settings.backoff_s
        for attempt in range(self.settings.retries + 1):
            attempts = attempt + 1
            outcome, error, retry_after = self._send(text, silent)
            if outcome == "sent":
                status, error = "sent", ""
                break
            if outcome == "fatal":
                break
            if attempt < self.settings.retries:
                time.sleep(retry_after if retry_after is not None else delay)
                delay *= 2
        if alert_id is not None:
            try:
                with Session(self.db) as s:
                    row = s.get(Alert, alert_id)
                    row.status, row.error, row.attempts = status, error[:500], attempts
                    s.add(row)
                    s.commit()
            except SQLAlchemyError:
                log.warning("alert %s delivered (%s) but its status could not be stored", alert_id, status)
        if status == "sent":
            self.sent += 1
        else:
            self.failed += 1
            self._warn_once(error)

    def _send(self, text: str, silent: bool = False) -> tuple[str, str, float | None]:
        """One sendMessage call: ('sent' | 'retry' | 'fatal', error, retry_after seconds); ``silent``: delivered
        without a sound (``disable_notification``)."""
        token = self.telegram.bot_token.reveal()
        url = f"{self.settings.api_url.rstrip('/')}/bot{token}/sendMessage"
        try:
            r = self.http.post(url, json={"chat_id": self.telegram.chat_id, "text": text,
                                          "disable_web_page_preview": True, "disable_notification": silent},
                               timeout=TIMEOUT_S)
        except requests.RequestException as exc:
            return "retry", self._clean(f"Telegram unreachable: {type(exc).__name__}: {exc}"), None
        try:
            body = r.json()
        except ValueError:
            body = {}
        if r.status_code == 200 and body.get("ok"):
            return "sent", "", None
        description = self._clean(str(body.get("description") or r.text[:200]))
        if r.status_code == 429:
            retry = (body.get("parameters") or {}).get("retry_after")
            return "retry", f"Telegram rate limit (429): {description}", float(retry) if retry else None
        if r.status_code in (401, 404):
            return "fatal", (f"Telegram rejected the bot token ({r.status_code} {description}); "
                             "check TELEGRAM_BOT_TOKEN"), None
        if r.status_code in (400, 403):
            return "fatal", (f"Telegram refused the message ({r.status_code} {description}); "
                             "check TELEGRAM_CHAT_ID and that the bot may write to that chat"), None
        return "retry", f"Telegram error {r.status_code}: {description}", None

    def _clean(self, text: str) -> str:
        token = self.telegram.bot_token.reveal() if self.telegram.bot_token else ""
        return text.replace(token, mask_secret(token)) if token else text

    def _warn_once(self, error: str) -> None:
        kind = error.split(":")[0].split("(")[0].strip()
        if kind in self._warned:
            return
        self._warned.add(kind)
        log.warning("alerts are not reaching Telegram: %s. They are kept in the alerts table with status failed; "
                    "trading continues.", error)

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until every queued alert has been delivered or given up (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._queue.unfinished_tasks

    def close(self) -> None:
        if self._worker is not None and self._worker.is_alive():
            self.flush(5.0)
            self._queue.put(None)
            self._worker.join(timeout=5)
