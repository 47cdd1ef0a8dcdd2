"""Backtest lab: run the engine's strategies on recorded markets in a worker process (progress, cancel), keep every
run, read it (metrics, equity, inventory, price with our quotes and fills, markouts, fills), compare runs side by
side, sweep a grid of params with a heat map, and take a run's params live after a confirmation."""

from __future__ import annotations

import json
import os

import pandas as pd
import streamlit as st

from engine import service
from engine.lab import catalog, runs, worker
from engine.lab.figures import equity_figure, heatmap_figure, inventory_figure, markout_figure, price_figure
from engine.sweep import check_points
from engine.sweep import grid as make_grid
from ui import fmt
from ui.numbers import parse_number, plain
from ui.page import page, save_setting
from ui.params_form import params_fields, shown

engine = page("Backtest lab")
st.caption("Backtests run the live engine's code against the simulated exchange replaying recorded markets, in a "
           "process of their own: the console stays responsive and the live engine is not touched.")

# ------------------------------------------------------------------ a running job
job_id = st.session_state.get("lab_job")


@st.fragment(run_every=1.0)
def progress_panel() -> None:
    job = worker.job(st.session_state.get("lab_job", ""))
    if job is None:
        return
    state = job.state()
    if state.status == "running":
        what = "Backtest" if state.kind == "backtest" else f"Sweep of {job.total} points ({len(state.run_ids)} done)"
        st.progress(state.progress, text=f"{what}: {state.progress:.0%} after {state.elapsed_s:.0f} s")
        if st.button("Cancel", key="lab_cancel"):
            job.cancel()
            st.rerun(scope="app")
        return
    st.session_state.pop("lab_job", None)
    if state.status == "done":
        st.session_state.flash = ("success", f"{state.kind.capitalize()} finished in {state.elapsed_s:.0f} s; "
                                  f"kept as run {', '.join(map(str, state.run_ids[-3:]))}"
                                  + (" …" if len(state.run_ids) > 3 else ""))
        if state.run_ids:
            st.session_state.lab_run = state.run_ids[-1]
        if state.sweep:
            st.session_state.lab_sweep = state.sweep
    elif state.status == "cancelled":
        st.session_state.flash = ("warning", f"{state.kind.capitalize()} cancelled; "
                                  f"{len(state.run_ids)} point(s) kept" if state.kind == "sweep" else
                                  "Backtest cancelled; nothing kept")
    else:
        st.session_state.flash = ("error", f"{state.kind.capitalize()} failed: {state.detail}")
    st.rerun(scope="app")


if job_id:
    progress_panel()

