"""The engine on ccxt's real ``binance`` class, over HTTP to a local imitation of Binance's REST API
(tests/fakes/binance.py) that trades on a simulated venue: the whole live path on Binance's wire format."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import ccxt
import pytest
from sqlmodel import Session, select

from engine.clock import WallClock
from engine.config import load_config
from engine.exchanges import create_exchange
from engine.runtime import Engine
from engine.store import OrderRecord, TradeRecord
from tests.fakes.binance import KEY, SECRET, FakeBinance

ROOT = Path(__file__).resolve().parents[2]
ENV = {"BINANCE_API_KEY": KEY, "BINANCE_API_SECRET": SECRET}


@pytest.fixture
def binance(tmp_path):
    venue = create_exchange("sim", {"seed": 5, "state_path": str(tmp_path / "venue.sqlite")}, clock=WallClock())
    with FakeBinance(venue) as fake:
        yield fake
    venue.close()


def config_dir(tmp_path: Path, url: str, **overrides) -> Path:
    d = tmp_path / "config"
    d.mkdir(exist_ok=True)
    shutil.copy(ROOT / "config" / "config.yaml", d / "config.yaml")
    base = {"engine": {"exchange": "binance", "autostart": False, "feed": "off"},
            "strategy": {"risk_mode": "AGGRESSIVE"},
            "symbols": {"binance": {"BTC/USDT": {"enabled": True, "tier": "STABLE", "max_position_usd": 50000},
                                    "ETH/USDT": {"enabled": True, "tier": "STABLE", "max_position_usd": 50000}}},
            "connections": {"binance": {"market": "spot", "api_url": url}},
            "database": {"url": f"sqlite:///{tmp_path}/store.db"}, "logging": {"dir": str(tmp_path / "logs")}}
    for k, v in overrides.items():
        base.setdefault(k, {}).update(v)
    (d / "config.json").write_text(json.dumps(base))
    return d


def drive(engine: Engine, seconds: float) -> None:
    """The scheduler's quoting cadence in real time (the imitation's market runs on the wall clock)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        engine.quote_cycle()
        time.sleep(0.2)


def ours_open_on_venue(fake: FakeBinance) -> set[str]:
    return {o["clientOrderId"] for o in fake.venue.fetch_open_orders() if o["clientOrderId"].startswith("mm-")}


def stored(engine: Engine, status: str | None = None) -> dict[str, OrderRecord]:
    with Session(engine.db) as s:
        q = select(OrderRecord)
        if status:
            q = q.where(OrderRecord.status == status)
        return {r.client_order_id: r for r in s.exec(q)}


def test_the_engine_quotes_fills_restarts_and_stops_on_binance(tmp_path, binance):
    cfg = load_config(config_dir(tmp_path, binance.url), env=ENV)
    first = Engine(cfg)
    assert first.exchange.id == "binance"
    first.start(schedule=False)
    drive(first, 3)
    venue_open = ours_open_on_venue(binance)
    assert len(venue_open) >= 10  # 5 levels a side on two symbols (a few may be between replacements)
    assert venue_open == set(stored(first, "open"))  # the store and the exchange agree, order for order
    posts = [r for r in binance.requests if r["method"] == "POST" and r["path"] == "/api/v3/order"]
    assert posts and all(r["params"]["type"] == "LIMIT_MAKER" and r["params"]["newClientOrderId"].startswith("mm-")
                         for r in posts)  # post-only, each with our client id, on Binance's own parameter names
    assert len({r["params"]["newClientOrderId"] for r in posts}) == len(posts)  # none sent twice

    # A fill reaches the store through Binance's myTrades, which names only the order id, not the client id.
    rec = first.trader.market_order("ETH/USDT", "buy", 0.02)
    first.trader.poll_fills(force=True)
    with Session(first.db) as s:
        fills = s.exec(select(TradeRecord).where(TradeRecord.client_order_id == rec.client_order_id)).all()
    assert fills and sum(f.amount for f in fills) == pytest.approx(0.02)
    assert first.trader.ledger.position("ETH/USDT").qty == pytest.approx(0.02)

    # The process dies without stopping. Meanwhile the account trades and an order with our prefix that the store
    # never heard of rests on the exchange.
    first._trading_lock.release()
    venue = binance.venue
    venue.create_order("ETH/USDT", "market", "sell", 0.01, None, {"clientOrderId": "web-sell-1"})  # not ours
    price = venue.fetch_order_book("BTC/USDT")["bids"][20][0]
    venue.create_order("BTC/USDT", "limit", "buy", 0.001, price, {"clientOrderId": "mm-stray-9"})
    del first

    second = Engine(load_config(config_dir(tmp_path, binance.url), env=ENV))
    second.start(schedule=False)
    assert "mm-stray-9" not in ours_open_on_venue(binance)  # cancelled: ours by prefix, unknown to the store
    assert ours_open_on_venue(binance) == set(stored(second, "open"))
    drive(second, 2)
    assert ours_open_on_venue(binance) == set(stored(second, "open"))
    second.trader.poll_fills(force=True)
    with Session(second.db) as s:
        stored_trades = {t.trade_id for t in s.exec(select(TradeRecord))}
    known = set(stored(second))
    ours = {t["id"] for t in venue.fetch_my_trades()
            if venue.fetch_order(t["order"], t["symbol"])["clientOrderId"] in known}
    assert ours and stored_trades == ours  # every fill of ours stored once; the web order's fill is not ours
    summary = second.stop()
    assert ours_open_on_venue(binance) == set() and not stored(second, "open")
    assert summary["state"] == "STOPPED"


