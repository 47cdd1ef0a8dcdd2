"""Telegram commands (issue 15, point 2) against the local Telegram imitation: each command, the confirmation of
/kill, a stranger's message ignored, a bad token, and the background long-polling thread."""

from __future__ import annotations

import logging
import time

import pytest

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.runtime import HALTED, PAUSED, RUNNING, Engine
from engine.telegram_commands import TelegramCommands
from tests.engine.test_runtime import make_config_dir
from tests.fakes.telegram import GOOD_CHAT, GOOD_TOKEN, FakeTelegram

ENV = {"TELEGRAM_BOT_TOKEN": GOOD_TOKEN, "TELEGRAM_CHAT_ID": GOOD_CHAT}


@pytest.fixture
def telegram():
    with FakeTelegram() as fake:
        yield fake


def engine_for(tmp_path, telegram, commands: bool = False) -> Engine:
    cdir = make_config_dir(tmp_path, alerts={"api_url": telegram.url, "commands": commands, "poll_timeout_s": 1})
    cfg = load_config(cdir, env=ENV)
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    engine.run_simulated(10)
    return engine


def ask(fake: FakeTelegram, bot: TelegramCommands, text: str, chat: str = GOOD_CHAT) -> str | None:
    """Say ``text`` in ``chat``; the bot's answer, as it reached the chat (alerts may arrive in between)."""
    before = len(fake.messages)
    bot.last_answer = None
    fake.say(text, chat)
    bot.poll_once()
    if bot.last_answer is None:
        return None
    assert bot.last_answer in [m["text"] for m in fake.messages[before:]]
    return bot.last_answer


def test_each_command_answers_and_acts(tmp_path, telegram):
    engine = engine_for(tmp_path, telegram)
    bot = TelegramCommands(engine, poll_timeout_s=0)
    assert ask(telegram, bot, "/status").startswith("RUNNING\nexchanges: sim (1 of 1 can quote)\nrisk mode: "
                                                     "CONSERVATIVE")
    assert "equity" in ask(telegram, bot, "/pnl") and "fees" in ask(telegram, bot, "/pnl")
    assert ask(telegram, bot, "/orders").startswith(f"{len(engine.trader.orders)} open orders")
    positions = ask(telegram, bot, "/positions")
    assert positions == "no open position" or " on sim, unrealized " in positions
    assert "pause" in ask(telegram, bot, "/help")
    assert ask(telegram, bot, "/pause").startswith("PAUSED") and engine.state == PAUSED
    assert engine.exchange.fetch_open_orders() == []  # pausing cancels
    assert ask(telegram, bot, "/resume") == "RUNNING" and engine.state == RUNNING
    assert ask(telegram, bot, "/mode aggressive") == "risk mode AGGRESSIVE"
    assert engine.config.strategy.risk_mode == "AGGRESSIVE"
    assert load_config(engine.config.config_dir, env=ENV).strategy.risk_mode == "AGGRESSIVE"  # saved too
    assert ask(telegram, bot, "/mode reckless").startswith("/mode takes one of conservative, aggressive")
    assert ask(telegram, bot, "/frobnicate").startswith("unknown command /frobnicate")
    assert bot.offset == telegram.updates[-1]["update_id"] + 1  # every update read once
    engine.stop()


def test_kill_asks_for_a_second_kill_within_30_s(tmp_path, telegram, monkeypatch):
    engine = engine_for(tmp_path, telegram)
    bot = TelegramCommands(engine, poll_timeout_s=0)
    assert ask(telegram, bot, "/kill").startswith("Kill switch: send /kill again within 30 s")
    assert engine.state == RUNNING
    assert ask(telegram, bot, "/status").startswith("RUNNING")  # another command in between: asked again
    assert ask(telegram, bot, "/kill").startswith("Kill switch: send /kill again")
    clock = [time.monotonic() + 31]
    monkeypatch.setattr("engine.telegram_commands.time.monotonic", lambda: clock[0])  # too late: asked again
    assert ask(telegram, bot, "/kill").startswith("Kill switch: send /kill again")
    assert ask(telegram, bot, "/kill").startswith("HALTED: orders cancelled (0 still live)")
    assert engine.state == HALTED and engine.exchange.fetch_open_orders() == []
    assert ask(telegram, bot, "/rearm") == "RUNNING: re-armed" and engine.state == RUNNING
    engine.stop()


def test_a_strangers_message_is_ignored_and_logged(tmp_path, telegram, caplog):
    engine = engine_for(tmp_path, telegram)
    bot = TelegramCommands(engine, poll_timeout_s=0)
    with caplog.at_level(logging.WARNING, logger="engine.telegram"):
        assert ask(telegram, bot, "/pause", chat="999") is None
    assert engine.state == RUNNING and bot.handled == 0
    assert any("ignored a message from chat 999" in r.getMessage() for r in caplog.records)
    engine.stop()


def test_a_bad_token_stops_the_polling_in_one_line_without_the_token(tmp_path, telegram, caplog):
    engine = engine_for(tmp_path, telegram)
    bot = TelegramCommands(engine, poll_timeout_s=0)
    bot.token = "123456789:not-the-token-at-all"
    with caplog.at_level(logging.ERROR, logger="engine.telegram"):
        bot.start()
        bot._thread.join(timeout=10)
    assert "rejected the bot token (401)" in bot.disabled
    lines = [r.getMessage() for r in caplog.records if r.name == "engine.telegram" and r.levelno >= logging.ERROR]
    assert len(lines) == 1 and "not-the-token-at-all" not in lines[0]
    assert "not-the-token-at-all" not in caplog.text
    engine.stop()


def test_the_engine_listens_in_the_background_while_it_runs(tmp_path, telegram):
    engine = engine_for(tmp_path, telegram, commands=True)
    assert engine.commands is not None
    telegram.say("/status")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not any(m["text"].startswith("RUNNING\n") for m in telegram.messages):
        time.sleep(0.05)
    assert any(m["text"].startswith("RUNNING\n") for m in telegram.messages)
    engine.stop()
    assert engine.commands is None  # the thread is stopped with the engine
