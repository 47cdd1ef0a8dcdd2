"""Alerts reach a local imitation of the Telegram Bot API, are deduplicated, and survive it being down."""

from __future__ import annotations

import logging
import socket

import pytest
from sqlmodel import Session, select

from engine.alerts import AlertService
from engine.clock import SimClock
from engine.config import AlertSettings, Secret, TelegramSettings
from engine.store import Alert, make_engine
from tests.fakes.telegram import GOOD_CHAT, GOOD_TOKEN, FakeTelegram


def service(url: str, token: str = GOOD_TOKEN, chat: str = GOOD_CHAT, clock: SimClock | None = None, **settings):
    cfg = AlertSettings(api_url=url, backoff_s=0.01, **settings)
    db = make_engine("sqlite:///:memory:")
    return AlertService(cfg, TelegramSettings(Secret(token), chat), db, clock or SimClock()), db


def rows(db) -> list[Alert]:
    with Session(db) as s:
        return list(s.exec(select(Alert).order_by(Alert.id)))


def test_alert_is_delivered_and_stored():
    with FakeTelegram() as tg:
        alerts, db = service(tg.url)
        alerts.alert("critical", "breaker opened", "drawdown 120bps >= 100bps on all")
        assert alerts.flush()
        (msg,) = tg.messages
        assert msg["chat_id"] == GOOD_CHAT and "CRITICAL · breaker opened" in msg["text"]
        (row,) = rows(db)
        assert (row.level, row.status, row.attempts) == ("critical", "sent", 1)


def test_a_flapping_breaker_sends_one_message():
    clock = SimClock()
    with FakeTelegram() as tg:
        alerts, db = service(tg.url, clock=clock)
        for _ in range(100):
            alerts.alert("warning", "breaker opened", "spread 25bps", key="breaker-open:spread:sim:ETH/USDT")
            clock.advance(1)
        alerts.flush()
        assert len(tg.messages) == 1
        statuses = [r.status for r in rows(db)]
        assert statuses.count("sent") == 1 and statuses.count("suppressed") == 99
        clock.advance(300)  # after the dedupe window the same alert goes out again
        alerts.alert("warning", "breaker opened", "spread 25bps", key="breaker-open:spread:sim:ETH/USDT")
        alerts.flush()
        assert len(tg.messages) == 2


def test_rate_limit_keeps_the_rest_stored():
    with FakeTelegram() as tg:
        alerts, db = service(tg.url, max_per_minute=5)
        for i in range(12):
            alerts.alert("info", "fill burst", f"symbol {i}")
        alerts.flush()
        assert len(tg.messages) == 5
        assert [r.status for r in rows(db)].count("suppressed") == 7


def test_inventory_flips_are_stored_not_sent():
    with FakeTelegram() as tg:
        alerts, db = service(tg.url)
        for i in range(20):  # a market maker's position opens and closes many times an hour
            alerts.alert("info", "position opened" if i % 2 else "position closed", f"sim BTC/USDT flip {i}")
        alerts.alert("warning", "breaker opened", "spread 25bps")
        alerts.flush()
        assert [m["text"].split("\n")[0] for m in tg.messages] == ["⚠️ WARNING · breaker opened"]
        assert [r.status for r in rows(db)].count("stored") == 20  # all kept, none sent or counted


def test_transient_errors_are_retried():
    with FakeTelegram() as tg:
        tg.fail_next = [500, 429]
        alerts, db = service(tg.url)
        alerts.alert("error", "exchange disconnected", "sim: RequestTimeout")
        alerts.flush()
        assert len(tg.messages) == 1 and tg.requests == 3
        assert rows(db)[0].status == "sent" and rows(db)[0].attempts == 3


def test_bad_token_and_bad_chat_fail_clearly_without_leaking_the_token(caplog):
    caplog.set_level(logging.WARNING)
    with FakeTelegram() as tg:
        bad_token = "987654321:ZZZZsecretsecretsecretsecretZZ"
        alerts, db = service(tg.url, token=bad_token)
        alerts.alert("warning", "cap hit", "x")
        alerts.alert("warning", "cap hit", "y")
        alerts.flush()
        assert tg.requests == 2  # not retried
        row = rows(db)[0]
        assert row.status == "failed" and "rejected the bot token (401 Unauthorized)" in row.error
        assert caplog.text.count("alerts are not reaching Telegram") == 1  # warned once
        assert bad_token not in caplog.text and all(bad_token not in r.error for r in rows(db))

        alerts, db = service(tg.url, chat="-1")
        alerts.alert("warning", "cap hit", "z")
        alerts.flush()
        assert "chat not found" in rows(db)[0].error and "TELEGRAM_CHAT_ID" in rows(db)[0].error


def test_telegram_down_keeps_alerts_failed_and_never_blocks(caplog):
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    alerts, db = service(f"http://127.0.0.1:{port}", retries=2)
    alerts.alert("critical", "kill switch", "drawdown")  # returns at once: delivery is in the background
    alerts.flush()
    (row,) = rows(db)
    assert row.status == "failed" and row.attempts == 3 and "Telegram unreachable" in row.error
    assert GOOD_TOKEN not in row.error
    assert "trading continues" in caplog.text


def test_without_credentials_alerts_are_stored_as_skipped():
    db = make_engine("sqlite:///:memory:")
    alerts = AlertService(AlertSettings(), TelegramSettings(), db, SimClock())
    alerts.alert("info", "engine started", "hello")
    (row,) = rows(db)
    assert row.status == "skipped" and "not configured" in row.error


def test_unknown_level_is_refused():
    alerts, _ = service("http://127.0.0.1:9")
    with pytest.raises(ValueError, match="alert level 'loud'"):
        alerts.alert("loud", "x", "y")
