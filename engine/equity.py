"""Equity, marks and metrics: equity, peak, drawdown and daily PnL into ``system_metrics`` every metrics run,
balances each minute, starting balances once per database."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import ccxt
from sqlmodel import Session

from engine.store import (
    BalanceSnapshot,
    SystemMetric,
    get_state,
    set_state,
)

log = logging.getLogger("engine.runtime")
SNAPSHOT_EVERY_MS = 60_000


class EquityMarks:
    """Marks, equity and the metrics job of :class:`engine.runtime.Engine`."""

    def metrics_cycle(self) -> None:
        """Equity, peak, drawdown, daily PnL, PnL parts and counts into ``system_metrics``: one row per venue and
        one ``ALL`` row with the totals (the same total the risk snapshot uses); balances each minute. A venue whose
        account cannot be read this time counts with its last known equity."""
        now = self.clock.now_ms()
        rows, total = [], 0.0
        for t in self.traders:
            try:
                balance = t.ex.fetch_balance()
            except ccxt.NetworkError:
                if len(self.traders) == 1 or t.name not in self._venue_equity:
                    raise
                balance = None
            if balance is not None:
                marks = self.marks(balance, t.ex, t.symbols, views=t.views, feed=t.feed)
                self._venue_equity[t.name] = self.equity_of(balance, marks)
            else:
                marks = {}
            with self.work:
                totals = t.ledger.totals(marks)
                counts = (len(t.orders), t.ledger.fills, t.stats.last_cycle_ms)
            total += self._venue_equity[t.name]
            rows.append((t.name, self._venue_equity[t.name], totals, counts, balance, marks))
        day = datetime.fromtimestamp(now / 1000, tz=UTC).strftime("%Y-%m-%d")
        with Session(self.db) as s:
            peak = self.note_equity(total)
            day_key = f"day_start_equity:{day}"
            day_start = get_state(s, day_key)
            if day_start is None:
                set_state(s, day_key, repr(total), now)
                day_start = total
            set_state(s, "peak_equity", repr(peak), now)
            self.peak_equity = peak
            snapshot = now - self._last_snapshot_ms >= SNAPSHOT_EVERY_MS
            if snapshot:
                self._last_snapshot_ms = now
            sums = {"realized_pnl": 0.0, "unrealized_pnl": 0.0, "fees": 0.0, "open_orders": 0, "fills": 0}
            for name, equity, totals, (open_orders, fills, cycle_ms), balance, marks in rows:
                parts = dict(realized_pnl=totals["realized_pnl"], unrealized_pnl=totals["unrealized_pnl"],
                             fees=totals["fees"], open_orders=open_orders, fills=fills)
                for k, v in parts.items():
                    sums[k] += v
                if len(rows) > 1:
                    s.add(SystemMetric(exchange=name, ts=now, state=self.state, equity=equity, peak_equity=equity,
                                       quote_cycle_ms=cycle_ms, **parts))
                if snapshot and balance is not None:
                    for code, amount in balance["total"].items():
                        if amount:
                            s.add(BalanceSnapshot(ts=now, exchange=name, currency=code,
                                                  free=balance["free"].get(code) or 0.0,
                                                  used=balance["used"].get(code) or 0.0, total=amount,
                                                  value_quote=amount * marks.get(code, 0.0)))
            metric = dict(ts=now, state=self.state, equity=total, peak_equity=peak,
                          drawdown_bps=(peak - total) / peak * 1e4 if peak > 0 else 0.0,
                          daily_pnl=total - float(day_start), quote_cycle_ms=self.trader.stats.last_cycle_ms,
                          **sums)
            board = self._publish_board(now, rows, metric)
            metric.update(self._stored_figures(board))
            if len(rows) == 1:
                s.add(SystemMetric(exchange=self.trader.name, **metric))
            s.add(SystemMetric(exchange="ALL", **metric))
            s.commit()

    @staticmethod
    def _stored_figures(board: Any) -> dict:
        """The board's operational and technical figures, as the ``system_metrics`` row keeps them."""
        from engine.metrics_board import operations_of

        ops = operations_of(board)
        return {"fills_per_minute": ops["fills_per_minute"], "volume_usd": ops["volume"],
                "quoted_spread_bps": ops["quoted_spread_bps"], "latency_ms": ops["latency_ms"],
                "success_rate": ops["success_rate"], "api_calls": ops["calls_last_minute"], "sharpe": board.sharpe}

    def _publish_board(self, now: int, rows: list, metric: dict) -> Any:
        """The in-memory board the dashboard and the Prometheus exporter read (:mod:`engine.metrics_board`)."""
        from engine.metrics_board import VenueFigures, quoted_spread_bps
        from engine.pnl import fill_totals

        sums = fill_totals(self.db)
        venues = {}
        for name, equity, totals, (_, fills, _), _, _ in rows:
            t = next(tr for tr in self.traders if tr.name == name)
            snap, meter = t.snapshot, t.ex.meter
            mids = {sym: seen[1].mid for sym, seen in snap.views.items()}
            mine = {k[1]: v for k, v in sums.items() if k[0] == name}
            orders: dict[str, int] = {}
            for o in snap.orders:
                orders[o.symbol] = orders.get(o.symbol, 0) + 1
            error_rate = meter.error_rate(now)
            venues[name] = VenueFigures(
                equity=equity, net_pnl=totals["realized_pnl"] + totals["unrealized_pnl"] - totals["fees"],
                fees=totals["fees"], volume=sum(v[3] for v in mine.values()), fills=fills,
                fills_per_minute=self.board_keeper.fills_per_minute(name, now, fills),
                latency_ms=meter.latency_ms(now), success_rate=None if error_rate is None else 1 - error_rate,
                calls_last_minute=meter.count(now), requests=meter.total, errors=meter.failures,
                orders_open=orders,
                positions={sym: (p.qty, p.qty * p.contract_size * mids.get(sym, p.avg_price))
                           for sym, p in snap.positions.items() if p.qty},
                quoted_spread_bps=quoted_spread_bps(snap.orders, mids),
                volume_by_symbol={sym: v[3] for sym, v in mine.items()},
                fills_by_symbol={sym: v[4] for sym, v in mine.items()},
                fees_by_symbol={sym: v[2] for sym, v in mine.items()})
        return self.board_keeper.publish(
            now, self.config.engine.metrics_interval_s, state=self.state, equity=metric["equity"],
            daily_pnl=metric["daily_pnl"], net_pnl=sum(v.net_pnl for v in venues.values()),
            fees=sum(v.fees for v in venues.values()), drawdown_bps=metric["drawdown_bps"],
            uptime_s=(now - self.started_ms) / 1000 if self.started_ms else 0.0,
            quote_cycle_ms=metric["quote_cycle_ms"] or 0.0, venues=venues)

    def _init_equity(self) -> None:
        """Remember each venue's starting balances once per database (the base the store's equity is computed
        from)."""
        with Session(self.db) as s:
            for t in self.traders:
                key = f"start_balances:{t.name}"
                if get_state(s, key) is not None:
                    continue
                balance = t.ex.fetch_balance()
                totals = {k: v for k, v in balance["total"].items() if v}
                if balance.get("info", {}).get("walletBalance") is not None:  # the wallet, before unrealized PnL
                    totals["USDT"] = balance["info"]["walletBalance"]
                set_state(s, key, json.dumps(totals), self.clock.now_ms())
            s.commit()

    def start_balances(self, venue: str | None = None) -> dict[str, float]:
        with Session(self.db) as s:
            raw = get_state(s, f"start_balances:{venue or self.trader.name}")
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
