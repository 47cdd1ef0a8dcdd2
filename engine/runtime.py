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
import threading
from collections import Counter

import ccxt
from apscheduler.schedulers.background import BackgroundScheduler
from sqlmodel import Session

from engine.alerts import AlertService
from engine.arbitrage.desk import ArbitrageDesk
from engine.clock import Clock, WallClock
from engine.config import AppConfig, changes_between
from engine.equity import EquityMarks
from engine.exchanges.errors import retry_transient
from engine.funding import FundingChecks
from engine.health import HealthRouting
from engine.jobs import Jobs
from engine.metering import MeteredExchange
from engine.metrics_board import BoardKeeper
from engine.netting import wire_netting
from engine.prometheus import PrometheusExporter
from engine.risk.manager import RiskManager
from engine.states import HALT_KEY, HALTED, KILL_REQUEST_KEY, PAUSED, REARM_REQUEST_KEY, RUNNING, STOPPED
from engine.store import EngineState as EngineStateRow
from engine.store import (
    SQLAlchemyError,
    StoreUnavailable,
    TradingLock,
    get_state,
    make_engine,
    set_state,
)
from engine.streams import Streams
from engine.trader import Trader
from engine.universe.keeper import UniverseKeeper
from engine.venues import build_exchange, request_budget

log = logging.getLogger(__name__)

KILL_CANCEL_S = 10.0  # the kill switch and pause keep cancelling this long; then the sweep job carries on
STOP_CANCEL_S = 20.0  # stop() keeps cancelling this long before it gives up and says how many are left