def test_wrong_secret_is_refused_with_advice_and_nothing_is_placed(tmp_path, binance):
    env = {**ENV, "BINANCE_API_SECRET": "x" * 64}
    engine = Engine(load_config(config_dir(tmp_path, binance.url), env=env))
    with pytest.raises(ccxt.AuthenticationError, match="Signature for this request is not valid"):
        engine.start(schedule=False)
    assert engine.state == "STOPPED"
    assert not [r for r in binance.requests if r["method"] == "POST"]
    assert SECRET not in json.dumps(binance.requests) and "x" * 64 not in json.dumps(binance.requests)


def test_the_request_budget_holds_with_twenty_symbols_and_orders_keep_their_share(tmp_path, caplog):
    """Quoting 20 symbols from REST books would need ~80 requests/s; ccxt's own throttle allows 20/s. The engine's
    budget (here 90/min, the imitation refusing the 91st with HTTP 429) is what keeps it inside the limit."""
    coins = ["BTC", "ETH", "SOL", "XRP", "ADA", "DOGE", "AVAX", "DOT", "LINK", "LTC", "ATOM", "NEAR", "APT", "ARB",
             "OP", "FIL", "ETC", "UNI", "SUI", "TRX"]
    symbols = [f"{c}/USDT" for c in coins]
    venue = create_exchange("sim", {"seed": 9, "markets": symbols, "balances": {"USDT": 10_000_000}},
                            clock=WallClock())
    with FakeBinance(venue, limit_per_min=90) as fake:
        table = {s: {"enabled": True, "tier": "STABLE", "max_position_usd": 50000} for s in symbols}
        cdir = config_dir(tmp_path, fake.url, symbols={"binance": table},
                          connections={"binance": {"market": "spot", "api_url": fake.url, "requests_per_min": 90}})
        engine = Engine(load_config(cdir, env=ENV))
        engine.start(schedule=False)
        drive(engine, 8)
        engine.stop()
    statuses = [r["status"] for r in fake.requests]
    assert 429 not in statuses  # the exchange never had to refuse the engine
    assert 60 <= len(fake.requests) <= 90  # the budget was used, and not exceeded, in this minute
    orders = [r for r in fake.requests if r["path"] == "/api/v3/order" and r["method"] == "POST"]
    assert orders  # orders got through while market data was held back (its share is 80%)
    assert "BudgetExceeded" in caplog.text or "budget" in caplog.text
    venue.close()


