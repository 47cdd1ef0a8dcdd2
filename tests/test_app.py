"""The console (Streamlit AppTest): the login gate on every page, and each page's controls against the sim."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from engine import service
from engine.config import load_config
from engine.ledger import PositionState
from engine.registry import ensure_engine, stop_all_engines
from engine.store import TradeRecord

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "console.py")
PASSWORD = "correct horse battery staple"
PAGES = ["pages/dashboard.py", "pages/positions.py", "pages/trades.py", "pages/risk.py", "pages/alerts.py",
         "pages/exchanges.py", "pages/kucoin.py", "pages/strategies.py", "pages/settings.py"]


def console_config(tmp_path: Path, **engine: object) -> Path:
    d = tmp_path / "config"
    d.mkdir()
    shutil.copy(ROOT / "config" / "config.yaml", d / "config.yaml")
    (d / "config.json").write_text(json.dumps({
        "engine": {"autostart": False, **engine}, "database": {"url": f"sqlite:///{tmp_path}/store.db"},
        "sim": {"state_path": str(tmp_path / "sim_state.sqlite")}, "logging": {"dir": str(tmp_path / "logs")}}))
    return d


@pytest.fixture
def cdir(tmp_path, monkeypatch):
    d = console_config(tmp_path)
    monkeypatch.setenv("MM_CONFIG_DIR", str(d))
    monkeypatch.setenv("MM_CONSOLE_PASSWORD", PASSWORD)
    yield d
    stop_all_engines()


def logged_in(script: str = APP) -> AppTest:
    at = AppTest.from_file(script, default_timeout=30)
    at.run()
    at.text_input[0].input(PASSWORD)
    at.button[0].click().run()
    return at


def running_engine(cdir: Path):
    """The same engine the console shows (one per process), quoting on the simulated exchange."""
    engine = ensure_engine(cdir)
    engine.start(schedule=False)
    engine.risk_cycle()
    engine.quote_cycle()
    return engine


def test_login_is_required_and_wrong_passwords_are_refused(cdir):
    at = AppTest.from_file(APP, default_timeout=30)
    at.run()
    assert at.title[0].value == "Market maker console" and not at.metric
    at.text_input[0].input("guess")
    at.button[0].click().run()
    assert "Wrong password" in at.error[0].value and not at.metric
    at.text_input[0].input(PASSWORD)
    at.button[0].click().run()
    assert at.title[0].value == "Dashboard" and at.metric and not at.exception


@pytest.mark.parametrize("page", PAGES)
def test_a_deep_link_to_a_page_also_asks_for_the_password(cdir, page):
    at = AppTest.from_file(str(ROOT / page), default_timeout=30)
    at.run()
    assert at.title[0].value == "Market maker console" and not at.exception
    assert len(at.text_input) == 1 and at.text_input[0].label == "Password"


def test_every_page_renders_without_an_exception(cdir):
    running_engine(cdir)
    at = logged_in()
    for page in PAGES:
        at.switch_page(page).run()
        assert not at.exception, (page, at.exception)
        assert at.title[0].value in ("Dashboard", "Positions & orders", "Trade history", "Risk controls",
                                     "Alerts & logs", "KuCoin connection tester", "Exchange connections",
                                     "Strategies", "Trading settings")


def test_risk_mode_change_reaches_the_engine_and_survives_a_restart(cdir):
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page("pages/risk.py").run()
    [b for b in at.button if b.label == "Use AGGRESSIVE_PLUS"][0].click().run()
    assert engine.config.strategy.risk_mode == "AGGRESSIVE_PLUS"
    engine.risk_cycle()
    engine.quote_cycle()
    assert {r.level for r in engine.trader.orders.values()} == set(range(7))  # 7 levels now quoted
    assert load_config(cdir).strategy.risk_mode == "AGGRESSIVE_PLUS"  # saved for the next start
    assert any("risk mode **AGGRESSIVE_PLUS**" in c.value for c in at.sidebar.caption)


def test_close_position_leaves_it_flat(cdir):
    engine = running_engine(cdir)
    engine.trader.market_order("ETH/USDT", "buy", 0.05)
    engine.trader.poll_fills()
    assert engine.trader.ledger.position("ETH/USDT").qty > 0
    engine.pause()  # keep quoting from opening a new position meanwhile
    at = logged_in()
    at.switch_page("pages/positions.py").run()
    [b for b in at.button if b.label == "Close ETH/USDT"][0].click().run()
    assert "reduce-only market order" in at.warning[0].value  # asks first
    [b for b in at.button if b.label == "Yes, close ETH/USDT"][0].click().run()
    assert engine.trader.ledger.position("ETH/USDT").qty == 0
    assert "Close ETH/USDT: sell 0.05 ETH/USDT" in at.success[0].value


def test_cancel_removes_the_order_and_cancel_all_clears_a_symbol(cdir):
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page("pages/positions.py").run()
    first = service.open_orders(engine)[0]
    where = f"{first['exchange']}|{first['symbol']}"
    [s for s in at.selectbox if s.key == f"pick_{where}"][0].set_value(first["client_order_id"]).run()
    [b for b in at.button if b.key == f"cancel_{where}"][0].click().run()
    assert first["client_order_id"] not in engine.trader.orders
    assert all(o["clientOrderId"] != first["client_order_id"] for o in engine.exchange.fetch_open_orders())
    # running: the next cycle quotes it again, and the page says so (a warning, not a success)
    assert any("quoted again at its next cycle" in w.value for w in at.warning)
    [b for b in at.button if b.label == "Cancel all SOL/USDT"][0].click().run()
    assert engine.exchange.fetch_open_orders("SOL/USDT") == []


def test_stop_quoting_a_symbol_keeps_it_unquoted_until_resumed(cdir):
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page("pages/positions.py").run()
    [b for b in at.button if b.label == "Stop quoting ETH/USDT"][0].click().run()
    assert "quoting stopped" in at.success[0].value
    for _ in range(3):
        engine.quote_cycle()
    assert engine.exchange.fetch_open_orders("ETH/USDT") == []  # the cycles did not quote it again
    assert engine.exchange.fetch_open_orders("BTC/USDT")  # the others still quote
    at.run()
    assert any("ETH/USDT" in c.value and "stopped by the operator" in c.value for c in at.caption)
    [b for b in at.button if b.label == "Resume quoting ETH/USDT"][0].click().run()
    engine.quote_cycle()
    assert engine.exchange.fetch_open_orders("ETH/USDT")


def test_closing_a_position_below_the_market_minimum_says_so_in_a_warning(cdir):
    engine = running_engine(cdir)
    engine.pause()
    tr = engine.trader
    minimum = tr.ex.markets["ETH/USDT"]["limits"]["amount"]["min"]
    tr.ledger.positions["ETH/USDT"] = PositionState(qty=minimum / 4, avg_price=2000.0)  # dust no order can close
    tr.publish()
    at = logged_in()
    at.switch_page("pages/positions.py").run()
    assert any("below the market's minimum order amount" in w.value for w in at.warning)
    assert all("e-" not in str(v) for v in at.dataframe[0].value.to_numpy().ravel())  # no scientific notation
    [b for b in at.button if b.label == "Close ETH/USDT"][0].click().run()
    [b for b in at.button if b.label == "Yes, close ETH/USDT"][0].click().run()
    assert not at.success  # never a success box for a failure
    assert any("below the market's minimum order amount" in w.value and "buy" in w.value for w in at.warning)
    assert tr.ledger.position("ETH/USDT").qty == pytest.approx(minimum / 4)


def type_into(at: AppTest, label: str, text: str) -> None:
    [t for t in at.text_input if t.label == label][0].input(text)


def press(at: AppTest, label: str, key_part: str = "") -> None:
    [b for b in at.button if b.label == label and key_part in (b.key or "")][0].click().run()


@pytest.mark.parametrize("field, value, message", [
    ("Latency (ms)", "-5", "Latency (ms) = -5: must be greater than 10"),
    ("Drawdown (bps)", "0", "Drawdown (bps) = 0: must be greater than 5"),
    ("Drawdown (bps)", "1000000000000", "Drawdown (bps) = 1000000000000: must be at most 2,000"),
    ("Error rate (%)", "150", "Error rate (%) = 150: must be at most 100"),
    ("Volatility (%)", "abc", "Volatility (%): 'abc' is not a number"),
    ("Spread (bps)", "1,500", "'1,500' is ambiguous: write 1.5 for a decimal or 1500 for a whole number"),
])
def test_threshold_form_validation_names_the_field_and_rule(cdir, field, value, message):
    running_engine(cdir)
    at = logged_in()
    at.switch_page("pages/risk.py").run()
    type_into(at, field, value)
    press(at, "Review changes", "breakers")
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not [b for b in at.button if b.label == "Apply"]  # nothing to apply
    assert not (cdir / "config.json").read_text().count("breakers")  # nothing saved


def test_a_decimal_comma_is_read_as_a_decimal_point_and_shown_before_saving(cdir):
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page("pages/risk.py").run()
    type_into(at, "Volatility (%)", "1,5")
    press(at, "Review changes", "breakers")
    preview = " ".join(m.value for m in at.markdown)
    assert "Volatility (%): 5 → 1.5" in preview and "comma" in preview  # the value as it will be applied
    assert load_config(cdir).risk.breakers["volatility"].threshold == 5.0  # not saved yet
    press(at, "Apply", "breakers")
    assert load_config(cdir).risk.breakers["volatility"].threshold == 1.5  # 1.5%, not 15%
    assert engine.risk.board.breakers["volatility"].threshold == 1.5
    assert "Volatility (%): 5 → 1.5" in at.success[0].value


def test_switching_a_breaker_off_needs_a_confirmation(cdir):
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page("pages/risk.py").run()
    [t for t in at.toggle if t.label == "drawdown breaker"][0].set_value(False)
    press(at, "Review changes", "breakers")
    assert any("kill switch will not halt trading" in w.value for w in at.warning)
    apply = [b for b in at.button if b.label == "Apply"][0]
    assert apply.disabled  # not without the confirmation
    [c for c in at.checkbox if c.label.startswith("I understand: switch")][0].check().run()
    press(at, "Apply", "breakers")
    assert load_config(cdir).risk.breakers["drawdown"].enabled is False
    assert "drawdown" not in engine.risk.board.breakers
    at.run()
    assert "switched off" in " ".join(str(m.value) for m in at.markdown)


def test_limits_have_bounds_and_leverage_is_set_on_the_venue(cdir):
    d = cdir
    cfg = json.loads((d / "config.json").read_text())
    cfg["symbols"] = {"sim": {"BTC/USDT:USDT": {"enabled": True, "leverage": 10}}}
    (d / "config.json").write_text(json.dumps(cfg))
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page("pages/risk.py").run()
    type_into(at, "Inventory cap per symbol (USDT)", "1000000000000000")
    type_into(at, "Max open orders per symbol", "999999999")
    type_into(at, "Max leverage (perpetuals)", "200")
    press(at, "Review changes", "limits")
    errors = " ".join(e.value for e in at.error)
    assert "must be at most 1,000,000" in errors and "must be at most 100" in errors and "at most 125" in errors
    type_into(at, "Inventory cap per symbol (USDT)", "40000")
    type_into(at, "Max open orders per symbol", "20")
    type_into(at, "Max leverage (perpetuals)", "20")
    press(at, "Review changes", "limits")
    press(at, "Apply", "limits")
    assert load_config(d).symbol_config("BTC/USDT:USDT").leverage == 20
    assert load_config(d).risk.caps.max_inventory_per_symbol_usd == 40_000
    assert engine.exchange.fetch_leverage("BTC/USDT:USDT")["longLeverage"] == 20  # set on the venue, not only saved
    assert "set on BTC/USDT:USDT on sim" in at.success[0].value


def test_without_perpetuals_the_page_says_leverage_applies_to_nothing(cdir):
    running_engine(cdir)
    at = logged_in()
    at.switch_page("pages/risk.py").run()
    assert not [t for t in at.text_input if t.label == "Max leverage (perpetuals)"]
    assert any("no perpetual is traded" in c.value for c in at.caption)
    assert any("Max inventory per symbol in force: **10,000.00 USDT**" in m.value for m in at.markdown)


def test_breaker_reset_and_history_on_the_risk_page(cdir):
    engine = running_engine(cdir)
    engine.kill("drill", source="test")
    at = logged_in()
    at.switch_page("pages/risk.py").run()
    [b for b in at.button if b.label == "Re-arm"][0].click().run()
    assert engine.state == "RUNNING"


def test_csv_rows_equal_the_stores_for_a_filter(cdir):
    engine = running_engine(cdir)
    with Session(engine.db) as s:
        for i in range(250):
            s.add(TradeRecord(exchange="sim", symbol="BTC/USDT" if i % 3 else "ETH/USDT", trade_id=f"t{i}",
                              side="buy" if i % 2 else "sell", price=100 + i, amount=0.5, cost=(100 + i) * 0.5,
                              fee=0.01, fee_currency="USDT", realized_pnl=i / 10, ts=1_700_000_000_000 + i * 1000,
                              client_order_id=f"mm-x-{i}", order_id=str(i)))
        s.commit()
    flt = service.TradeFilter(symbol="BTC/USDT", side="buy", since_ms=1_700_000_050_000)
    lines = service.trades_csv(engine.db, flt, batch=7).decode().splitlines()
    assert lines[0] == ",".join(service.CSV_COLUMNS)
    with Session(engine.db) as s:
        expected = s.exec(select(TradeRecord).where(TradeRecord.symbol == "BTC/USDT", TradeRecord.side == "buy",
                                                    TradeRecord.ts >= 1_700_000_050_000)
                          .order_by(TradeRecord.ts)).all()
    assert [line.split(",")[-1] for line in lines[1:]] == [t.trade_id for t in expected]
    assert lines[1] == "2023-11-14T22:14:13.000Z,sim,BTC/USDT,buy,153.0,0.5,76.5,0.01,USDT,5.3,0.0,53,mm-x-53,t53"
    totals = service.trade_totals(engine.db, flt)
    assert totals["trades"] == len(expected) and totals["volume"] == pytest.approx(sum(t.cost for t in expected))


def test_kucoin_tester_page_runs_the_tests_against_a_local_kucoin(cdir, monkeypatch):
    from tests.fakes.kucoin import KEY, PASSPHRASE, SECRET, FakeKucoin

    with FakeKucoin() as fake:
        monkeypatch.setenv("KUCOIN_API_URL", fake.spot_url)
        monkeypatch.setenv("KUCOIN_FUTURES_API_URL", fake.futures_url)
        monkeypatch.setenv("KUCOIN_API_KEY", KEY)
        monkeypatch.setenv("KUCOIN_API_SECRET", SECRET)
        monkeypatch.setenv("KUCOIN_PASSPHRASE", "not-the-passphrase")
        at = logged_in()
        at.switch_page("pages/kucoin.py").run()
        assert at.metric[0].value == "configured"
        assert [c.value for c in at.code][:3] == ["68da...3344", "5f3b...5d6e", "not...ase"]  # as plain text
        assert all(SECRET not in m.value and PASSPHRASE not in m.value for m in [*at.metric, *at.code])
        [b for b in at.button if b.label == "Run the four tests"][0].click().run()
        assert not at.exception
        assert "2 passed, 2 failed" in at.markdown[0].value
        assert any("could not verify the passphrase" in e.value for e in at.error)


def test_exchange_connections_page_disconnects_tests_and_switches_selection(cdir):
    engine = running_engine(cdir)
    at = logged_in()
    at.switch_page("pages/exchanges.py").run()
    assert not at.exception and at.subheader[0].value == "sim"
    assert [m.label for m in at.metric][:5] == ["Connected", "Latency", "Success rate", "Calls (last minute)",
                                                "Equity (USDT)"]
    [b for b in at.button if b.label == "Test connection"][0].click().run()
    steps = at.dataframe[0].value
    assert "load markets" in list(steps["step"]) and all(steps["ok"])
    [b for b in at.button if b.label == "Disconnect"][0].click().run()
    assert engine.exchange.fetch_open_orders() == []
    engine.risk_cycle()
    engine.quote_cycle()
    assert engine.exchange.fetch_open_orders() == []  # nothing quoted while disconnected
    at.run()
    status = " ".join(c.value for c in at.caption)
    assert "quoting here: nothing (disconnected by the operator)" in status  # never "quoting here: BTC/USDT..."
    assert any("0 of 1 exchange can quote" in w.value for w in at.sidebar.warning)  # RUNNING, but says so
    [b for b in at.button if b.label == "Connect"][0].click().run()
    engine.quote_cycle()
    assert engine.exchange.fetch_open_orders()
    at.radio[0].set_value("LOAD_BALANCE").run()
    assert engine.config.engine.selection == "LOAD_BALANCE" and load_config(cdir).engine.selection == "LOAD_BALANCE"


def test_dashboard_and_positions_cover_every_exchange(tmp_path, monkeypatch):
    d = console_config(tmp_path, venues=["sim-b"], selection="FAILOVER")
    cfg = json.loads((d / "config.json").read_text())
    cfg["symbols"] = {"sim-b": {"ETH/USDT": {"enabled": True}, "BTC/USDT": {"enabled": True}}}
    (d / "config.json").write_text(json.dumps(cfg))
    monkeypatch.setenv("MM_CONFIG_DIR", str(d))
    monkeypatch.setenv("MM_CONSOLE_PASSWORD", PASSWORD)
    try:
        engine = running_engine(d)
        backup = engine.traders[1]
        assert backup.name == "sim-b"
        backup.market_order("ETH/USDT", "buy", 0.05)  # a position on the second exchange
        backup.poll_fills(force=True)
        engine.pause()
        at = logged_in()
        at.switch_page("pages/dashboard.py").run()
        table = at.dataframe[0].value
        assert {"sim", "sim-b"} <= set(table["Exchange"])  # one row per exchange and symbol
        assert [m.value for m in at.metric if m.label == "Exchanges that can quote"] == ["2 of 2"]
        at.switch_page("pages/positions.py").run()
        positions = at.dataframe[0].value
        assert list(positions[positions["Symbol"] == "ETH/USDT"]["Exchange"]) == ["sim-b"]
        [b for b in at.button if b.key == "close_sim-b|ETH/USDT"][0].click().run()
        assert "on sim-b" in at.warning[0].value
        [b for b in at.button if b.key == "close_yes_sim-b|ETH/USDT"][0].click().run()
        assert backup.ledger.position("ETH/USDT").qty == 0
        assert "Close ETH/USDT: sell 0.05 ETH/USDT" in at.success[0].value
    finally:
        stop_all_engines()


def test_a_side_that_is_not_quoted_says_which_and_why(cdir):
    engine = running_engine(cdir)
    engine.trader.gate.side_blocks["BTC/USDT"] = {"buy"}  # the inventory cap holds the buy side
    engine.quote_cycle()
    at = logged_in()
    warnings = " ".join(w.value for w in at.warning)
    assert "**BTC/USDT** buy side: inventory cap reached" in warnings
    at.switch_page("pages/positions.py").run()
    assert any("BTC/USDT buy side not quoted" in c.value and "inventory cap" in c.value for c in at.caption)


def test_the_dashboard_shows_the_pnl_parts_with_their_definitions(cdir):
    engine = running_engine(cdir)
    engine.trader.market_order("ETH/USDT", "buy", 0.05)  # a taker fill: it pays the half spread
    engine.trader.poll_fills(force=True)
    at = logged_in()
    labels = [m.label for m in at.metric]
    for name in ("Spread capture (USDT)", "Fees (USDT)", "Trading PnL net of fees (USDT)", "Inventory PnL (USDT)",
                 "Net PnL (USDT)", "Equity change today (USDT)"):
        assert name in labels
    s = service.summary(engine)
    assert s["spread_capture"] < 0  # the taker paid
    shown = {m.label: m.value for m in at.metric}
    assert shown["Fees (USDT)"] == f"{s['fees']:,.4f}" or shown["Fees (USDT)"] == f"{s['fees']:,.2f}"
    assert any("Inventory PnL = realized + unrealized - spread capture" in c.value for c in at.caption)
    assert all("None" not in str(v) for v in at.dataframe[0].value.to_numpy().ravel())
    ops = service.operations(engine)  # seed 003's operational and technical metrics, from the metrics job
    for name in ("Fills per minute", "Volume (USDT)", "Quoted spread", "Sharpe (60 min)", "API latency",
                 "Request success (1 min)", "API calls (1 min)", "Uptime"):
        assert name in labels
    assert shown["API calls (1 min)"] == f"{ops['calls_last_minute']:,}" and ops["calls_last_minute"] > 0
