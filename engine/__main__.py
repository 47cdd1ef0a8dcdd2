"""Command line: ``python -m engine run | backtest | sweep | runs | kill | rearm | check | soak``.

``--help`` on each explains every option."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from engine.config import load_config
from engine.lab.cli import add_model_options, add_runs_parser, add_sweep_parser, read_value, venue_models

log = logging.getLogger("engine")


def _run(args: argparse.Namespace) -> int:
    from engine.logs import setup_logging
    from engine.runtime import Engine

    config = load_config(args.config)
    path = setup_logging(config)
    engine = Engine(config)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    engine.start()  # a failure (another engine trading here included) ends in main()'s one line
    log.info("running on %s; logs also in %s; Ctrl-C to stop", config.engine.exchange, path)
    done.wait(args.duration)
    summary = engine.stop()
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _kill(args: argparse.Namespace) -> int:
    """The kill switch from a shell: through the running engine if there is one, else directly."""
    from sqlmodel import Session

    from engine.runtime import HALT_KEY, KILL_REQUEST_KEY, Engine
    from engine.store import TradingLockError, set_state

    config = load_config(args.config)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    engine = Engine(config)
    try:
        result = engine.kill_offline(args.reason, close_positions=args.close_positions)  # takes the trading lock
    except TradingLockError:  # an engine runs on this database: it acts on the request
        now = engine.clock.now_ms()
        with Session(engine.db) as s:
            set_state(s, KILL_REQUEST_KEY, json.dumps({"reason": args.reason, "close_positions": args.close_positions,
                                                       "ts": now}), now)
            s.commit()
        print("kill requested: the running engine acts on it within one risk interval "
              f"({config.engine.risk_interval_s:.0f} s)")
        return 0 if _wait_for(engine.db, HALT_KEY, present=True, seconds=args.wait) else 1
    print(json.dumps(result, indent=2))
    return 0 if result["orders_left"] == 0 else 1


def _rearm(args: argparse.Namespace) -> int:
    from sqlmodel import Session

    from engine.runtime import HALT_KEY, REARM_REQUEST_KEY
    from engine.store import EngineState, TradingLock, TradingLockError, make_engine, set_state

    config = load_config(args.config)
    db = make_engine(config.database_url)
    lock = TradingLock(config.database_url, db)
    try:
        lock.acquire()
    except TradingLockError:
        with Session(db) as s:
            set_state(s, REARM_REQUEST_KEY, "{}", 0)
            s.commit()
        print("re-arm requested: the running engine acts on it within one risk interval")
        return 0 if _wait_for(db, HALT_KEY, present=False, seconds=args.wait) else 1
    try:
        with Session(db) as s:
            for key in (HALT_KEY, "peak_equity"):  # the peak restarts from the equity at the next start
                row = s.get(EngineState, key)
                if row is not None:
                    s.delete(row)
            s.commit()
    finally:
        lock.release()
    print("re-armed: the next start trades again")
    return 0


def _wait_for(db: object, key: str, present: bool, seconds: float) -> bool:
    """Poll the store until ``key`` is (or is no longer) set; True when seen, or when not asked to wait."""
    import time

    from sqlmodel import Session

    from engine.store import get_state

    deadline = time.monotonic() + seconds
    while True:
        with Session(db) as s:
            if (get_state(s, key) is not None) == present:
                print("done: the engine is halted" if present else "done: the engine is re-armed")
                return True
        if time.monotonic() >= deadline:
            if seconds:
                print(f"not confirmed within {seconds:.0f} s: check the console or the logs", file=sys.stderr)
            return seconds == 0
        time.sleep(0.5)


def _check(args: argparse.Namespace) -> int:
    """Connection tests from a shell; exit 0 only when every test passes."""
    from engine.kucoin_check import check_kucoin, format_report

    config = load_config(args.config)
    report = check_kucoin(config)
    print(json.dumps(report.to_dict(), indent=2, default=str) if args.json else format_report(report))
    return 0 if report.ok else 1


def _backtest(args: argparse.Namespace) -> int:
    from engine.backtest import run_backtest
    from engine.lab.runs import RunRequest
    from engine.sweep import Progress

    config = load_config(args.config) if args.config else load_config(env={})
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    for f in args.data or []:
        if not Path(f).is_file():
            print(f"error: --data {f}: no such file", file=sys.stderr)
            return 2
    if args.scenario:
        from engine.scenarios import dumps, run_scenario

        report = run_scenario(args.scenario, data=args.data, start=args.start, hours=args.hours or 3.0, config=config,
                              quote_ms=args.quote_ms)
        print(dumps(report))
        return 0 if not report["missing"] else 1
    if not args.data:
        print("error: --data FILE [FILE ...] or --scenario NAME is needed", file=sys.stderr)
        return 2
    try:
        params = dict(_param(p) for p in args.param or [])
        request = RunRequest(list(args.data), args.symbol, args.strategy, params, venue_models(args), args.quote_ms,
                             args.start, args.hours, args.name)
        series: dict = {}
        bar = Progress("backtest") if sys.stderr.isatty() else None
        summary = run_backtest(request.files, config=config, **request.backtest_kwargs(), series=series,
                               progress=(lambda share: bar(round(share * 1000), 1000)) if bar else None)
    except ValueError as exc:  # a bad option, param or data file: one line
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.save:
        from engine.clock import WallClock
        from engine.lab.runs import save_run
        from engine.store import make_engine

        summary["run_id"] = save_run(make_engine(config.database_url), request, summary, series,
                                     now_ms=WallClock().now_ms())
    print(json.dumps(summary, indent=2))
    return 0


def _soak(args: argparse.Namespace) -> int:
    from engine.soak import render, run_soak

    if args.hours <= 0 or args.symbols < 1:
        print("error: --hours must be > 0 and --symbols at least 1", file=sys.stderr)
        return 2
    if os.environ.get("PYTHONHASHSEED") != "0":  # set iteration order too, so a seed replays a run exactly
        import subprocess

        argv = [sys.executable, "-m", "engine", "soak", "--hours", str(args.hours), "--symbols", str(args.symbols),
                "--seed", str(args.seed), *(["--config", args.config] if args.config else []),
                *(["--json"] if args.json else [])]
        return subprocess.run(argv, env={**os.environ, "PYTHONHASHSEED": "0"}, check=False).returncode
    config = load_config(args.config) if args.config else load_config(env={})
    logging.basicConfig(level=logging.CRITICAL + 1)  # the drill's faults would flood the terminal; the report says it
    report = run_soak(args.hours, args.symbols, args.seed, config=config)
    print(json.dumps(report, indent=2) if args.json else render(report))
    return 0 if report["ok"] else 1


def _param(text: str) -> tuple[str, object]:
    """``KEY=VALUE`` with the value read as YAML (numbers, true/false, strings)."""
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise ValueError(f"--param {text!r}: write KEY=VALUE, e.g. --param rsi_period=9")
    return key.strip(), read_value(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m engine", description="Market-making engine, headless.")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the engine headless until stopped (or for --duration seconds)",
                         description="Run the engine headless with the config hierarchy under --config; "
                                     "Ctrl-C or SIGTERM stops it cleanly (orders cancelled) and prints a summary.")
    run.add_argument("--config", metavar="DIR", default=None,
                     help="config directory holding config.yaml / config.json (default: ./config)")
    run.add_argument("--duration", metavar="SECONDS", type=float, default=None,
                     help="stop after this many seconds (default: run until stopped)")
    run.set_defaults(fn=_run)
    bt = sub.add_parser("backtest", help="replay recorded Binance captures through the engine on a simulated clock",
                        description="Run the engine's quoting against the replay venue as fast as possible and "
                                    "print a JSON summary (cycles, orders, fills, volume, fees, PnL, max inventory, "
                                    "max drawdown, wall time).")
    bt.add_argument("--data", metavar="FILE", nargs="+", default=None,
                    help="Binance websocket capture files (.gz), e.g. ../shared/data/binance-l2/spot/btcusdt_*.gz, or "
                         "one-minute candle files, e.g. ../shared/data/candles-1m/BTC_USDT-1m.csv.gz")
    bt.add_argument("--scenario", metavar="NAME", default=None,
                    choices=("flash_crash", "latency_spike", "error_burst", "spread_blowout", "inventory_runaway"),
                    help="rehearse the brakes on a named scenario: flash_crash, latency_spike, error_burst, "
                         "spread_blowout, inventory_runaway; prints what fired, when, and what was done "
                         "(exit 1 if an expected brake did not fire)")
    bt.add_argument("--strategy", metavar="NAME", default=None,
                    help="with candle --data: the strategy every symbol trades (momentum, mean_reversion, breakout, "
                         "market_making, ...; default: each symbol's configured one)")
    bt.add_argument("--param", metavar="KEY=VALUE", action="append", default=None,
                    help="a param of --strategy (repeatable), e.g. --param rsi_period=9")
    bt.add_argument("--start", metavar="ISO", default=None,
                    help="where to start, e.g. 2022-01-21T19:30:00Z (default: a capture's beginning; three hours "
                         "into candle files, which the strategies see as history)")
    bt.add_argument("--hours", metavar="H", type=float, default=None,
                    help="how many hours to run, e.g. 0.05 for three minutes (default: to the files' end; 3 with "
                         "--scenario)")
    bt.add_argument("--symbol", metavar="S", action="append", default=None,
                    help="symbol to quote (repeatable; default: every market in the data)")
    bt.add_argument("--config", metavar="DIR", default=None,
                    help="config directory for strategy and hygiene settings (default: ./config)")
    bt.add_argument("--quote-ms", metavar="MS", type=int, default=None,
                    help="quoting interval in simulated milliseconds (default: engine.quote_interval_ms, 250)")
    bt.add_argument("--save", action="store_true", help="keep the run in the store (see `python -m engine runs`)")
    bt.add_argument("--name", default="", help="with --save: a label for the kept run")
    add_model_options(bt)
    bt.set_defaults(fn=_backtest)
    add_sweep_parser(sub)
    add_runs_parser(sub)
    kill = sub.add_parser("kill", help="the kill switch: halt trading, cancel all orders, optionally close positions",
                          description="Halt the engine on this config's database: cancel every order of ours and, "
                                      "with --close-positions, flatten every position. A running engine (the "
                                      "console's or `run`'s) does it within one risk interval; with none running, "
                                      "this command does it. Trading stays halted until `python -m engine rearm`.")
    kill.add_argument("--config", metavar="DIR", default=None, help="config directory (default: ./config)")
    kill.add_argument("--close-positions", action="store_true", help="also close every position with market orders")
    kill.add_argument("--reason", default="kill switch from the command line", help="recorded with the halt")
    kill.add_argument("--wait", metavar="SECONDS", type=float, default=15.0,
                      help="how long to wait for a running engine to confirm (default 15; 0: do not wait)")
    kill.set_defaults(fn=_kill)
    check = sub.add_parser("check", help="test an exchange connection: python -m engine check kucoin",
                           description="Check that the configured KuCoin API key works: credentials (masked), Account "
                                       "Overview, Account Info, Symbols, BTC Ticker. Base URLs from KUCOIN_API_URL and "
                                       "KUCOIN_FUTURES_API_URL. Exit status 0 only when all tests pass.")
    check.add_argument("exchange", choices=["kucoin"], help="the exchange to check")
    check.add_argument("--config", metavar="DIR", default=None, help="config directory (default: ./config)")
    check.add_argument("--json", action="store_true", help="print the full report as JSON")
    check.set_defaults(fn=_check)
    rearm = sub.add_parser("rearm", help="lift a halt (kill switch or drawdown breaker)",
                           description="Re-arm after a halt: the drawdown breaker closes, peak equity restarts from "
                                       "the current equity, and quoting resumes.")
    rearm.add_argument("--config", metavar="DIR", default=None, help="config directory (default: ./config)")
    rearm.add_argument("--wait", metavar="SECONDS", type=float, default=15.0,
                       help="how long to wait for a running engine to confirm (default 15; 0: do not wait)")
    rearm.set_defaults(fn=_rearm)
    soak = sub.add_parser("soak", help="the faulty simulated hour: the whole engine under faults, then its invariants",
                          description="Runs every job on a simulated clock against the simulated exchange with "
                                      "10%% request errors, a rate limit, a latency spike, a 5-minute outage and a "
                                      "flash crash, then checks the invariants (no duplicate or orphan order, fills "
                                      "and balances equal, the equity identity, breakers fired and closed). Exit 1 "
                                      "on any breach.")
    soak.add_argument("--hours", type=float, default=1.0, help="simulated hours (a fraction is fine: 0.1 = 6 min)")
    soak.add_argument("--symbols", type=int, default=3, help="how many symbols to quote (default 3)")
    soak.add_argument("--seed", type=int, default=7, help="the faults' and the market's seed (replays a failure)")
    soak.add_argument("--config", metavar="DIR", default=None, help="config directory (default: ./config)")
    soak.add_argument("--json", action="store_true", help="print the report as JSON")
    soak.set_defaults(fn=_soak)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - every failure ends in one line naming the problem and the fix
        from engine.problems import explain
        from engine.store import TradingLockError

        line = explain(exc, _secrets(args))
        print(line if line.startswith("configuration error") else f"error: {line}", file=sys.stderr)
        _log_to_file(exc, line)
        return 3 if isinstance(exc, TradingLockError) else 2


def _secrets(args: argparse.Namespace) -> list[str]:
    """The configured credentials, to mask in the error line (none if the config itself cannot be read)."""
    try:
        from engine.logs import configured_secrets

        return configured_secrets(load_config(getattr(args, "config", None)))
    except Exception:  # noqa: BLE001 - a config that does not load has no secrets to mask here
        return []


def _log_to_file(exc: BaseException, line: str) -> None:
    """The traceback goes to the log file only (when one is set up), never to the terminal."""
    record = logging.LogRecord("engine", logging.ERROR, __file__, 0, "%s", (line,),
                               (type(exc), exc, exc.__traceback__))
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            try:
                handler.handle(record)
            except Exception:  # noqa: BLE001, S110 - the line above already told the operator
                pass


if __name__ == "__main__":
    sys.exit(main())
