"""What the exchange-connections and KuCoin pages may read and do (re-exported by :mod:`engine.service`): each venue's
state, connect / disconnect / test, the selection strategy, the KuCoin connection tester."""

from __future__ import annotations

from sqlmodel import Session, select

from engine import outcome
from engine.exchanges.selection import STRATEGIES as SELECTIONS
from engine.kucoin_check import TESTS as KUCOIN_TESTS
from engine.kucoin_check import CheckReport, check_kucoin, credentials_summary
from engine.outcome import Outcome
from engine.runtime import Engine
from engine.trader import Trader

__all__ = ["FEATURES", "KUCOIN_TESTS", "SELECTIONS", "connect_venue", "disconnect_venue", "kucoin_credentials",
           "run_kucoin_check", "test_venue", "venue_rows"]


FEATURES = ("fetchOrderBook", "fetchTickers", "fetchPositions", "setLeverage", "setMarginMode", "setPositionMode",
            "fetchMyTrades", "watchOrderBook", "watchTickers")


def venue_rows(engine: Engine) -> list[dict]:
    """Each exchange the engine uses: health, features, symbols and what is routed to it."""
    from engine.store import ExchangeHealth

    now = engine.clock.now_ms()
    snap = engine.risk.last
    rows = []
    for t in engine.traders:
        meter = t.ex.meter
        with Session(engine.db) as s:
            last = s.exec(select(ExchangeHealth).where(ExchangeHealth.exchange == t.name)
                          .order_by(ExchangeHealth.ts.desc()).limit(1)).first()
            last_error = s.exec(select(ExchangeHealth.detail).where(ExchangeHealth.exchange == t.name,
                                                                    ExchangeHealth.detail != "")
                                .order_by(ExchangeHealth.ts.desc()).limit(1)).first()
        ex = snap.exchanges.get(t.name) if snap else None
        budget = getattr(t.ex, "budget_per_min", None)
        blocked = t.gate.operator_block or t.gate.exchange_block
        routed = (", ".join(s for s, v in engine.routes.items() if v == t.name) if engine.routes
                  else ", ".join(t.symbols))
        rows.append({
            "exchange": t.name, "connected": (last.connected if last else True) and not t.gate.operator_block,
            "status": t.gate.operator_block or t.gate.exchange_block or "quoting",
            "latency_ms": meter.latency_ms(now), "success_rate": 1 - (meter.error_rate(now) or 0.0),
            "calls_last_minute": meter.count(now), "calls_budget_per_min": budget,
            "features": ", ".join(f for f in FEATURES if t.ex.has.get(f)),
            "symbols": ", ".join(t.symbols),
            "routed_here": f"nothing ({blocked})" if blocked else (routed if engine.state == "RUNNING" else
                                                                   f"nothing (engine {engine.state})"),
            "sandbox": bool(getattr(t.ex, "isSandboxModeEnabled", False)),
            "last_error": last_error or "—", "equity": ex.equity if ex else None,
            "streams": _streams(t),
        })
    return rows


def _streams(t: Trader) -> str:
    """What the trader receives over websockets right now (the rest is polled over REST)."""
    out = []
    if t.feed is not None and t.feed.running:
        out.append("books")
        if t.feed.ticker_symbols:
            out.append("tickers")
    acc = t.account_feed
    if acc is not None:
        out += [name for name, on in (("fills", acc.fills_up), ("orders", acc.orders_up)) if on]
    return ", ".join(out) or "none (REST polling)"


def disconnect_venue(engine: Engine, name: str) -> Outcome:
    """Stop using one exchange: cancel its orders and quote nothing there until reconnected."""
    t = next(t for t in engine.traders if t.name == name)
    with engine.work:
        t.gate.operator_block = "disconnected by the operator"
        left = t.cancel_all()
        engine.route()
    engine.alert("warning", "exchange disconnected", f"{name} disconnected by the operator ({left} orders left)",
                 key=f"manual-disconnect:{name}:{engine.clock.now_ms()}")
    if left:
        return outcome.warning(f"{name} disconnected, but {left} of its orders are not confirmed cancelled yet: the "
                               "engine keeps cancelling them; check the exchange if they stay.")
    return outcome.success(f"{name} disconnected: its orders are cancelled and nothing is quoted there")


def connect_venue(engine: Engine, name: str) -> Outcome:
    t = next(t for t in engine.traders if t.name == name)
    with engine.work:
        t.gate.operator_block = None
        engine.route()
    return outcome.success(f"{name} connected: it quotes again what is routed to it")


def test_venue(engine: Engine, name: str) -> list[dict]:
    """The connect sequence (markets, position mode, margin mode, leverage) and a timed request, as a report."""
    from engine.exchanges.factory import Step, prepare

    t = next(t for t in engine.traders if t.name == name)
    leverage = {s: engine.config.symbol_config(s, name).leverage for s in t.symbols}
    conn = engine.config.connection(name)
    with engine.work:
        steps = prepare(t.ex, leverage, conn.margin_mode, conn.hedge_mode)
        try:
            t.ex.fetch_time()
            latency = t.ex.meter.latency_ms(engine.clock.now_ms()) or 0.0
            steps.append(Step("timed request", True, f"{latency:.0f} ms median latency"))
        except Exception as exc:  # noqa: BLE001 - shown to the operator
            steps.append(Step("timed request", False, f"{type(exc).__name__}: {exc}"))
    return [{"step": s.step, "ok": s.ok, "message": s.message} for s in steps]


def kucoin_credentials(engine: Engine) -> dict:
    """The KuCoin credentials as the tester page shows them: configured or not, each part masked."""
    return credentials_summary(engine.config.credentials.get("kucoin"))


def run_kucoin_check(engine: Engine) -> CheckReport:
    """The four KuCoin tests (seed "KuCoinTest.tsx") with the configured credentials."""
    return check_kucoin(engine.config)
