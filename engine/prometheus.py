"""The engine's metrics for Prometheus (``prometheus_client``), served on ``metrics.prometheus_host:port`` at
``/metrics`` while the engine runs; off unless ``metrics.prometheus_port`` is set.

Names follow Prometheus' conventions: an ``mm_`` prefix, base units in the name (``_usd``, ``_seconds``, ``_bps``),
``_total`` on counters, labels ``exchange`` and ``symbol`` where a figure has them. The figures are the metrics
job's last board (:mod:`engine.metrics_board`, every ``engine.metrics_interval_s``), read at scrape time; request
latency is a histogram observed on every request. ``docs/grafana-dashboard.json`` charts them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, start_http_server
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

log = logging.getLogger("engine.prometheus")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STATES = ("STOPPED", "RUNNING", "PAUSED", "HALTED")
NAMES = ("mm_equity_usd", "mm_pnl_usd", "mm_pnl_daily_usd", "mm_fees_usd", "mm_drawdown_bps", "mm_sharpe_ratio",
         "mm_orders_open", "mm_position", "mm_position_usd", "mm_fills_total", "mm_fills_per_minute",
         "mm_volume_usd_total", "mm_quoted_spread_bps", "mm_request_latency_seconds", "mm_requests_total",
         "mm_request_errors_total", "mm_request_success_ratio", "mm_api_calls_last_minute", "mm_uptime_seconds",
         "mm_engine_state", "mm_quote_cycle_seconds", "mm_metrics_timestamp_seconds")


class BoardCollector(Collector):
    """Every figure of the engine's last metrics board, as Prometheus metric families."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    def collect(self) -> Iterator[Metric]:  # noqa: C901 - one metric family after another
        b = self.engine.board_keeper.board
        by_venue = [("exchange",), ("exchange", "symbol")]

        def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, doc, labels=list(labels))

        equity = gauge("mm_equity_usd", "Equity in USD at the marks (exchange 'all': the total)", by_venue[0])
        pnl = gauge("mm_pnl_usd", "Net PnL in USD: realized + unrealized - fees", by_venue[0])
        fees = gauge("mm_fees_usd", "Fees paid in USD by the engine's positions", by_venue[0])
        equity.add_metric(["all"], b.equity)
        pnl.add_metric(["all"], b.net_pnl)
        fees.add_metric(["all"], b.fees)
        orders = gauge("mm_orders_open", "Live orders of the engine", by_venue[1])
        position = gauge("mm_position", "Position in the market's amount unit, signed (+ long)", by_venue[1])
        position_usd = gauge("mm_position_usd", "Position value in USD at the mid, signed", by_venue[1])
        fills = CounterMetricFamily("mm_fills", "Fills stored", labels=list(by_venue[1]))
        volume = CounterMetricFamily("mm_volume_usd", "Traded notional in USD", labels=list(by_venue[1]))
        spread = gauge("mm_quoted_spread_bps", "Our best ask minus our best bid, bps of the mid", by_venue[1])
        per_min = gauge("mm_fills_per_minute", "Fills over the last minute", by_venue[0])
        requests = CounterMetricFamily("mm_requests", "Exchange API requests", labels=["exchange"])
        errors = CounterMetricFamily("mm_request_errors", "Exchange API requests that failed", labels=["exchange"])
        success = gauge("mm_request_success_ratio", "Share of requests that succeeded, last minute", by_venue[0])
        calls = gauge("mm_api_calls_last_minute", "Exchange API requests in the last minute", by_venue[0])
        for name, v in b.venues.items():
            equity.add_metric([name], v.equity)
            pnl.add_metric([name], v.net_pnl)
            fees.add_metric([name], v.fees)
            per_min.add_metric([name], v.fills_per_minute)
            requests.add_metric([name], v.requests)
            errors.add_metric([name], v.errors)
            calls.add_metric([name], v.calls_last_minute)
            if v.success_rate is not None:
                success.add_metric([name], v.success_rate)
            for sym, n in v.orders_open.items():
                orders.add_metric([name, sym], n)
            for sym, (amount, usd) in v.positions.items():
                position.add_metric([name, sym], amount)
                position_usd.add_metric([name, sym], usd)
            for sym, n in v.fills_by_symbol.items():
                fills.add_metric([name, sym], n)
                volume.add_metric([name, sym], v.volume_by_symbol.get(sym, 0.0))
            for sym, bps in v.quoted_spread_bps.items():
                spread.add_metric([name, sym], bps)
        yield from (equity, pnl, fees, orders, position, position_usd, fills, volume, spread, per_min, requests,
                    errors, success, calls)
        yield GaugeMetricFamily("mm_pnl_daily_usd", "Equity change since the UTC day began, USD", value=b.daily_pnl)
        yield GaugeMetricFamily("mm_drawdown_bps", "Drawdown from peak equity, bps", value=b.drawdown_bps)
        if b.sharpe is not None:
            yield GaugeMetricFamily("mm_sharpe_ratio", f"Sharpe ratio of equity over the last {b.sharpe_window_min} "
                                    "min, annualised", value=b.sharpe)
        yield GaugeMetricFamily("mm_uptime_seconds", "Seconds since the engine started", value=b.uptime_s)
        yield GaugeMetricFamily("mm_quote_cycle_seconds", "Duration of the last quoting cycle",
                                value=b.quote_cycle_ms / 1000)
        yield GaugeMetricFamily("mm_metrics_timestamp_seconds", "When the metrics job computed these figures",
                                value=b.ts / 1000)
        state = GaugeMetricFamily("mm_engine_state", "1 for the engine's current state", labels=["state"])
        for s in STATES:
            state.add_metric([s], 1.0 if self.engine.state == s else 0.0)
        yield state


class PrometheusExporter:
    """The registry, the latency histogram hooked into every venue's request meter, and the HTTP server."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine
        self.registry = CollectorRegistry()
        self.registry.register(BoardCollector(engine))
        self.latency = Histogram("mm_request_latency_seconds", "Exchange API request latency", ["exchange"],
                                 registry=self.registry, buckets=LATENCY_BUCKETS)
        for t in engine.traders:
            child = self.latency.labels(t.name)
            t.ex.meter.observer = lambda ms, ok, child=child: child.observe(ms / 1000)
        self._server: Any = None
        self.url = ""

    def start(self, host: str, port: int) -> bool:
        """Serve ``/metrics``; False (logged, alerted) when the address cannot be bound: the engine runs on."""
        try:
            self._server, _ = start_http_server(port, addr=host, registry=self.registry)
        except OSError as exc:
            log.error("Prometheus metrics not served on %s:%d (%s); free the port or change "
                      "metrics.prometheus_port", host, port, exc)
            self.engine.alert("warning", "metrics not exported", f"{host}:{port}: {exc}", key="prometheus-bind")
            return False
        self.url = f"http://{host}:{port}/metrics"
        log.info("Prometheus metrics on %s", self.url)
        return True

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for t in self.engine.traders:
            t.ex.meter.observer = None