class Engine(Jobs, EquityMarks, HealthRouting, Streams, FundingChecks, UniverseKeeper, ArbitrageDesk):
    """The market maker: a Trader on one exchange, driven by scheduled jobs, watched by the risk manager."""

    def __init__(self, config: AppConfig, exchange: ccxt.Exchange | None = None, clock: Clock | None = None,
                 db_url: str | None = None, extra_exchanges: dict[str, ccxt.Exchange] | None = None) -> None:
        self.config = config
        self.clock = clock or getattr(exchange, "clock", None) or WallClock()
        self.exchange = exchange or build_exchange(config, self.clock)
        # every request timed, counted, and kept within the exchange's budget
        self.api = MeteredExchange(self.exchange, self.clock, budget_per_min=request_budget(
            config, config.engine.exchange))
        self.db_url = db_url or config.database_url
        self.db = make_engine(self.db_url)
        self.alerts = AlertService(config.alerts, config.telegram, self.db, self.clock)
        self.trader = Trader(config, self.api, self.clock, self.db)
        self.traders = [self.trader]  # one per venue, in priority order (`trader` is the first, by name only)
        for name in [v for v in config.engine.venues if v != config.engine.exchange]:
            venue = (extra_exchanges or {}).get(name) or build_exchange(config, self.clock, name)
            metered = MeteredExchange(venue, self.clock, budget_per_min=request_budget(config, name))
            self.traders.append(Trader(config, metered,
                                       self.clock, self.db, exchange_name=name))
        for t in self.traders:
            t.on_event = self.alert
        wire_netting(self)
        self.routes: dict[str, str | None] = {}
        self.risk = RiskManager(self)
        self.state = STOPPED
        self.reason = ""
        self.error: str | None = None
        self.started_ms: int | None = None
        self.job_errors: Counter[str] = Counter()
        self.job_runs: Counter[str] = Counter()
        self.job_crashes: Counter[str] = Counter()  # jobs that raised something unexpected (a bug)
        self.last_success: dict[str, int] = {}
        self.equity: float | None = None
        self.peak_equity: float | None = None
        self.risk_stale = False
        self._trading_lock = TradingLock(self.db_url, self.db)
        self._lock = threading.RLock()  # lifecycle commands
        self.work = threading.RLock()  # the trader's state: quoting, hygiene, risk actions, commands
        self._scheduler: BackgroundScheduler | None = None
        self._last_snapshot_ms = 0
        self._venue_equity: dict[str, float] = {}  # each venue's last known equity (metrics)
        self._store_down_since: int | None = None  # the engine's own writes (metrics, health, state) failing since
        self._store_error = ""
        self._store_logged_ms = 0
        self.store_paused = False  # paused by the store fail-safe (the operator resumes once it is writable)
        self.board_keeper = BoardKeeper(config.metrics.sharpe_window_min)  # the metrics job's board
        self.exporter: PrometheusExporter | None = None

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
                self._claim_accounts()
                self._connect_real_exchanges()
                with self.work:
                    retry = {"retries": 4, "sleep": self.clock.sleep}  # a passing error does not fail the start
                    reports = {t.name: retry_transient(t.startup, **retry) for t in self.traders}
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
            else:
                self.state, self.reason = RUNNING, ""
            for t in self.traders:
                t.quoting_enabled = not halted
            if schedule:
                self._scheduler = self._make_scheduler()
                self._scheduler.start()
            self._start_feeds()
            self._start_commands()
            port = self.config.metrics.prometheus_port
            if port and self.exporter is None:  # /metrics for Prometheus, while the engine runs
                self.exporter = PrometheusExporter(self)
                self.exporter.start(self.config.metrics.prometheus_host, port)
            for t in self.traders:
                if reports[t.name].get("postponed"):
                    log.warning("engine started on %s (%s) %s; the start-up reconciliation is postponed (%s): no "
                                "quoting until it succeeds", t.name, ", ".join(t.symbols), self.state,
                                reports[t.name]["postponed"])
                else:
                    log.info("engine started on %s (%s) %s; reconciliation: %s", t.name, ", ".join(t.symbols),
                             self.state, json.dumps(reports[t.name]))
            if halted:
                self.alert("warning", "engine started halted", f"still halted ({self.reason}); re-arm to trade",
                           key="engine-start")
            else:
                where = "; ".join(f"{', '.join(t.symbols)} on {t.name}" for t in self.traders)
                self.alert("info", "engine started", f"quoting {where} in {self.config.strategy.risk_mode}",
                           key="engine-start")

    def _claim_accounts(self) -> None:
        """A paper account is traded by one engine at a time (the venue says whether it has one)."""
        for t in self.traders:
            raw = t.ex.raw if hasattr(t.ex, "raw") else t.ex
            if hasattr(raw, "claim_account"):
                raw.claim_account()

    def _connect_real_exchanges(self) -> None:
        """The connect sequence for real exchanges: markets, position mode, margin mode, leverage (logged)."""
        from engine.exchanges.factory import prepare

        for t in self.traders:
            raw = t.ex.raw if hasattr(t.ex, "raw") else t.ex
            if not t.profile.connect_sequence:
                continue
            conn = self.config.connection(t.name)
            leverage = {s: self.config.symbol_config(s, t.name).leverage for s in t.symbols}
            for step in prepare(raw, leverage, conn.margin_mode, conn.hedge_mode):
                (log.info if step.ok else log.error)("%s connect: %s: %s", t.name, step.step, step.message)



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

    def kill_offline(self, reason: str, close_positions: bool = False, source: str = "command line") -> dict:
        """The kill switch with no engine running (``python -m engine kill``): take the trading lock, learn our
        orders from the store and the exchange, cancel them all (and close positions), record the halt, release.
        No jobs, no feeds, no quoting, no "engine started"."""
        with self._lock:
            if self.state != STOPPED:
                return self.kill(reason, close_positions, source)
            self._trading_lock.acquire()
            try:
                self._claim_accounts()
                self._connect_real_exchanges()
                with self.work:
                    for t in self.traders:
                        t.quoting_enabled = False
                        retry_transient(t.startup, retries=4, sleep=self.clock.sleep)
                result = self.kill(reason, close_positions, source)
                self.alerts.flush(5.0)
                return result
            finally:
                self._trading_lock.release()
                self.state = STOPPED

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
                        t.poll_fills(force=True)  # the fills since the last poll, so the store ends complete
                        t.try_flush()
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
            self._stop_commands()
            if self.exporter is not None:
                self.exporter.stop()
                self.exporter = None
            self._trading_lock.release()
            self.state = STOPPED
            log.info("engine stopped; %d orders left live", left)
            self.alert("critical" if left else "info", "engine stopped",
                       f"{left} orders not confirmed cancelled: check the exchange" if left else "no order left live",
                       key=f"engine-stop:{self.clock.now_ms()}")
            self.alerts.flush(5.0)
            return self.summary()


    def apply_config(self, config: AppConfig) -> None:
        """Take a reloaded config into the running engine: strategy, hygiene, risk thresholds and caps, alerts, and
        each venue's enabled symbols and their strategies.

        The venues and the database stay as they started (a restart changes those).
        """
        from engine.risk.breakers import load_breakers

        with self._lock, self.work:
            config = self.with_universe(config)  # the universe's symbols stay on top of the operator's
            changed = changes_between(self.config, config)
            self.config = config
            for t in self.traders:  # every venue, not only the first
                t.configure(config)
            self.risk.settings = config.risk
            new = {b.name: b for b in load_breakers(config.risk)}
            self.risk.board.breakers = new
            for key in [k for k in self.risk.board.statuses if k[0] not in new]:  # a breaker switched off
                del self.risk.board.statuses[key]
            self.alerts.settings = config.alerts
        log.info("configuration applied: %s", "; ".join(changed) if changed else "nothing changed")

    def _trading_lock_held(self) -> bool:
        return self._trading_lock._fh is not None or self._trading_lock._conn is not None

    def alert(self, level: str, kind: str, message: str, key: str | None = None) -> None:
        """Raise an alert; never lets an alerting problem disturb trading."""
        try:
            self.alerts.alert(level, kind, message, key)
        except Exception:
            log.exception("could not record alert %s %s", level, kind)

    # ------------------------------------------------------------------------------ jobs


















    # ------------------------------------------------------------------------------ reading
    def summary(self) -> dict:
        """The run in numbers; PnL and fees over every exchange the engine trades."""
        totals: Counter[str] = Counter()
        for t in self.traders:
            totals.update(t.ledger.totals({}))
        stats = [t.stats for t in self.traders]
        cycles = sorted(ms for st in stats for ms in st.cycle_ms)
        return {
            "state": self.state, "exchange": ", ".join(t.name for t in self.traders),
            "symbols": [s for t in self.traders for s in t.symbols],
            "cycles": max(st.cycles for st in stats), "orders_placed": sum(st.placed for st in stats),
            "orders_canceled": sum(st.canceled for st in stats), "orders_rejected": sum(st.rejected for st in stats),
            "orders_unknown": sum(st.unknown for st in stats),
            "fills": sum(t.ledger.fills for t in self.traders), "open_orders": sum(len(t.orders) for t in self.traders),
            "quote_cycle_ms_median": cycles[len(cycles) // 2] if cycles else None,
            "job_errors": dict(self.job_errors), "equity": self.equity, "peak_equity": self.peak_equity,
            **{k: round(v, 6) for k, v in totals.items() if not math.isnan(v)},
        }


# ------------------------------------------------------------------------------------ one per process


__all__ = ["HALTED", "HALT_KEY", "KILL_REQUEST_KEY", "PAUSED", "REARM_REQUEST_KEY", "RUNNING", "STOPPED", "Engine",
           "build_exchange", "request_budget"]
