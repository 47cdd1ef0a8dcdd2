"""Command line: ``python -m engine run | backtest`` (``--help`` on each explains every option)."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from engine.config import ConfigError, load_config

log = logging.getLogger("engine")


def _run(args: argparse.Namespace) -> int:
    from engine.logs import setup_logging
    from engine.runtime import Engine
    from engine.store import TradingLockError

    config = load_config(args.config)
    path = setup_logging(config)
    engine = Engine(config)
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    try:
        engine.start()
    except TradingLockError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 3
    log.info("running on %s; logs also in %s; Ctrl-C to stop", config.engine.exchange, path)
    done.wait(args.duration)
    summary = engine.stop()
    print(json.dumps(summary, indent=2, default=str))
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from engine.backtest import run_backtest

    config = load_config(args.config) if args.config else load_config(env={})
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    for f in args.data:
        if not Path(f).is_file():
            print(f"error: --data {f}: no such file", file=sys.stderr)
            return 2
    summary = run_backtest(args.data, symbols=args.symbol, config=config, quote_ms=args.quote_ms)
    print(json.dumps(summary, indent=2))
    return 0


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
    bt.add_argument("--data", metavar="FILE", nargs="+", required=True,
                    help="Binance websocket capture files (.gz), e.g. ../shared/data/binance-l2/spot/btcusdt_*.gz")
    bt.add_argument("--symbol", metavar="S", action="append", default=None,
                    help="symbol to quote (repeatable; default: every market in the data)")
    bt.add_argument("--config", metavar="DIR", default=None,
                    help="config directory for strategy and hygiene settings (default: ./config)")
    bt.add_argument("--quote-ms", metavar="MS", type=int, default=None,
                    help="quoting interval in simulated milliseconds (default: engine.quote_interval_ms, 250)")
    bt.set_defaults(fn=_backtest)
    args = parser.parse_args(argv)
    try:
        return args.fn(args)
    except ConfigError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