# ------------------------------------------------------------------ what to run
files = catalog.data_files()
usable = [f for f in files if f.kind != "unusable"]
kept = runs.list_runs(engine.db, limit=300)
with st.expander("New run", expanded=not job_id and not kept):
    if not usable:
        st.warning("No data found. Put Binance captures or one-minute candle files in data/captures, or name a "
                   "folder in MM_LAB_DATA.")
        st.stop()
    labels = [f.label for f in usable]
    first = usable[0]  # by default the first market's files of one folder (recorded back to back)
    default = [f.label for f in usable if f.kind == first.kind and f.symbol == first.symbol
               and os.path.dirname(f.path) == os.path.dirname(first.path)]
    chosen_labels = st.multiselect("Data", labels, default=default,
                                   help="Captures of one market recorded back to back replay as one market.")
    chosen = [f for f in usable if f.label in chosen_labels]
    kinds = {f.kind for f in chosen}
    mode = st.radio("Run", ["One backtest", "Sweep"], horizontal=True, key="lab_mode")
    left, right = st.columns(2)
    with left:
        symbols = st.multiselect("Symbols", sorted({f.symbol for f in chosen}),
                                 default=sorted({f.symbol for f in chosen}))
        names = service.strategy_names() if kinds == {"candles"} else ["market_making"]
        strategy = st.selectbox("Strategy", names, index=names.index("market_making") if "market_making" in names
                                else 0, help="Order-book captures run market making; candle files run any strategy.")
        quote_ms = st.number_input("Quote every (ms)", min_value=50, max_value=60_000, step=50,
                                   value=5000 if kinds == {"candles"} else 250)
        start, hours = None, None
        if kinds == {"candles"}:
            start = st.text_input("Start (UTC, ISO)", value="", placeholder="three hours into the file") or None
            hours = st.number_input("Hours", min_value=0.5, max_value=24.0 * 31, value=24.0, step=0.5)
        elif chosen:
            start = st.text_input("Start (UTC, ISO)", value="", placeholder="the capture's beginning",
                                  help="the book is rebuilt from the beginning either way; quoting starts here") or None
            minutes = st.number_input("Minutes (0: to the end)", min_value=0.0, max_value=60.0 * 24 * 31, value=0.0)
            hours = minutes / 60 if minutes else None
    with right:
        entry = st.number_input("Order latency, entry (ms)", min_value=0.0, max_value=10_000.0, value=10.0)
        response = st.number_input("Order latency, response (ms)", min_value=0.0, max_value=10_000.0, value=10.0)
        queue = st.selectbox("Queue model", ["risk_averse", "probabilistic"],
                             help="risk_averse: only prints at our price move us up the queue; probabilistic: "
                                  "cancellations are shared between the size ahead of us and behind us.")
        maker = st.number_input("Maker fee (bps)", min_value=-10.0, max_value=100.0, value=2.0, step=0.5)
        taker = st.number_input("Taker fee (bps)", min_value=0.0, max_value=100.0, value=6.0, step=0.5)
        held = st.text_input("Starting balances", value="USDT=100000, BTC=1, ETH=10",
                             help="CODE=amount, comma-separated: the paper account the run starts with")
    venue = {"latency": {"entry_ms": entry, "response_ms": response}, "queue": {"model": queue},
             "fees": {"maker": maker / 1e4, "taker": taker / 1e4}}
    defaults = service.strategy_params(strategy)
    problems: list[str] = []
    balances: dict[str, float] = {}
    for part in [p.strip() for p in held.split(",") if p.strip()]:
        code, sep, amount = part.partition("=")
        read = parse_number(amount.strip()) if sep else None
        if read is None or read.error or not code.strip().isalnum() or read.value < 0:
            problems.append(f"starting balances: {part!r} is not CODE=amount (e.g. USDT=100000)")
        else:
            balances[code.strip().upper()] = read.value
    grid: list[dict] = []
    with st.form("lab_params"):
        name = st.text_input("Name (optional)", value="")
        if mode == "One backtest":
            st.markdown(f"**{strategy} params** (the same fields and rules as live)")
            typed, problems = params_fields(defaults, {}, key="lab_")
            params = {k: v for k, v in typed.items() if v != defaults[k]}  # what differs from the defaults
        else:
            st.markdown(f"**{strategy} params to sweep**: comma-separated values; one value keeps a param fixed")
            params, values = {}, {}
            for key, default in defaults.items():
                text = st.text_input(key, value=plain(float(default)) if isinstance(default, (int, float)) and not
                                     isinstance(default, bool) else str(default), key=f"lab_sweep_{key}")
                parts = [p.strip() for p in text.split(";" if ";" in text else ",") if p.strip()]
                read = []
                for part in parts:
                    if isinstance(default, bool):
                        read.append(part.lower() in ("true", "1", "yes", "on"))
                        continue
                    parsed = parse_number(part) if isinstance(default, (int, float)) else None
                    if parsed is not None and parsed.error:
                        problems.append(f"{key}: {parsed.error}")
                    elif parsed is not None:
                        read.append(int(parsed.value) if isinstance(default, int) else parsed.value)
                    else:
                        read.append(part)
                values[key] = read or [default]
            varying = {k: v for k, v in values.items() if len(v) > 1}
            params = {k: v[0] for k, v in values.items() if len(v) == 1 and v[0] != defaults[k]}
            grid = make_grid(varying) if varying else [{}]
            workers = st.number_input("Worker processes", min_value=1, max_value=os.cpu_count() or 1,
                                      value=min(2, os.cpu_count() or 1))
        go = st.form_submit_button("Run", type="primary", disabled=bool(job_id))
    if mode == "Sweep":
        st.caption(f"{len(grid)} point(s)" + (f" over {', '.join(grid[0])}" if grid and grid[0] else ""))
    if go:
        if not chosen or not symbols:
            problems.append("choose at least one data file and one symbol")
        if len(kinds) > 1:
            problems.append("choose either captures or candle files, not both")
        if mode == "Sweep" and len(grid) > 500:
            problems.append(f"{len(grid)} points is more than the lab runs at once (500); narrow the values")
        for problem in problems:
            st.error(f"Not started: {problem}")
        if not problems:
            request = runs.RunRequest([f.path for f in chosen], symbols, strategy, params, venue, int(quote_ms),
                                      start, hours, name, balances or None)
            try:
                check_points([{**params, **p} for p in grid] if mode == "Sweep" else [params], strategy)
                new = worker.start("sweep", request, engine.db_url, grid, int(workers)) if mode == "Sweep" \
                    else worker.start("backtest", request, engine.db_url)
            except ValueError as exc:
                st.error(f"Not started: {exc}")
            else:
                st.session_state.lab_job = new.id
                st.rerun()

