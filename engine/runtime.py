"""The engine runtime: one Engine per process, its lifecycle, and its APScheduler 3 jobs.

Jobs: quoting (every ``quote_interval_ms``, on its own one-thread executor so it never starves the others and
is never starved by them), hygiene/reconciliation, risk, health and metrics. Job errors are logged and counted.
States: STOPPED, RUNNING, PAUSED, HALTED. Start reconciles before quoting; pause, halt and stop cancel the
engine's orders. :func:`ensure_engine` returns the process's one Engine whatever Streamlit does (reruns, many
sessions, "Clear cache", reloads): its registry lives in a module that is never re-imported.
"""

from __future__ import annotations

import json
import logging
import math
import sys
import threading
import types
import zlib
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ccxt
from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobExecutionEvent
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import Session

from engine.alerts import AlertService
from engine.clock import Clock, WallClock
from engine.config import PROJECT_ROOT, AppConfig, load_config
from engine.exchanges import create_exchange
from engine.exchanges.errors import retry_transient
from engine.metering import MeteredExchange
from engine.risk.manager import RiskManager
from engine.store import (
    BalanceSnapshot,
    ExchangeHealth,
    SQLAlchemyError,
    StoreUnavailable,
    SystemMetric,
    TradingLock,
    get_state,
    make_engine,
    set_state,
)
from engine.store import EngineState as EngineStateRow
from engine.trader import Trader

log = logging.getLogger(__name__)

STOPPED, RUNNING, PAUSED, HALTED = "STOPPED", "RUNNING", "PAUSED", "HALTED"
HALT_KEY = "halted"  # engine_state: set by the kill switch, cleared by a re-arm
KILL_REQUEST_KEY = "kill_request"  # engine_state: written by `python -m engine kill` for a running engine
REARM_REQUEST_KEY = "rearm_request"
SNAPSHOT_EVERY_MS = 60_000
STORE_OUTAGE_MS = 15_000  # the store failing this long pauses the engine (cancelling its orders) with an alert
KILL_CANCEL_S = 10.0  # the kill switch and pause keep cancelling this long; then the sweep job carries on
STOP_CANCEL_S = 20.0  # stop() keeps cancelling this long before it gives up and says how many are left


def build_exchange(config: AppConfig, clock: Clock | None = None, name: str | None = None) -> ccxt.Exchange:
    """A venue the config names: a simulated exchange ("sim", "sim-b", ...: each its own paper account and market)
    or a ccxt exchange."""
    name = name or config.engine.exchange
    if name == "sim" or name.startswith("sim-"):
        sim = dict(config.sim)
        if sim.get("state_path"):
            path = Path(sim["state_path"])
            path = path if path.is_absolute() else PROJECT_ROOT / path
            if name != "sim":
                path = path.with_name(f"{path.stem}-{name}{path.suffix}")
            sim["state_path"] = str(path)
        if name != "sim":
            sim["seed"] = sim.get("seed", 7) + zlib.crc32(name.encode()) % 1000
        return create_exchange("sim", sim, clock=clock)
    from engine.exchanges.factory import build_ccxt

    conn = config.connection(name)
    return build_ccxt(name, conn.market, config.credentials.get(name), sandbox=conn.sandbox,
                      api_url=conn.api_url or None)


def request_budget(config: AppConfig, name: str) -> int | None:
    """Requests per minute the engine may send to ``name``: the connection's ``requests_per_min``, else the
    exchange's published limit (seed 003: Binance 1200, KuCoin 600, OKX 600, ...); None for simulated venues."""
    from engine.exchanges.factory import ALIASES, SUPPORTED

    configured = config.connection(name).requests_per_min if name in config.connections else 0
    if configured:
        return configured
    key = ALIASES.get(name, name)
    return SUPPORTED[key].requests_per_min if key in SUPPORTED else None