def test_hedge_mode_on_binance_usdm_sends_position_sides_and_closes_the_held_leg(tmp_path):
    from tests.fakes.binance import FakeBinanceFutures

    venue = create_exchange("sim", {"seed": 6}, clock=WallClock())
    with FakeBinanceFutures(venue) as fake:
        cdir = config_dir(tmp_path, fake.url, symbols={"binance": {"BTC/USDT:USDT": {
            "enabled": True, "tier": "STABLE", "leverage": 5, "max_position_usd": 50000}}},
            connections={"binance": {"market": "swap", "api_url": fake.url, "hedge_mode": True}})
        engine = Engine(load_config(cdir, env=ENV))
        assert engine.exchange.id == "binanceusdm"
        engine.start(schedule=False)
        assert venue.fetch_position_mode()["hedged"]  # the connect sequence set the account up
        assert venue.fetch_leverage("BTC/USDT:USDT")["longLeverage"] == 5
        assert venue.fetch_margin_mode("BTC/USDT:USDT")["marginMode"] == "isolated"
        drive(engine, 2)
        posts = [r["params"] for r in fake.requests if r["method"] == "POST" and r["path"] == "/fapi/v1/order"]
        assert posts and all(p["timeInForce"] == "GTX" and "reduceOnly" not in p for p in posts)
        assert {(p["side"], p["positionSide"]) for p in posts} == {("BUY", "LONG"), ("SELL", "SHORT")}  # opening

        engine.trader.market_order("BTC/USDT:USDT", "buy", 0.01)  # a long leg of 0.01 BTC
        engine.trader.poll_fills(force=True)
        assert engine.trader.ledger.position("BTC/USDT:USDT").qty == pytest.approx(0.01)
        before = len(fake.requests)
        for o in list(engine.trader.orders.values()):
            engine.trader.cancel(o, "test: quote again against the position")
        drive(engine, 2)
        posts = [r["params"] for r in fake.requests[before:] if r["method"] == "POST" and r["path"] == "/fapi/v1/order"]
        sells = [p for p in posts if p["side"] == "SELL"]
        closing = sum(float(p["quantity"]) for p in sells if p["positionSide"] == "LONG")
        assert 0 < closing <= 0.01 + 1e-9  # sells close the long leg as far as it reaches, never beyond
        assert all(p["positionSide"] == "LONG" for p in posts if p["side"] == "BUY")

        result = engine.kill("drill", close_positions=True)
        assert result["closed"] == ["sell 0.01 BTC/USDT:USDT"]
        legs = [p for p in venue.fetch_positions(["BTC/USDT:USDT"]) if p["contracts"]]
        assert legs == []  # flat: the close went to the long leg (positionSide LONG, no reduceOnly: Binance's rule)
        markets = [r for r in fake.requests if r["path"] == "/fapi/v1/order" and r["method"] == "POST"
                   and r["params"]["type"] == "MARKET"]
        assert [(r["params"]["side"], r["params"]["positionSide"], r["status"]) for r in markets] == [
            ("BUY", "LONG", 200), ("SELL", "LONG", 200)]
        engine.stop()
        assert not [o for o in venue.fetch_open_orders() if o["clientOrderId"].startswith("mm-")]
    venue.close()


def test_binance_error_codes_keep_their_meaning_behind_an_api_url_override():
    """ccxt picks USD-M's error table by the official host name; behind a gateway the path decides instead."""
    from engine.config import Credentials, Secret
    from engine.exchanges.factory import build_ccxt, prepare
    from tests.fakes.binance import FakeBinanceFutures

    venue = create_exchange("sim", {"seed": 4}, clock=WallClock())
    with FakeBinanceFutures(venue) as fake:
        ex = build_ccxt("binance", "swap", Credentials(api_key=Secret(KEY), api_secret=Secret(SECRET)),
                        api_url=fake.url)
        assert [s.ok for s in prepare(ex, {"BTC/USDT:USDT": 3}, hedge=True)] == [True] * 4
        again = prepare(ex, {"BTC/USDT:USDT": 3}, hedge=True)  # -4059 "No need to change position side."
        assert all(s.ok for s in again) and "already set" in [s.message for s in again]
        ask = round(ex.fetch_order_book("BTC/USDT:USDT")["asks"][0][0] * 1.01, 1)  # crosses however the book moves
        with pytest.raises(ccxt.OrderNotFillable, match="-5022"):  # USD-M's own table, not a generic error
            ex.create_order("BTC/USDT:USDT", "limit", "buy", 0.002, ask,
                            {"postOnly": True, "clientOrderId": "mm-x-1", "positionSide": "LONG"})
    venue.close()


def test_health_uses_a_signed_request_so_a_revoked_key_shows_as_disconnected(tmp_path, binance):
    from engine.store import Alert, ExchangeHealth

    engine = Engine(load_config(config_dir(tmp_path, binance.url), env=ENV))
    engine.start(schedule=False)
    engine.health_cycle()
    assert binance.requests[-1]["path"] == "/api/v3/account" and binance.requests[-1]["status"] == 200
    binance.secret = "the key was rotated on the exchange"  # every signature from the engine is now wrong
    engine.health_cycle()
    with Session(engine.db) as s:
        rows = s.exec(select(ExchangeHealth).order_by(ExchangeHealth.id)).all()
        alerts = [a.message for a in s.exec(select(Alert)) if a.kind == "exchange disconnected"]
    assert [r.connected for r in rows] == [True, False]
    assert "Signature for this request is not valid" in rows[-1].detail and rows[-1].calls_limit == 1200
    assert alerts and SECRET not in json.dumps(alerts) + rows[-1].detail
    engine.stop()