# ------------------------------------------------------------------ kept runs
if not kept:
    st.info("No run kept yet. Choose data above and press Run.")
    st.stop()

st.subheader("Run")
by_id = {r["id"]: r for r in kept}
singles = [r for r in kept if r["sweep"] is None] or kept
ids = [r["id"] for r in singles]
wanted = st.session_state.get("lab_run")
pick = st.selectbox("Kept run", ids, index=ids.index(wanted) if wanted in ids else 0,
                    format_func=lambda i: f"#{i} {by_id[i]['name'] or by_id[i]['strategy']} · "
                                          f"net {fmt.money(by_id[i]['net_pnl'] or 0.0, '', signed=True)} · "
                                          f"{', '.join(by_id[i]['symbols'])}")
run = runs.get_run(engine.db, pick)
s = run["summary"]
cols = st.columns(4)
cols[0].metric("Net PnL", fmt.money(run["net_pnl"] or 0.0, "USDT", signed=True),
               help="Realized + unrealized - fees + funding")
cols[1].metric("Fills", f"{s.get('fills', 0)}", help=f"Fill ratio {s.get('fill_ratio')}: filled / placed orders")
cols[2].metric("Markout 10 s", f"{s.get('markout_10s_bps')} bps", help="Mid move after our fills; below 0 is adverse")
cols[3].metric("Max drawdown", f"{s.get('max_drawdown_bps')} bps")
cols = st.columns(4)
cols[0].metric("Sharpe", f"{s.get('sharpe')}", help=f"Annualised from equity every {s.get('ratio_interval_s')} s")
cols[1].metric("Fees", fmt.money(s.get("fees", 0.0), "USDT"))
cols[2].metric("Quoted spread", f"{s.get('quoted_spread_bps')} bps")
cols[3].metric("Time in market", f"{(s.get('time_in_market') or 0):.0%}")
models = run["models"]
st.caption(f"Queue model: {models.get('queue')} · latency: {models.get('latency')} · fees: {models.get('fees')} · "
           f"params: {shown(run['params']) or 'defaults'} · {s.get('start')} → {s.get('end')}")
series = run.get("series") or {}
if series:
    left, right = st.columns(2)
    left.plotly_chart(equity_figure(series), width="stretch")
    right.plotly_chart(inventory_figure(series), width="stretch")
    chart_symbol = st.selectbox("Price chart", run["symbols"]) if len(run["symbols"]) > 1 else run["symbols"][0]
    st.plotly_chart(price_figure(series, chart_symbol), width="stretch")
    st.plotly_chart(markout_figure(series), width="stretch")
    fills = pd.DataFrame(series.get("fills") or [])
    if not fills.empty:
        fills["time"] = pd.to_datetime(fills.pop("timestamp"), unit="ms", utc=True)
        st.dataframe(fills[["time", "symbol", "side", "price", "amount", "cost", "fee", "takerOrMaker"]],
                     hide_index=True, width="stretch", height=240)
