"""Metrics (seed 003) and their Prometheus export: the board the metrics job keeps, ``/metrics`` scraped over HTTP
on 127.0.0.1 and parsed with prometheus_client's own parser, off unless configured, a busy port not fatal."""

from __future__ import annotations

import socket

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import Session, select

from engine.clock import SimClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.prometheus import NAMES
from engine.runtime import Engine
from engine.store import Alert, SystemMetric
from tests.engine.test_runtime import make_config_dir


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def engine_with(tmp_path, **metrics) -> Engine:
    tmp_path.mkdir(exist_ok=True)
    cfg = load_config(make_config_dir(tmp_path, strategy={"risk_mode": "AGGRESSIVE", "spread_bps": 2,
                                                          "min_spread_bps": 1, "fee_aware": False},
                                      metrics=metrics), env={})
    clock = SimClock()
    return Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)


def scrape(port: int) -> dict:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_metrics_are_scraped_over_http_and_hold_the_documented_names(tmp_path):
    port = free_port()
    engine = engine_with(tmp_path, prometheus_port=port)
    engine.start(schedule=False)
    try:
        engine.run_simulated(600)  # ten simulated minutes: quotes, fills, metrics every 5 s
        families = scrape(port)
        # the parser names counters without their _total suffix and histograms by their base name
        wanted = {n.removesuffix("_total") for n in NAMES}
        assert wanted <= set(families), wanted - set(families)
        board = engine.board_keeper.board
        equity = {tuple(s.labels.values()): s.value for s in families["mm_equity_usd"].samples}
        assert equity[("all",)] == pytest.approx(board.equity) and equity[("sim",)] == pytest.approx(board.equity)
        orders = {s.labels["symbol"]: s.value for s in families["mm_orders_open"].samples}
        assert orders and all(s.labels["exchange"] == "sim" for s in families["mm_orders_open"].samples)
        assert sum(orders.values()) == len(engine.trader.snapshot.orders)
        fills = sum(s.value for s in families["mm_fills"].samples if s.name == "mm_fills_total")
        assert fills == engine.trader.ledger.fills > 0
        hist = families["mm_request_latency_seconds"]
        count = [s.value for s in hist.samples if s.name.endswith("_count")][0]
        total = engine.trader.ex.meter.total
        assert hist.type == "histogram" and total - 50 <= count <= total  # every request since the exporter started
        state = {s.labels["state"]: s.value for s in families["mm_engine_state"].samples}
        assert state == {"STOPPED": 0.0, "RUNNING": 1.0, "PAUSED": 0.0, "HALTED": 0.0}
        assert families["mm_uptime_seconds"].samples[0].value == pytest.approx(600, abs=10)
        spreads = [s.value for s in families["mm_quoted_spread_bps"].samples]
        assert spreads and all(0 < v < 100 for v in spreads)
        assert 0 <= families["mm_request_success_ratio"].samples[0].value <= 1
        with Session(engine.db) as s:  # the same figures are stored with the metrics job's row
            row = s.exec(select(SystemMetric).where(SystemMetric.exchange == "ALL")
                         .order_by(SystemMetric.id.desc())).first()
        assert row.api_calls == board.venues["sim"].calls_last_minute > 0 and row.latency_ms is not None
        assert row.volume_usd == pytest.approx(board.venues["sim"].volume) and row.fills_per_minute is not None
    finally:
        engine.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2)  # stopping the engine stops the exporter


def test_off_unless_a_port_is_set_and_a_busy_port_is_not_fatal(tmp_path):
    quiet = engine_with(tmp_path / "a")
    quiet.start(schedule=False)
    assert quiet.exporter is None
    quiet.run_simulated(30)
    assert quiet.board_keeper.board.venues["sim"].calls_last_minute > 0  # the board is kept all the same
    quiet.stop()

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = engine_with(tmp_path / "b", prometheus_port=taken.getsockname()[1])
        busy.start(schedule=False)
        try:
            assert busy.state == "RUNNING" and busy.exporter is not None and busy.exporter.url == ""
            with Session(busy.db) as s:
                titles = [a.kind for a in s.exec(select(Alert))]
            assert "metrics not exported" in titles
        finally:
            busy.stop()


def test_the_grafana_dashboard_uses_only_metrics_the_engine_exports():
    import json
    import re
    from pathlib import Path

    dash = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-dashboard.json").read_text())
    used = {m for p in dash["panels"] for t in p["targets"] for m in re.findall(r"\bmm_[a-z_]+", t["expr"])}
    exported = set(NAMES) | {f"{n}_bucket" for n in NAMES} | {"mm_fills_total", "mm_volume_usd_total"}
    assert used and used <= exported, used - exported
    assert {"mm_equity_usd", "mm_orders_open", "mm_request_latency_seconds_bucket"} <= used
