"""The lab's command line: ``python -m engine sweep`` (grid or ``--optimize N``) and ``python -m engine runs``
(list, show, compare, delete, export kept runs), and the venue-model options backtest and sweep share."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from engine.config import load_config


def add_model_options(p: argparse.ArgumentParser) -> None:
    """``--latency-ms``, ``--queue``, ``--maker-fee-bps`` and ``--taker-fee-bps`` (a replay's venue models)."""
    p.add_argument("--latency-ms", metavar="MS", type=float, default=None,
                   help="order latency each way, entry and response (default on a replay: 10)")
    p.add_argument("--queue", choices=("risk_averse", "probabilistic"), default=None,
                   help="queue model of resting orders (default: risk_averse)")
    p.add_argument("--maker-fee-bps", metavar="BPS", type=float, default=None, help="maker fee (default: 2)")
    p.add_argument("--taker-fee-bps", metavar="BPS", type=float, default=None, help="taker fee (default: 6)")


def venue_models(args: argparse.Namespace) -> dict[str, Any]:
    """The ``venue`` argument of :func:`engine.backtest.run_backtest` from :func:`add_model_options`' options."""
    out: dict[str, Any] = {}
    if args.latency_ms is not None:
        out["latency"] = {"entry_ms": args.latency_ms, "response_ms": args.latency_ms}
    if args.queue:
        out["queue"] = {"model": args.queue}
    fees = {k: v / 1e4 for k, v in (("maker", args.maker_fee_bps), ("taker", args.taker_fee_bps)) if v is not None}
    if fees:
        out["fees"] = fees
    return out


def read_value(text: str) -> Any:
    """A value typed on the command line, read as YAML (numbers, true/false, strings)."""
    import yaml

    return yaml.safe_load(text)


def sweep_command(args: argparse.Namespace) -> int:
    from engine import sweep
    from engine.lab.optimize import dimension, optimize

    for f in args.data:
        if not Path(f).is_file():
            print(f"error: --data {f}: no such file", file=sys.stderr)
            return 2
    try:
        raw: dict[str, str] = {}
        for text in args.param or []:
            key, sep, value = text.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"--param {text!r}: write KEY=V1,V2 (or KEY=LOW:HIGH with --optimize)")
            raw[key.strip()] = value
        if not raw:
            raise ValueError("--param KEY=V1,V2,... is needed (repeatable), e.g. --param spread_bps=4,6,8")
        options = {"symbols": args.symbol, "quote_ms": args.quote_ms, "strategy": args.strategy,
                   "config": load_config(args.config) if args.config else None, "venue": venue_models(args) or None}
        workers = args.workers or sweep.default_workers()
        if args.optimize:
            space = [dimension(k, v, read_value) for k, v in raw.items()]
            corners = [{d.name: v} for d in space for v in d.corners()]
            sweep.check_points(corners, args.strategy)  # a bad name or bound is refused before any trial
            rows = optimize(args.data, space, args.optimize, options, workers, args.objective,
                            progress=sweep.Progress("optimize"))
            names = ["trial", *raw]
        else:
            values = {k: [read_value(x) for x in v.split(",")] for k, v in raw.items()}
            points = sweep.grid(values)
            sweep.check_points(points, args.strategy)  # a bad name or value is refused before any run
            rows = sweep.sweep(args.data, points, workers=workers, options=options, progress=sweep.Progress())
            names = list(values)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(sweep.table(rows, names))
    key = args.objective if args.optimize else "net_pnl"
    top = sweep.best(rows, key)
    print("best: " + ", ".join(f"{k}={top[k]}" for k in raw) + f" (net PnL {top['net_pnl']}, {top['fills']} fills"
          + (f", {key} {top[key]}" if key != "net_pnl" else "") + ")")
    if args.out:
        Path(args.out).write_text(sweep.to_csv(rows))
        print(f"rows written to {args.out}")
    return 0