with st.expander("Every number of this run"):
    st.dataframe(pd.DataFrame([{"metric": k, "value": json.dumps(v) if isinstance(v, (dict, list)) else str(v)}
                               for k, v in s.items()]), hide_index=True, width="stretch")
left, right = st.columns(2)
left.download_button("Export run (JSON)", runs.to_json(run), f"backtest-run-{pick}.json", "application/json")
right.download_button("Export fills (CSV)", runs.to_csv(series.get("fills") or []), f"backtest-run-{pick}-fills.csv",
                      "text/csv")

with st.expander("Use these settings live"):
    live = service.strategy_rows(engine)
    choices = [f"{r['symbol']} on {r['exchange']}" for r in live]
    if not choices:
        st.info("No live symbol is configured.")
    else:
        target = st.selectbox("Live symbol", choices)
        row = live[choices.index(target)]
        st.write(f"Sets {target} to **{run['strategy']}** with {shown(run['params']) or 'its default params'}. "
                 f"Now: {row['strategy']} {shown(row['params']) or '(defaults)'}.")
        sure = st.checkbox("I understand this changes what the live engine trades", key="lab_live_sure")
        if st.button("Use these settings live", disabled=not sure, key="lab_live"):
            save_setting(lambda: service.set_strategy(engine, row["exchange"], row["symbol"], run["strategy"],
                                                      run["params"]),
                         f"{target}: {run['strategy']} with {shown(run['params']) or 'defaults'} saved and applied")

# ------------------------------------------------------------------ runs side by side, sweeps
st.subheader("Runs side by side")
table = pd.DataFrame(runs.compare(kept))
picked = st.multiselect("Compare", [r["id"] for r in kept], default=[r["id"] for r in kept[:4]],
                        format_func=lambda i: f"#{i} {by_id[i]['name'] or by_id[i]['strategy']}")
shown_rows = table[table["id"].isin(picked)] if picked else table
st.dataframe(shown_rows, hide_index=True, width="stretch")
left, right = st.columns(2)
left.download_button("Export compared (CSV)", shown_rows.to_csv(index=False), "backtest-runs.csv", "text/csv")
with right:
    sure = st.checkbox(f"Delete the {len(picked)} compared run(s)", key="lab_delete_sure", disabled=not picked)
    if st.button("Delete", disabled=not (sure and picked), key="lab_delete"):
        n = runs.delete_runs(engine.db, picked)
        st.session_state.flash = ("success", f"Deleted {n} run(s)")
        st.rerun()

sweeps = list(dict.fromkeys(r["sweep"] for r in kept if r["sweep"]))
if sweeps:
    st.subheader("Sweep")
    current = st.session_state.get("lab_sweep")
    chosen_sweep = st.selectbox("Sweep", sweeps, index=sweeps.index(current) if current in sweeps else 0)
    points = [r for r in kept if r["sweep"] == chosen_sweep]
    grid_rows = [{**r["params"], **r["summary"], "net_pnl": r["net_pnl"], "id": r["id"]} for r in points]
    varied = [k for k in points[0]["params"] if len({json.dumps(r["params"].get(k)) for r in points}) > 1]
    st.dataframe(pd.DataFrame(runs.compare(points)), hide_index=True, width="stretch")
    if len(varied) >= 2:
        x = st.selectbox("Heat map across", varied, index=0)
        y = st.selectbox("and", [v for v in varied if v != x], index=0)
        metric = st.selectbox("Of", ["net_pnl", "fills", "markout_10s_bps", "sharpe", "return_over_trade_bps"])
        st.plotly_chart(heatmap_figure(grid_rows, x, y, metric), width="stretch")
    elif varied:
        st.bar_chart(pd.DataFrame(grid_rows).set_index(varied[0])["net_pnl"])
    best = max(points, key=lambda r: r["net_pnl"] if r["net_pnl"] is not None else float("-inf"))
    st.caption(f"Best by net PnL: run #{best['id']} ({shown(best['params'])}), "
               f"{fmt.money(best['net_pnl'] or 0.0, 'USDT', signed=True)}")
