"""Secrets, end to end (issue 14): recognisable credentials for every exchange and Telegram; the engine runs and
alerts, every console page renders (AppTest), the KuCoin check runs against the local KuCoin (right and wrong
credentials); then every log file, every table of the store, the paper account file and every rendered page are
searched for them. None may appear (masked previews such as ``68da...3344`` are what pages show)."""

from __future__ import annotations

import json
import sqlite3

from streamlit.testing.v1 import AppTest

from engine import service
from engine.config import Credentials, Secret
from engine.config.layers import ENV_EXCHANGES
from engine.kucoin_check import check_kucoin
from engine.registry import ensure_engine, stop_all_engines
from tests.fakes.kucoin import KEY, PASSPHRASE, SECRET, FakeKucoin
from tests.fakes.telegram import GOOD_CHAT, GOOD_TOKEN, FakeTelegram
from tests.test_app import PAGES, PASSWORD, console_config, logged_in


def credentials() -> dict[str, str]:
    env = {}
    for ex in ENV_EXCHANGES:
        tag = ex.lower()
        env[f"{ex}_API_KEY"] = f"{tag}-apikey-Zq81vX3m"
        env[f"{ex}_API_SECRET"] = f"{tag}-apisecret-Wk27pL9d"
        env[f"{ex}_PASSPHRASE"] = f"{tag}-passphrase-Hc55rT1y"
    env.update(KUCOIN_API_KEY=KEY, KUCOIN_API_SECRET=SECRET, KUCOIN_PASSPHRASE=PASSPHRASE,
               TELEGRAM_BOT_TOKEN=GOOD_TOKEN, TELEGRAM_CHAT_ID=GOOD_CHAT)
    return env


def rendered(at: AppTest) -> str:
    return repr(at._tree)  # every element of the page as rendered, with its values


def test_no_secret_appears_in_logs_store_paper_account_or_pages(tmp_path, monkeypatch):
    env = credentials()
    secrets = sorted({v for k, v in env.items() if k != "TELEGRAM_CHAT_ID"})
    with FakeKucoin() as kucoin, FakeTelegram() as telegram:
        cdir = console_config(tmp_path)
        overrides = json.loads((cdir / "config.json").read_text())
        overrides["alerts"] = {"api_url": telegram.url, "min_level": "info"}
        (cdir / "config.json").write_text(json.dumps(overrides))
        for k, v in {**env, "KUCOIN_API_URL": kucoin.spot_url, "KUCOIN_FUTURES_API_URL": kucoin.futures_url,
                     "MM_CONFIG_DIR": str(cdir), "MM_CONSOLE_PASSWORD": PASSWORD}.items():
            monkeypatch.setenv(k, v)
        pages = []
        try:
            engine = ensure_engine(cdir)
            engine.start(schedule=False)
            engine.run_simulated(20)  # quoting, risk, hygiene, health, metrics: fills, alerts, logs
            report = service.run_kucoin_check(engine)
            assert report.ok  # the right credentials pass against the local KuCoin
            at = logged_in()
            for page in PAGES:
                at.switch_page(page).run()
                assert not at.exception, page
                pages.append((page, rendered(at)))
            at.switch_page("pages/kucoin.py").run()
            [b for b in at.button if b.label == "Run the four tests"][0].click().run()
            pages.append(("kucoin tests run", rendered(at)))
            wrong = check_kucoin(creds=Credentials(Secret(KEY), Secret("wrong-secret-Qa09"), Secret(PASSPHRASE)),
                                 spot_url=kucoin.spot_url, futures_url=kucoin.futures_url)
            assert not wrong.ok  # a failing check names the cause, not the credentials
            pages.append(("kucoin check failing", json.dumps(wrong.to_dict(), default=str)))
            engine.alerts.flush(5.0)
            assert telegram.messages  # alerts went out (the token is in the request path, as Telegram wants)
            summary = engine.stop()
            assert summary["fills"] > 0
        finally:
            stop_all_engines()
        assert pages

    logs = [p for p in (tmp_path / "logs").rglob("*") if p.is_file()]
    assert logs
    places = {str(p): p.read_bytes() for p in logs}
    for db in (tmp_path / "store.db", tmp_path / "sim_state.sqlite"):
        assert db.is_file()
        with sqlite3.connect(db) as conn:
            for (table,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'"):
                rows = conn.execute(f'SELECT * FROM "{table}"').fetchall()  # noqa: S608 - our own table names
                places[f"{db.name}:{table}"] = repr(rows).encode()
        places[f"{db.name} (raw)"] = b"".join(f.read_bytes() for f in db.parent.glob(db.name + "*") if f.is_file())
    for name, text in pages:
        places[f"page {name}"] = text.encode()
    leaks = [(where, s) for where, blob in places.items() for s in secrets if s.encode() in blob]
    assert leaks == []
    assert any(b"68da...3344" in blob for name, blob in places.items() if name.startswith("page"))

