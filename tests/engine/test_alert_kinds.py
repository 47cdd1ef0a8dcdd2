"""Alert settings (issue 15, point 3): each kind on, silent or off; position opened / closed off by default with a
periodic summary instead; the Alerts page sets them."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from engine.alerts import AlertService
from engine.clock import SimClock
from engine.config import AlertSettings, TelegramSettings, load_config
from engine.config.credentials import Secret
from engine.exchanges import create_exchange
from engine.runtime import Engine
from engine.store import Alert, make_engine
from tests.engine.test_runtime import make_config_dir
from tests.fakes.telegram import GOOD_CHAT, GOOD_TOKEN, FakeTelegram
from tests.test_app import cdir, logged_in  # noqa: F401 - cdir is the console fixture


def service(tmp_path, url: str, kinds: dict) -> AlertService:
    settings = AlertSettings(api_url=url, kinds=kinds, dedupe_s=0)
    return AlertService(settings, TelegramSettings(Secret(GOOD_TOKEN), GOOD_CHAT),
                        make_engine(f"sqlite:///{tmp_path}/a.db"), SimClock())


def test_each_kind_is_sent_silently_or_kept(tmp_path):
    with FakeTelegram() as fake:
        alerts = service(tmp_path, fake.url, {"routing": "silent", "funding skew": "off"})
        alerts.alert("warning", "breaker opened", "latency")
        alerts.alert("warning", "routing", "BTC/USDT moves")
        alerts.alert("info", "funding skew", "leans short")
        alerts.alert("info", "position opened", "sim BTC/USDT +0.01")
        alerts.flush(5.0)
        sent = {m["text"].split("\n")[0].split("· ")[1]: m["disable_notification"] for m in fake.messages}
    assert sent == {"breaker opened": False, "routing": True}  # on: with a sound; silent: without
    with Session(alerts.db) as s:
        status = {a.kind: a.status for a in s.exec(select(Alert))}
    assert status == {"breaker opened": "sent", "routing": "sent", "funding skew": "stored",
                      "position opened": "stored"}


def test_yaml_on_and_off_read_as_the_words(tmp_path):
    d = make_config_dir(tmp_path)
    (d / "config.yaml").write_text((d / "config.yaml").read_text().replace(
        'kinds: {position opened: "off", position closed: "off"}', "kinds: {position opened: on, routing: off}"))
    kinds = load_config(d, env={}).alerts.kinds
    assert kinds["position opened"] == "on" and kinds["routing"] == "off"


def test_a_summary_of_fills_and_pnl_replaces_the_position_alerts(tmp_path):
    cfg = load_config(make_config_dir(tmp_path, alerts={"summary_every_min": 5},
                                      strategy={"risk_mode": "AGGRESSIVE"}), env={})
    clock = SimClock()
    engine = Engine(cfg, exchange=create_exchange("sim", cfg.sim, clock=clock), clock=clock)
    engine.start(schedule=False)
    engine.run_simulated(660)
    with Session(engine.db) as s:
        rows = s.exec(select(Alert).order_by(Alert.id)).all()
    summaries = [a for a in rows if a.kind == "summary"]
    assert len(summaries) == 2 and engine.trader.ledger.fills > 0
    assert "fills in the last 5 min" in summaries[0].message
    assert "(sim): " in summaries[0].message and "realized net of fees" in summaries[0].message
    assert all(a.status == "stored" for a in rows if a.kind.startswith("position "))
    engine.stop()


def test_the_alerts_page_sets_a_kind(cdir):  # noqa: F811 - the console fixture
    at = logged_in()
    at.switch_page("pages/alerts.py").run()
    assert not at.exception
    box = next(b for b in at.selectbox if b.label == "routing")
    assert box.value == "on" and next(b for b in at.selectbox if b.label == "position opened").value == "off"
    box.set_value("silent")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    saved = json.loads((cdir / "config.json").read_text())
    assert saved["alerts"]["kinds"] == {"routing": "silent"}
    assert load_config(cdir).alerts.kinds["routing"] == "silent"