class Engine:
    """The market maker: a Trader on one exchange, driven by scheduled jobs, watched by the risk manager."""

    def __init__(self, config: AppConfig, exchange: ccxt.Exchange | None = None, clock: Clock | None = None,
                 db_url: str | None = None, extra_exchanges: dict[str, ccxt.Exchange] | None = None) -> None:
        self.config = config
        self.clock = clock or getattr(exchange, "clock", None) or WallClock()
        self.exchange = exchange or build_exchange(config, self.clock)
        # every request timed, counted, and kept within the exchange's budget
        self.api = MeteredExchange(self.exchange, self.clock, budget_per_min=request_budget(
            config, config.engine.exchange if self.exchange.id != "sim" else self.exchange.id))
        self.db_url = db_url or config.database_url
        self.db = make_engine(self.db_url)
        self.alerts = AlertService(config.alerts, config.telegram, self.db, self.clock)
        self.trader = Trader(config, self.api, self.clock, self.db)
        self.traders = [self.trader]  # one per venue, in priority order; the first is the primary
        for name in [v for v in config.engine.venues if v != config.engine.exchange]:
            venue = (extra_exchanges or {}).get(name) or build_exchange(config, self.clock, name)
            metered = MeteredExchange(venue, self.clock, budget_per_min=request_budget(config, name))
            self.traders.append(Trader(config, metered,
                                       self.clock, self.db, exchange_name=name))
        for t in self.traders:
            t.on_event = self.alert
        self.routes: dict[str, str | None] = {}
        self.risk = RiskManager(self)
        if len(self.traders) > 1:
            self.risk.extra_traders = self.traders
        self.state = STOPPED
        self.reason = ""
        self.error: str | None = None
        self.started_ms: int | None = None
        self.job_errors: Counter[str] = Counter()
        self.job_runs: Counter[str] = Counter()
        self.last_success: dict[str, int] = {}
        self.equity: float | None = None
        self.peak_equity: float | None = None
        self.risk_stale = False
        self._trading_lock = TradingLock(self.db_url, self.db)
        self._lock = threading.RLock()  # lifecycle commands
        self.work = threading.RLock()  # the trader's state: quoting, hygiene, risk actions, commands
        self._scheduler: BackgroundScheduler | None = None
        self._last_snapshot_ms = 0
        self._store_down_since: int | None = None  # the engine's own writes (metrics, health, state) failing since
        self._store_error = ""
        self._store_logged_ms = 0
        self.store_paused = False  # paused by the store fail-safe (the operator resumes once it is writable)

    # ------------------------------------------------------------------------------ lifecycle
    def start(self, schedule: bool = True) -> None:
        """Take the database's trading lock, reconcile with the exchange, then schedule the jobs.

        ``schedule=False`` does everything but start the scheduler (tests and backtests drive the cycles). An engine
        halted by the kill switch or the drawdown breaker comes back HALTED until re-armed, even after a restart.
        """
        with self._lock:
            if self.state != STOPPED:
                return
            self._trading_lock.acquire()
            try:
                for t in self.traders:  # a paper account is traded by one engine at a time
                    raw = t.ex.raw if hasattr(t.ex, "raw") else t.ex
                    if hasattr(raw, "claim_account"):
                        raw.claim_account()
                self._connect_real_exchanges()
                with self.work:
                    retry = {"retries": 4, "sleep": self.clock.sleep}  # a passing error does not fail the start
                    report = retry_transient(self.trader.startup, **retry)
                    for t in self.traders[1:]:
                        retry_transient(t.startup, **retry)
                    retry_transient(self._init_equity, **retry)
                    self.route()
                with Session(self.db) as s:
                    peak = get_state(s, "peak_equity")
                    halted = get_state(s, HALT_KEY)
                self.peak_equity = float(peak) if peak else None
                retry_transient(self.metrics_cycle, retries=4, sleep=self.clock.sleep)  # equity and peak from the start
            except Exception:
                self._trading_lock.release()
                raise
            self.error = None
            self.started_ms = self.clock.now_ms()
            self.risk.last_success_ms = None
            self.risk_stale = False
            if halted:
                self.state, self.reason = HALTED, json.loads(halted)["reason"]
                self.trader.quoting_enabled = False
            else:
                self.state, self.reason = RUNNING, ""
                self.trader.quoting_enabled = True
            if schedule:
                self._scheduler = self._make_scheduler()
                self._scheduler.start()
            self._start_feeds()
            if report.get("postponed"):
                log.warning("engine started on %s (%s) %s; the start-up reconciliation is postponed (%s): no quoting "
                            "until it succeeds", self.trader.name, ", ".join(self.trader.symbols), self.state,
                            report["postponed"])
            else:
                log.info("engine started on %s (%s) %s; reconciliation: %s", self.trader.name,
                         ", ".join(self.trader.symbols), self.state, json.dumps(report))
            if halted:
                self.alert("warning", "engine started halted", f"still halted ({self.reason}); re-arm to trade",
                           key="engine-start")
            else:
                self.alert("info", "engine started", f"quoting {', '.join(self.trader.symbols)} on "
                           f"{self.trader.name} in {self.config.strategy.risk_mode}", key="engine-start")

    def _connect_real_exchanges(self) -> None:
        """The connect sequence for real exchanges: markets, position mode, margin mode, leverage (logged)."""
        from engine.exchanges.factory import prepare

        for t in self.traders:
            raw = t.ex.raw if hasattr(t.ex, "raw") else t.ex
            if raw.id == "sim":
                continue
            conn = self.config.connection(t.name)
            leverage = {s: self.config.symbol_config(s, t.name).leverage for s in t.symbols}
            for step in prepare(raw, leverage, conn.margin_mode, conn.hedge_mode):
                (log.info if step.ok else log.error)("%s connect: %s: %s", t.name, step.step, step.message)

    def _start_feeds(self) -> None:
        """Websocket streams for each venue that offers them (``engine.feed``: auto = real exchanges only): books of
        the quoted symbols and tickers of every configured one on one thread, fills and order updates on another."""
        from engine.feed import AccountFeed, BookFeed, watcher_for

        mode = self.config.engine.feed
        for t in self.traders:
            raw = t.ex.raw if hasattr(t.ex, "raw") else t.ex
            if mode == "off" or (mode == "auto" and raw.id == "sim") or t.feed is not None:
                continue
            try:
                watcher = watcher_for(raw)
                has = getattr(watcher, "has", {})
                tickers = sorted(self.config.symbols.get(t.name, {})) if has.get("watchTickers") else []
                t.feed = BookFeed(watcher, t.symbols, ticker_symbols=[s for s in tickers if s in raw.markets])
                t.feed.start()
                log.info("%s: websocket order books for %s%s", t.name, ", ".join(t.symbols),
                         f"; tickers for {len(t.feed.ticker_symbols)} symbols" if t.feed.ticker_symbols else "")
            except Exception as exc:  # noqa: BLE001 - REST within the budget still works
                t.feed = None
                log.warning("%s: no websocket feed (%s); polling over REST within the request budget", t.name, exc)
            try:
                watcher = watcher_for(raw)
                has = getattr(watcher, "has", {})
                fills, orders = bool(has.get("watchMyTrades")), bool(has.get("watchOrders"))
                if not (fills or orders):
                    raise ValueError("neither watch_my_trades nor watch_orders")
                t.account_feed = AccountFeed(watcher, fills=fills, orders=orders)
                t.account_feed.start()
                log.info("%s: streaming %s", t.name, " and ".join(
                    w for w, on in (("fills", fills), ("order updates", orders)) if on))
            except Exception as exc:  # noqa: BLE001 - fills and orders are polled over REST instead
                t.account_feed = None
                log.warning("%s: account not streamed (%s); polling fills and orders over REST", t.name, exc)

    def _stop_feeds(self) -> None:
        for t in self.traders:
            for attr in ("feed", "account_feed"):
                feed = getattr(t, attr)
                if feed is not None:
                    feed.stop()
                    setattr(t, attr, None)

    def pause(self, reason: str = "paused by the operator") -> None:
        """Stop quoting and cancel the engine's orders; jobs other than quoting keep running."""
        with self._lock:
            if self.state != RUNNING:
                return
            self.state, self.reason = PAUSED, reason
            with self.work:
                left = 0
                for t in self.traders:
                    t.quoting_enabled = False
                    left += t.cancel_all(KILL_CANCEL_S)
            log.info("engine paused (%s); %d orders still live", reason, left)
            if left:
                self.alert("error", "orders still live", f"paused, but {left} orders are not confirmed cancelled yet; "
                           "the engine keeps cancelling them", key="orders-left")

    def resume(self) -> None:
        with self._lock:
            if self.state != PAUSED:
                return
            with self.work:
                for t in self.traders:
                    t.quoting_enabled = True
            self.state, self.reason = RUNNING, ""
            log.info("engine resumed")

    def kill(self, reason: str, close_positions: bool = False, source: str = "operator") -> dict:
        """The kill switch (also the drawdown breaker's action): halt, cancel all orders, optionally close all
        positions, raise a critical alert. The halt is kept in the store: only :meth:`rearm` lifts it."""
        with self._lock:
            if self.state == STOPPED and not self._trading_lock_held():
                raise RuntimeError("the engine is not running here; use `python -m engine kill` instead")
            self.state, self.reason = HALTED, reason
            with self.work:
                left, closed = 0, []
                for t in self.traders:
                    t.quoting_enabled = False
                    left += t.cancel_all(KILL_CANCEL_S)
                    closed += t.close_positions() if close_positions else []
            now = self.clock.now_ms()
            try:
                with Session(self.db) as s:
                    set_state(s, HALT_KEY, json.dumps({"reason": reason, "source": source, "ts": now}), now)
                    s.commit()
            except SQLAlchemyError as exc:  # halted all the same; only a restart would not know it
                self._note_store_failure(StoreUnavailable("the halt", exc))
            message = (f"{reason}. Orders cancelled ({left} still live"
                       + (", the engine keeps cancelling them" if left else "") + "); "
                       + (f"positions closed: {', '.join(closed)}" if closed else
                          ("no position to close" if close_positions else "positions kept"))
                       + ". Trading stays halted until re-armed.")
            log.critical("KILL SWITCH (%s): %s", source, message)
            self.alert("critical", "kill switch", message, key=f"kill:{now // 60_000}")
            return {"state": self.state, "orders_left": left, "closed": closed}

    def halt(self, reason: str) -> None:
        """Stop quoting and cancel everything until an operator re-arms (the kill switch without closing)."""
        if self.state != STOPPED:
            self.kill(reason, close_positions=False)

    def rearm(self) -> None:
        """Lift a halt: close the drawdown breaker, restart the peak from today's equity, quote again."""
        with self._lock:
            with Session(self.db) as s:
                row = s.get(EngineStateRow, HALT_KEY)
                if row is not None:
                    s.delete(row)
                s.commit()
            self.risk.rearm("drawdown")
            if self.equity is not None:
                self.peak_equity = self.equity
                with Session(self.db) as s:
                    set_state(s, "peak_equity", repr(self.equity), self.clock.now_ms())
                    s.commit()
            if self.state == HALTED:
                with self.work:
                    for t in self.traders:
                        t.quoting_enabled = True
                self.state, self.reason = RUNNING, ""
                log.info("engine re-armed")
                self.alert("info", "engine re-armed", "trading resumes; peak equity restarts from "
                           f"{self.equity or 0:,.2f}", key=f"rearm:{self.clock.now_ms()}")

    def stop(self) -> dict:
        """Stop the jobs, cancel the engine's orders, release the database. Returns a run summary."""
        with self._lock:
            if self.state == STOPPED:
                return self.summary()
            scheduler, self._scheduler = self._scheduler, None
        if scheduler is not None:  # not under the lock: a running job may be taking it (a kill, the store fail-safe)
            scheduler.shutdown(wait=True)
        with self._lock:
            if self.state == STOPPED:
                return self.summary()
            with self.work:
                left = 0
                for t in self.traders:
                    t.quoting_enabled = False
                    try:
                        left += t.cancel_all(STOP_CANCEL_S)
                    except Exception as exc:  # noqa: BLE001 - the other venues are still cancelled
                        left += max(1, len(t.orders))
                        log.error("engine stop: %s: cancelling failed (%s: %s)", t.name, type(exc).__name__, exc)
                if left:
                    log.error("engine stop: %d orders are not confirmed cancelled; check the exchange", left)
                try:
                    self.metrics_cycle()
                except Exception as exc:  # noqa: BLE001 - a last metric is not worth failing the stop
                    log.warning("engine stop: last metrics not recorded (%s)", type(exc).__name__)
            self._stop_feeds()
            self._trading_lock.release()
            self.state = STOPPED
            log.info("engine stopped; %d orders left live", left)
            self.alert("critical" if left else "info", "engine stopped",
                       f"{left} orders not confirmed cancelled: check the exchange" if left else "no order left live",
                       key=f"engine-stop:{self.clock.now_ms()}")
            self.alerts.flush(5.0)
            return self.summary()

    def run_simulated(self, seconds: float, quote_ms: int | None = None,
                      on_cycle: Callable[[Engine], None] | None = None) -> None:
        """Drive the jobs on a simulated clock at the scheduler's cadences (backtests, rehearsals, tests).

        Each job is wrapped as the scheduler wraps it: errors are logged and counted, never raised. Jobs are due by
        the clock, so simulated latency that makes requests slow makes the cycles come late, as it would live.
        """
        e = self.config.engine
        step_s = (quote_ms or e.quote_interval_ms) / 1000
        jobs = [(self._job("risk", self.risk_cycle), e.risk_interval_s),
                (self._job("hygiene", self.hygiene_cycle), e.hygiene_interval_s),
                (self._job("health", self.health_cycle), e.health_interval_s),
                (self._job("metrics", self.metrics_cycle), e.metrics_interval_s)]
        quote = self._job("quote", self.quote_cycle)
        start = self.clock.now_ms()
        due = [start + int(every * 1000) for _, every in jobs]
        while self.clock.now_ms() < start + seconds * 1000:
            self.clock.sleep(step_s)
            now = self.clock.now_ms()
            for i, (job, every) in enumerate(jobs):
                if now >= due[i]:
                    job()
                    due[i] = now + int(every * 1000)
            quote()
            if on_cycle is not None:
                on_cycle(self)

    def apply_config(self, config: AppConfig) -> None:
        """Take a reloaded config into the running engine: strategy, hygiene, risk thresholds and caps, alerts.

        The venue, the database and the symbol list stay as they started (a restart changes those).
        """
        from engine.risk.breakers import load_breakers

        with self._lock, self.work:
            self.config = config
            self.trader.config = config
            self.risk.settings = config.risk
            new = {b.name: b for b in load_breakers(config.risk)}
            self.risk.board.breakers = new
            for key in [k for k in self.risk.board.statuses if k[0] not in new]:  # a breaker switched off
                del self.risk.board.statuses[key]
            self.alerts.settings = config.alerts
        log.info("configuration applied: risk mode %s", config.strategy.risk_mode)

    def _trading_lock_held(self) -> bool:
        return self._trading_lock._fh is not None or self._trading_lock._conn is not None

    def alert(self, level: str, kind: str, message: str, key: str | None = None) -> None:
        """Raise an alert; never lets an alerting problem disturb trading."""
        try:
            self.alerts.alert(level, kind, message, key)
        except Exception:
            log.exception("could not record alert %s %s", level, kind)

    # ------------------------------------------------------------------------------ jobs
    def _make_scheduler(self) -> BackgroundScheduler:
        e = self.config.engine
        sched = BackgroundScheduler(
            executors={"quote": ThreadPoolExecutor(1), "default": ThreadPoolExecutor(3)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 5},
            timezone=UTC,
        )
        sched.add_listener(self._on_job_event, EVENT_JOB_ERROR | EVENT_JOB_MAX_INSTANCES | EVENT_JOB_MISSED)
        sched.add_job(self._job("quote", self.quote_cycle), "interval", seconds=e.quote_interval_ms / 1000,
                      id="quote", executor="quote")
        sched.add_job(self._job("hygiene", self.hygiene_cycle), "interval", seconds=e.hygiene_interval_s, id="hygiene")
        sched.add_job(self._job("risk", self.risk_cycle), "interval", seconds=e.risk_interval_s, id="risk")
        sched.add_job(self._job("health", self.health_cycle), "interval", seconds=e.health_interval_s, id="health")
        sched.add_job(self._job("metrics", self.metrics_cycle), "interval", seconds=e.metrics_interval_s,
                      id="metrics")
        return sched

    def _job(self, name: str, fn: Any) -> Any:
        def run() -> None:
            self.job_runs[name] += 1
            try:
                fn()
            except (StoreUnavailable, SQLAlchemyError) as exc:
                self.job_errors[name] += 1
                self._note_store_failure(exc if isinstance(exc, StoreUnavailable) else StoreUnavailable(name, exc),
                                         own=not isinstance(exc, StoreUnavailable))
                return
            except ccxt.NetworkError as exc:  # transient: counted, logged briefly, retried next run
                self.job_errors[name] += 1
                log.warning("job %s: %s: %s", name, type(exc).__name__, exc)
                return
            except Exception:
                self.job_errors[name] += 1
                log.exception("job %s failed", name)
                return
            finally:
                self._watch_store()
            if name in ("metrics", "health"):  # they write every run: the engine's own writes work again
                self._store_down_since = None
            self.last_success[name] = self.clock.now_ms()

        run.__name__ = f"{name}_job"
        return run

    def _note_store_failure(self, exc: StoreUnavailable, own: bool = True) -> None:
        """A write failed; logged once a minute at most (the queued changes are kept and written later)."""
        now = self.clock.now_ms()
        if own and self._store_down_since is None:
            self._store_down_since = now
        self._store_error = str(exc)
        if now - self._store_logged_ms >= 60_000:
            self._store_logged_ms = now
            log.error("%s", exc)

    def store_down_since(self) -> int | None:
        """Since when the store has been failing (the engine's own writes or any venue's), or None."""
        down = [t.store_down_since for t in self.traders if t.store_down_since is not None]
        if self._store_down_since is not None:
            down.append(self._store_down_since)
        return min(down) if down else None

    def _watch_store(self) -> None:
        """The store fail-safe: failing for ``STORE_OUTAGE_MS`` pauses the engine (cancelling its orders) with an
        alert; its coming back is announced (the operator resumes)."""
        since = self.store_down_since()
        now = self.clock.now_ms()
        if since is None:
            if self.store_paused:
                self.store_paused = False
                self.alert("warning", "store back", "the store is writable again and every queued change is written; "
                           "resume the engine when ready", key=f"store-back:{now}")
            return
        if self.state == RUNNING and now - since >= STORE_OUTAGE_MS:
            error = next((t.store_error for t in self.traders if t.store_error), "") or self._store_error
            self.store_paused = True
            self.alert("critical", "store unavailable", f"the store has failed for {(now - since) / 1000:.0f} s "
                       f"({error}): cancelling every order and pausing; nothing is lost, changes are kept in memory "
                       "until it is writable", key="store-down")
            try:
                self.pause(f"store unavailable: {error}"[:300])
            except Exception:  # noqa: BLE001 - the sweep job carries on cancelling
                log.exception("store fail-safe: pausing failed")

    def _on_job_event(self, event: JobExecutionEvent) -> None:
        self.job_errors[f"{event.job_id}:scheduler"] += 1
        if event.code == EVENT_JOB_MAX_INSTANCES:
            log.warning("job %s skipped: the previous run is still going", event.job_id)
        elif event.code == EVENT_JOB_MISSED:
            log.warning("job %s missed its run time", event.job_id)
        else:
            log.error("job %s raised %r", event.job_id, event.exception)

    def quote_cycle(self) -> None:
        """One quoting cycle on every venue (each quotes the symbols routed to it)."""
        if self.state != RUNNING:
            return
        now = self.clock.now_ms()
        if self.risk.stale(now):  # fail safe: no fresh risk checks, no quotes
            if not self.risk_stale:
                self.risk_stale = True
                with self.work:
                    for t in self.traders:
                        t.cancel_all()
                self.alert("error", "risk checks stale", "no successful risk run for "
                           f"{self.config.risk.stale_after_intervals} intervals: quoting paused and orders cancelled "
                           "until the risk job runs again", key="risk-stale")
            return
        if self.risk_stale:
            self.risk_stale = False
            self.alert("info", "risk checks back", "the risk job runs again: quoting resumes", key="risk-back")
        with self.work:
            for t in self.traders:
                t.quote_cycle()

    def hygiene_cycle(self) -> None:
        """Reconcile each venue with the store (less often where order updates are streamed). While not quoting
        (paused, halted, risk checks stale), keep cancelling whatever of ours is not confirmed cancelled yet."""
        with self.work:
            for t in self.traders:
                t.reconcile_due()
            if self.state in (PAUSED, HALTED) or self.risk_stale:
                left = sum(t.cancel_all() for t in self.traders if t.cancels_pending or t.orders)
                if left:
                    self.alert("error", "orders still live", f"{self.state.lower()}, but {left} orders are not "
                               "confirmed cancelled yet; still cancelling", key="orders-left")

    def risk_cycle(self) -> None:
        """Requests from the command line, then the risk checks (engine/risk/manager.py)."""
        self._requests()
        if self.state == STOPPED:
            return
        self.risk.run()
        self.route()

    def route(self) -> None:
        """Assign each symbol to one venue by ``engine.selection``; a move cancels there and quotes here."""
        if len(self.traders) == 1 and self.config.engine.selection == "SINGLE":
            return
        from engine.exchanges.selection import VenueHealth, choose

        snap = self.risk.last
        venues = []
        for t in self.traders:
            ex = snap.exchanges.get(t.name) if snap else None
            error_rate = ex.error_rate if ex and ex.error_rate is not None else 0.0
            healthy = (ex.connected if ex else True) and not t.gate.exchange_block and not t.gate.operator_block
            venues.append(VenueHealth(t.name, healthy,
                                      ex.latency_ms if ex else None, 1.0 - error_rate, frozenset(t.symbols)))
        symbols = sorted({s for t in self.traders for s in t.symbols})
        for symbol in symbols:
            choice = choose(symbol, venues, self.config.engine.selection, self.config.engine.weights)
            for t in self.traders:
                if symbol in t.symbols:
                    if choice == t.name:
                        t.gate.route_blocks.pop(symbol, None)
                    else:
                        t.gate.route_blocks[symbol] = f"routed to {choice or 'no exchange'}"
            before = self.routes.get(symbol, "unset")
            if before != choice:
                self.routes[symbol] = choice
                if before != "unset":
                    message = (f"{symbol} moves from {before or 'no exchange'} to {choice or 'no exchange'} "
                               f"({self.config.engine.selection})")
                    log.warning("routing: %s", message)
                    self.alert("warning", "routing", message, key=f"route:{symbol}:{choice}")

    def _requests(self) -> None:
        """Kill and re-arm requests written to the store by ``python -m engine kill | rearm``."""
        with Session(self.db) as s:
            kill = get_state(s, KILL_REQUEST_KEY)
            rearm = get_state(s, REARM_REQUEST_KEY)
            for key in (KILL_REQUEST_KEY, REARM_REQUEST_KEY):
                row = s.get(EngineStateRow, key)
                if row is not None:
                    s.delete(row)
            s.commit()
        if kill:
            req = json.loads(kill)
            self.kill(req["reason"], close_positions=req["close_positions"], source="command line")
        if rearm:
            self.rearm()

    def health_cycle(self) -> None:
        """Every venue (seed 003, every 30 s): latency of a cheap authenticated request (the balance; the server
        time where no key is configured), connected, errors, success rate, calls used in the last minute against
        the budget; one ``exchange_health`` row each."""
        for t in self.traders:
            connected, detail = True, ""
            try:
                if getattr(t.ex, "apiKey", None) or t.ex.id == "sim":
                    t.ex.fetch_balance()  # signed: a revoked key or a lost IP whitelist shows here
                else:
                    t.ex.fetch_time()
            except ccxt.BaseError as exc:
                connected, detail = False, f"{type(exc).__name__}: {exc}"[:500]
                self.alert("error", "exchange disconnected", f"{t.name}: {detail}", key=f"disconnected:{t.name}")
            meter = t.ex.meter
            now = self.clock.now_ms()
            window = meter.window(now)
            latency = window[-1][1] if window else None
            budget = getattr(t.ex, "budget_per_min", None)
            with Session(self.db) as s:
                s.add(ExchangeHealth(ts=now, exchange=t.name, connected=connected, latency_ms=latency,
                                     error_count=meter.failures,
                                     success_rate=1 - meter.failures / meter.total if meter.total else 1.0,
                                     calls_used=meter.count(now), calls_limit=budget, detail=detail))
                s.commit()

    def metrics_cycle(self) -> None:
        """Equity, peak, drawdown, daily PnL, PnL parts and counts into ``system_metrics``; balances each minute."""
        now = self.clock.now_ms()
        balance = self.api.fetch_balance()
        marks = self.marks(balance, views=self.trader.views, feed=self.trader.feed)
        equity = self.equity_of(balance, marks)
        with self.work:
            totals = self.trader.ledger.totals(marks)
            open_orders = len(self.trader.orders)
            fills = self.trader.ledger.fills
        self.equity = equity
        day = datetime.fromtimestamp(now / 1000, tz=UTC).strftime("%Y-%m-%d")
        with Session(self.db) as s:
            peak = self.note_equity(equity)
            day_key = f"day_start_equity:{day}"
            day_start = get_state(s, day_key)
            if day_start is None:
                set_state(s, day_key, repr(equity), now)
                day_start = equity
            set_state(s, "peak_equity", repr(peak), now)
            self.peak_equity = peak
            metric = dict(ts=now, state=self.state, equity=equity, peak_equity=peak,
                          drawdown_bps=(peak - equity) / peak * 1e4 if peak > 0 else 0.0,
                          daily_pnl=equity - float(day_start), realized_pnl=totals["realized_pnl"],
                          unrealized_pnl=totals["unrealized_pnl"], fees=totals["fees"], open_orders=open_orders,
                          fills=fills, quote_cycle_ms=self.trader.stats.last_cycle_ms)
            s.add(SystemMetric(exchange=self.trader.name, **metric))
            s.add(SystemMetric(exchange="ALL", **metric))
            if now - self._last_snapshot_ms >= SNAPSHOT_EVERY_MS:
                self._last_snapshot_ms = now
                for code, total in balance["total"].items():
                    if total:
                        s.add(BalanceSnapshot(ts=now, exchange=self.trader.name, currency=code,
                                              free=balance["free"].get(code) or 0.0,
                                              used=balance["used"].get(code) or 0.0, total=total,
                                              value_quote=total * marks.get(code, 0.0)))
            s.commit()

    def _init_equity(self) -> None:
        """Remember the starting balances once per database (the base the store's equity is computed from)."""
        with Session(self.db) as s:
            key = f"start_balances:{self.trader.name}"
            if get_state(s, key) is None:
                balance = self.api.fetch_balance()
                totals = {k: v for k, v in balance["total"].items() if v}
                if self.exchange.id == "sim":  # the wallet, before unrealized PnL
                    totals["USDT"] = balance["info"]["walletBalance"]
                set_state(s, key, json.dumps(totals), self.clock.now_ms())
                s.commit()

    def start_balances(self) -> dict[str, float]:
        with Session(self.db) as s:
            raw = get_state(s, f"start_balances:{self.trader.name}")
        return json.loads(raw) if raw else {}

    def note_equity(self, equity: float) -> float:
        """Remember the latest equity and return the peak so far."""
        self.equity = equity
        self.peak_equity = equity if self.peak_equity is None else max(self.peak_equity, equity)
        return self.peak_equity

    def marks(self, balance: dict, api: Any = None, symbols: list[str] | None = None,
              views: dict | None = None, feed: Any = None) -> dict[str, float]:
        """Prices in USDT of held currencies and of traded symbols (mid of the best bid and ask).

        ``views``, the trader's market views, price its symbols when fresh (5 s); then tickers streamed by
        ``feed`` (engine.feed.BookFeed); only the rest are fetched.
        """
        api = api or self.api
        marks: dict[str, float] = {"USDT": 1.0}
        now = self.clock.now_ms()
        for symbol, (ts, view) in (views or {}).items():
            if now - ts <= 5_000:
                marks[symbol] = view.mid
                if ":" not in symbol and symbol.endswith("/USDT"):
                    marks[symbol.split("/")[0]] = view.mid
        wanted = {s for s in (symbols or self.trader.symbols) if s not in marks}
        for code, total in balance["total"].items():
            if total and code != "USDT" and code not in marks and f"{code}/USDT" in api.markets:
                wanted.add(f"{code}/USDT")
        streamed = {s: t for s in wanted if feed is not None and (t := feed.ticker(s)) is not None}
        wanted -= set(streamed)
        tickers = {**streamed, **(api.fetch_tickers(sorted(wanted)) if wanted else {})}
        for symbol, t in tickers.items():
            bid, ask = t.get("bid"), t.get("ask")
            mid = (bid + ask) / 2 if bid and ask else t.get("last")
            if mid:
                marks[symbol] = mid
                if ":" not in symbol and symbol.endswith("/USDT"):
                    marks[symbol.split("/")[0]] = mid
        return marks

    def equity_of(self, balance: dict, marks: dict[str, float]) -> float:
        if balance.get("info", {}).get("equity") is not None:  # the simulated venue reports it
            return float(balance["info"]["equity"])
        return sum(total * marks.get(code, 0.0) for code, total in balance["total"].items() if total)

    # ------------------------------------------------------------------------------ reading
    def summary(self) -> dict:
        """The run in numbers; PnL and fees over every exchange the engine trades."""
        st = self.trader.stats
        totals: Counter[str] = Counter()
        for t in self.traders:
            totals.update(t.ledger.totals({}))
        cycles = sorted(st.cycle_ms)
        return {
            "state": self.state, "exchange": self.trader.name, "symbols": self.trader.symbols,
            "cycles": st.cycles, "orders_placed": st.placed, "orders_canceled": st.canceled,
            "orders_rejected": st.rejected, "orders_unknown": st.unknown,
            "fills": sum(t.ledger.fills for t in self.traders), "open_orders": sum(len(t.orders) for t in self.traders),
            "quote_cycle_ms_median": cycles[len(cycles) // 2] if cycles else None,
            "job_errors": dict(self.job_errors), "equity": self.equity, "peak_equity": self.peak_equity,
            **{k: round(v, 6) for k, v in totals.items() if not math.isnan(v)},
        }


# ------------------------------------------------------------------------------------ one per process
def _registry() -> types.ModuleType:
    """A module object that no reload replaces: it holds the process's engines and their lock."""
    mod = sys.modules.get("_mm_engine_registry")
    if mod is None:
        mod = types.ModuleType("_mm_engine_registry")
        mod.engines = {}
        mod.lock = threading.Lock()
        sys.modules["_mm_engine_registry"] = mod
    return mod


def ensure_engine(config_dir: str | Path | None = None, start: bool | None = None) -> Engine:
    """The process's one Engine for ``config_dir``, created (and started if the config says so) on first call.

    Safe to call from any number of threads and Streamlit sessions. If another process already trades on the
    same database, the engine stays STOPPED and ``engine.error`` says why.
    """
    reg = _registry()
    key = str(Path(config_dir).resolve()) if config_dir else "default"
    with reg.lock:
        engine = reg.engines.get(key)
        if engine is None:
            engine = Engine(load_config(config_dir))
            reg.engines[key] = engine
            if start if start is not None else engine.config.engine.autostart:
                try:
                    engine.start()
                except Exception as exc:  # noqa: BLE001 - shown in the console and logged in one line
                    from engine.logs import configured_secrets
                    from engine.problems import explain

                    engine.error = explain(exc, configured_secrets(engine.config))
                    log.error("engine not started: %s", engine.error)
        return engine


def stop_all_engines() -> None:
    """Stop every engine of this process (at exit): cancels their orders."""
    reg = _registry()
    with reg.lock:
        for engine in reg.engines.values():
            try:
                engine.stop()
            except Exception:  # pragma: no cover - best effort at exit
                log.exception("stopping engine at exit")