def add_sweep_parser(sub: Any) -> None:
    sw = sub.add_parser("sweep", help="the same backtest over a grid of params (or an Optuna search), in parallel",
                        description="Run the backtest once per point of the grid the --param options make (their "
                                    "product), in --workers local processes (or on Ray when RAY_ADDRESS is set); "
                                    "print one row per point and the best by net PnL. With --optimize N, Optuna "
                                    "picks N points from ranges (KEY=LOW:HIGH) and choices (KEY=A,B,C). Every "
                                    "point is checked before any run starts.")
    sw.add_argument("--data", metavar="FILE", nargs="+", required=True, help="capture or candle files, as backtest")
    sw.add_argument("--param", metavar="KEY=V1,V2", action="append", default=None,
                    help="a param and the values to try (repeatable), e.g. --param spread_bps=4,6,8; with "
                         "--optimize also a range, e.g. --param spread_bps=2:12")
    sw.add_argument("--strategy", metavar="NAME", default=None, help="as backtest (default: market_making)")
    sw.add_argument("--symbol", metavar="S", action="append", default=None, help="as backtest")
    sw.add_argument("--quote-ms", metavar="MS", type=int, default=None, help="as backtest")
    sw.add_argument("--config", metavar="DIR", default=None, help="as backtest")
    sw.add_argument("--workers", metavar="N", type=int, default=None,
                    help="local processes (default: the machine's cores, at most 8)")
    sw.add_argument("--optimize", metavar="N", type=int, default=None,
                    help="search with Optuna for N trials instead of walking the grid")
    sw.add_argument("--objective", default="net_pnl",
                    help="with --optimize: what to maximise (net_pnl, return_over_trade_bps, sharpe, "
                         "markout_10s_bps, fills)")
    sw.add_argument("--out", metavar="CSV", default=None, help="also write the rows here as CSV")
    add_model_options(sw)
    sw.set_defaults(fn=sweep_command)


def runs_command(args: argparse.Namespace) -> int:
    from engine.lab import runs
    from engine.store import make_engine

    db = make_engine(load_config(args.config).database_url if args.config else load_config().database_url)
    if args.action == "list":
        rows = runs.list_runs(db, limit=args.limit)
        for r in rows:
            print(f"{r['id']:>5}  {r['status']:<9} {r['strategy']:<16} net {r['net_pnl']!s:>12}  "
                  f"{r['name'] or '-'}  {', '.join(Path(f).name for f in r['data'])}")
        print(f"{len(rows)} run(s)")
        return 0
    found = [runs.get_run(db, i, with_series=args.action == "export") for i in args.ids]
    missing = [i for i, r in zip(args.ids, found, strict=True) if r is None]
    if missing:
        print(f"error: no kept run {missing[0]}; `python -m engine runs list` shows the ids", file=sys.stderr)
        return 2
    if args.action == "delete":
        print(f"deleted {runs.delete_runs(db, args.ids)} run(s)")
    elif args.action in ("show", "compare"):
        print(runs.to_csv(runs.compare(found)), end="")
    elif args.format == "json":
        print(runs.to_json(found[0] if len(found) == 1 else found))
    else:
        print(runs.to_csv(runs.compare(found)), end="")
    return 0


def add_runs_parser(sub: Any) -> None:
    rp = sub.add_parser("runs", help="kept backtest runs: list, show, compare, delete, export",
                        description="The runs kept by `backtest --save` and the console's Backtest lab.")
    rp.add_argument("action", choices=("list", "show", "compare", "delete", "export"))
    rp.add_argument("ids", metavar="ID", type=int, nargs="*", help="run ids (show, compare, delete, export)")
    rp.add_argument("--format", choices=("csv", "json"), default="csv", help="export format (default: csv)")
    rp.add_argument("--limit", type=int, default=50, help="list: how many of the newest (default: 50)")
    rp.add_argument("--config", metavar="DIR", default=None, help="config directory whose store holds the runs")
    rp.set_defaults(fn=lambda a: runs_command(a) if a.action == "list" or a.ids else _need_ids(a))


def _need_ids(args: argparse.Namespace) -> int:
    print(f"error: runs {args.action} needs at least one run id; `python -m engine runs list` shows them",
          file=sys.stderr)
    return 2
