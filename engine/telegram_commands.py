"""Telegram commands (``alerts.commands``): the operator steers the engine from the configured chat.

A background thread long-polls the Bot API's ``getUpdates`` (``alerts.poll_timeout_s``), answers through
``sendMessage``, and backs off on errors (1 s doubling to 60 s). Only messages from ``TELEGRAM_CHAT_ID`` are obeyed;
any other chat is ignored and logged (its id only). A bot token Telegram rejects stops the polling with one error
line (the token masked). Commands:

``/status`` state, exchanges, risk mode, open breakers · ``/pnl`` equity, today, net PnL, fees · ``/positions`` ·
``/orders`` · ``/pause`` · ``/resume`` · ``/kill`` (asks for a second ``/kill`` within 30 s; halts, cancels every
order, keeps positions) · ``/rearm`` · ``/mode conservative|aggressive|aggressive_plus`` · ``/help``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import requests
from sqlmodel import Session, select

from engine.config import RISK_MODES, load_config, mask_secret, save_overrides
from engine.health import healthy_venues
from engine.store import SystemMetric

log = logging.getLogger("engine.telegram")
KILL_CONFIRM_S = 30.0
BACKOFF_MAX_S = 60.0
HELP = ("/status · /pnl · /positions · /orders · /pause · /resume · /kill (then /kill again within 30 s) · /rearm · "
        "/mode conservative|aggressive|aggressive_plus · /help")


class TelegramCommands:
    """Polls for the operator's commands and carries them out on ``engine``."""

    def __init__(self, engine: Any, http: requests.Session | None = None, poll_timeout_s: float | None = None) -> None:
        self.engine = engine
        self.http = http or requests.Session()
        tg = engine.alerts.telegram
        self.token = tg.bot_token.reveal() if tg.bot_token else ""
        self.chat_id = str(tg.chat_id or "")
        self.api = engine.config.alerts.api_url.rstrip("/")
        self.poll_timeout_s = engine.config.alerts.poll_timeout_s if poll_timeout_s is None else poll_timeout_s
        self.offset = 0
        self.kill_asked_at: float | None = None
        self.stopped = threading.Event()
        self.disabled = ""  # why polling stopped for good (a rejected token)
        self.handled = 0
        self.last_answer: str | None = None
        self._thread: threading.Thread | None = None
        self._commands: dict[str, Callable[[list[str]], str]] = {
            "/status": self._status, "/pnl": self._pnl, "/positions": self._positions, "/orders": self._orders,
            "/pause": self._pause, "/resume": self._resume, "/kill": self._kill, "/rearm": self._rearm,
            "/mode": self._mode, "/help": lambda _args: HELP, "/start": lambda _args: HELP,
        }

    # ------------------------------------------------------------------------------ the loop
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="telegram-commands", daemon=True)
            self._thread.start()
            log.info("Telegram commands: listening to chat %s", self.chat_id)

    def stop(self) -> None:
        self.stopped.set()
        if self._thread is not None:
            self._thread.join(timeout=self.poll_timeout_s + 15)
            self._thread = None

    def _run(self) -> None:
        delay = 1.0
        while not self.stopped.is_set() and not self.disabled:
            try:
                self.poll_once()
                delay = 1.0
            except Exception as exc:  # noqa: BLE001 - the loop outlives any one failure; it backs off
                log.warning("Telegram commands: %s; retrying in %.0f s", self._clean(f"{type(exc).__name__}: {exc}"),
                            delay)
                self.stopped.wait(delay)
                delay = min(delay * 2, BACKOFF_MAX_S)

    def poll_once(self) -> int:
        """One ``getUpdates`` call; handles what came and returns how many updates it read."""
        r = self.http.get(f"{self.api}/bot{self.token}/getUpdates",
                          params={"offset": self.offset, "timeout": int(self.poll_timeout_s),
                                  "allowed_updates": '["message"]'}, timeout=self.poll_timeout_s + 10)
        if r.status_code in (401, 404):
            self.disabled = f"Telegram rejected the bot token ({r.status_code}); check TELEGRAM_BOT_TOKEN"
            log.error("Telegram commands stopped: %s (%s)", self.disabled, mask_secret(self.token))
            return 0
        body = r.json()
        if not body.get("ok"):
            raise RuntimeError(f"getUpdates answered {r.status_code}: {body.get('description', '')}"[:200])
        updates = body.get("result") or []
        for update in updates:
            self.offset = max(self.offset, int(update["update_id"]) + 1)
            self.handle(update)
        return len(updates)

    def handle(self, update: dict) -> str | None:
        """Obey one update from the operator's chat and answer it; anything else is ignored. Returns the answer."""
        msg = update.get("message") or {}
        chat = str((msg.get("chat") or {}).get("id", ""))
        text = (msg.get("text") or "").strip()
        if chat != self.chat_id:
            log.warning("Telegram commands: ignored a message from chat %s (only chat %s is obeyed)", chat or "?",
                        self.chat_id)
            return None
        if not text.startswith("/"):
            return None
        words = text.split()
        name = words[0].split("@")[0].lower()
        command = self._commands.get(name)
        try:
            answer = command(words[1:]) if command else f"unknown command {name}; {HELP}"
        except Exception as exc:  # noqa: BLE001 - the operator gets the error line, the engine carries on
            answer = f"{name} failed: {type(exc).__name__}: {exc}"[:300]
        if name != "/kill":
            self.kill_asked_at = None
        self.handled += 1
        self.last_answer = answer
        log.info("Telegram command %s: %s", name, answer.splitlines()[0][:120])
        self.reply(answer)
        return answer

    def reply(self, text: str) -> None:
        r = self.http.post(f"{self.api}/bot{self.token}/sendMessage",
                           json={"chat_id": self.chat_id, "text": text[:4000], "disable_web_page_preview": True},
                           timeout=10)
        if r.status_code != 200:
            log.warning("Telegram commands: the answer was refused (%s)", r.status_code)

    def _clean(self, text: str) -> str:
        return text.replace(self.token, mask_secret(self.token)) if self.token else text

    # ------------------------------------------------------------------------------ the commands
    def _status(self, _args: list[str]) -> str:
        e = self.engine
        breakers = [f"{b.breaker} {b.state} on {b.scope.exchange or 'all'}"
                    + (f":{b.scope.symbol}" if b.scope.symbol else "") for b in e.risk.board.active()]
        able, _ = healthy_venues(e)
        orders = sum(len(t.snapshot.orders) for t in e.traders)
        fills = sum(t.ledger.fills for t in e.traders)
        return (f"{e.state}{': ' + e.reason if e.reason else ''}\n"
                f"exchanges: {', '.join(t.name for t in e.traders)} ({able} of {len(e.traders)} can quote)\n"
                f"risk mode: {e.config.strategy.risk_mode}\nbreakers open: {', '.join(breakers) or 'none'}\n"
                f"open orders: {orders}, fills: {fills:,}")

    def _pnl(self, _args: list[str]) -> str:
        with Session(self.engine.db) as s:  # the metrics job's last reading, over every exchange
            m = s.exec(select(SystemMetric).where(SystemMetric.exchange == "ALL")
                       .order_by(SystemMetric.ts.desc()).limit(1)).first()
        if m is None:
            return "no PnL yet: the metrics job has not run"
        net = m.realized_pnl + m.unrealized_pnl - m.fees
        return (f"equity {_money(m.equity)} USDT\ntoday {_money(m.daily_pnl, signed=True)}\n"
                f"net PnL {_money(net, signed=True)} (realized {_money(m.realized_pnl, signed=True)}, unrealized "
                f"{_money(m.unrealized_pnl, signed=True)})\nfees {_money(m.fees)}")

    def _positions(self, _args: list[str]) -> str:
        lines = []
        for t in self.engine.traders:
            snap = t.snapshot
            for symbol, pos in sorted(snap.positions.items()):
                if pos.qty:
                    seen = snap.views.get(symbol)
                    upnl = pos.unrealized(seen[1].mid) if seen else None
                    lines.append(f"{symbol} {'long' if pos.qty > 0 else 'short'} {abs(pos.qty):g} at "
                                 f"{pos.avg_price:g} on {t.name}, unrealized {_money(upnl, signed=True)}")
        return "\n".join(lines[:20]) or "no open position"

    def _orders(self, _args: list[str]) -> str:
        rows = [(t.name, o) for t in self.engine.traders for o in t.snapshot.orders]
        head = f"{len(rows)} open orders"
        return "\n".join([head, *(f"{o.symbol} {o.side} {o.amount:g} @ {o.price:g} ({name})"
                                  for name, o in sorted(rows, key=lambda r: (r[1].symbol, r[1].side, r[1].level))[:15]
                                  if o.price)])

    def _pause(self, _args: list[str]) -> str:
        self.engine.pause("paused from Telegram")
        return f"{self.engine.state}: quoting stopped and orders cancelled; /resume to quote again"

    def _resume(self, _args: list[str]) -> str:
        self.engine.resume()
        return f"{self.engine.state}" + ("" if self.engine.state == "RUNNING" else f" ({self.engine.reason})")

    def _kill(self, _args: list[str]) -> str:
        now = time.monotonic()
        if self.kill_asked_at is None or now - self.kill_asked_at > KILL_CONFIRM_S:
            self.kill_asked_at = now
            return ("Kill switch: send /kill again within 30 s to halt trading and cancel every order "
                    "(positions are kept; /rearm lifts it)")
        self.kill_asked_at = None
        result = self.engine.kill("kill switch from Telegram", close_positions=False, source="Telegram")
        return f"HALTED: orders cancelled ({result['orders_left']} still live); positions kept; /rearm to trade again"

    def _rearm(self, _args: list[str]) -> str:
        self.engine.rearm()
        return f"{self.engine.state}: re-armed" if self.engine.state == "RUNNING" else f"{self.engine.state}"

    def _mode(self, args: list[str]) -> str:
        mode = (args[0] if args else "").upper()
        if mode not in RISK_MODES:
            return f"/mode takes one of {', '.join(m.lower() for m in RISK_MODES)}"
        cdir = self.engine.config.config_dir
        save_overrides({"strategy": {"risk_mode": mode}}, cdir)  # saved like the console saves it, then applied
        self.engine.apply_config(load_config(cdir))
        return f"risk mode {self.engine.config.strategy.risk_mode}"

def _money(x: float | None, signed: bool = False) -> str:
    if x is None:
        return "—"
    return f"{x:+,.2f}" if signed else f"{x:,.2f}"
