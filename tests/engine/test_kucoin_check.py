"""The KuCoin connection tester against a local imitation of KuCoin that verifies every signature."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

from engine.config import Credentials, Secret
from engine.kucoin_check import check_kucoin, format_report, sign, sign_passphrase
from tests.fakes.kucoin import KEY, PASSPHRASE, SECRET, FakeKucoin

ROOT = Path(__file__).resolve().parents[2]


def creds(key: str = KEY, secret: str = SECRET, passphrase: str = PASSPHRASE) -> Credentials:
    return Credentials(Secret(key), Secret(secret), Secret(passphrase))


@pytest.fixture
def kucoin():
    with FakeKucoin() as fake:
        yield fake


def run(fake: FakeKucoin, c: Credentials | None, **kw):
    return check_kucoin(creds=c, spot_url=fake.spot_url, futures_url=fake.futures_url, **kw)


def test_signatures_follow_kucoins_documented_scheme():
    # base64(HMAC-SHA256(secret, timestamp + method + endpoint + body)), computed independently here
    import base64
    import hashlib
    import hmac

    expected = base64.b64encode(hmac.new(b"s3cret", b"1700000000000GET/api/v1/accounts", hashlib.sha256).digest())
    assert sign("s3cret", "1700000000000", "GET", "/api/v1/accounts") == expected.decode()
    assert sign_passphrase("s3cret", "pw") == base64.b64encode(
        hmac.new(b"s3cret", b"pw", hashlib.sha256).digest()).decode()


def test_all_four_tests_pass_with_the_right_credentials(kucoin):
    report = run(kucoin, creds())
    assert [(r.name, r.status) for r in report.results] == [
        ("Account Overview", "success"), ("Account Info", "success"), ("Symbols", "success"),
        ("BTC Ticker", "success")]
    assert report.ok and report.passed == 4 and report.failed == 0
    assert report.results[0].data["data"]["currency"] == "USDT"
    assert all(r.latency_ms is not None and r.latency_ms >= 0 for r in report.results)
    signed = [r for r in kucoin.requests if "KC-API-KEY" in r["headers"]]
    assert len(signed) == 2 and all(r["headers"]["KC-API-KEY-VERSION"] == "2" for r in signed)


@pytest.mark.parametrize("wrong, code, advice", [
    ({"key": "nope-nope-nope-nope"}, "400003", "KuCoin does not know this API key"),
    ({"secret": "0" * 36}, "400004", "a wrong KUCOIN_API_SECRET"),  # a wrong secret breaks the passphrase HMAC
    ({"secret": "0" * 36}, "400004", "a wrong KUCOIN_PASSPHRASE"),  # both causes are named
    ({"passphrase": "my-login-password"}, "400004", "not the account's login password"),
])
def test_wrong_credentials_get_the_right_advice(kucoin, wrong, code, advice):
    report = run(kucoin, creds(**wrong))
    private = report.results[:2]
    assert all(r.status == "error" and r.code == code and advice in r.advice for r in private)
    assert [r.status for r in report.results[2:]] == ["success", "success"]  # public endpoints still work
    assert not report.ok


def test_a_signature_over_the_wrong_text_is_refused(kucoin, monkeypatch):
    import engine.kucoin_check as kc

    monkeypatch.setattr(kc, "sign", lambda secret, ts, method, endpoint, body="": sign(secret, ts, method, "/x"))
    result = run(kucoin, creds()).results[1]
    assert result.code == "400005" and "KUCOIN_API_SECRET does not belong to this API key" in result.advice


def test_clock_skew_ip_whitelist_and_rate_limit(kucoin, monkeypatch):
    import time as real

    import engine.kucoin_check as kc

    skewed = SimpleNamespace(time=lambda: real.time() - 30, perf_counter=real.perf_counter)
    monkeypatch.setattr(kc, "time", skewed)  # this machine's clock is 30 s behind KuCoin's
    assert "synchronise this machine's clock" in run(kucoin, creds()).results[1].advice
    monkeypatch.setattr(kc, "time", real)
    kucoin.ip_whitelisted = False
    assert "IP whitelist" in run(kucoin, creds()).results[1].advice
    kucoin.ip_whitelisted = True
    kucoin.rate_limited = True
    report = run(kucoin, creds())
    assert all(r.code == "429000" and "rate limiting" in r.advice for r in report.results)


def test_timeout_and_unreachable_say_so(kucoin):
    kucoin.slow_s = 1.0
    result = run(kucoin, creds(), timeout_s=0.2).results[2]
    assert result.message == "timeout" and "did not answer within" in result.advice
    report = check_kucoin(creds=creds(), spot_url="http://127.0.0.1:9", futures_url="http://127.0.0.1:9")
    assert all("cannot reach" in r.message for r in report.results)


def test_missing_credentials_are_reported_with_masked_previews(kucoin):
    report = run(kucoin, Credentials(api_key=Secret(KEY)))
    assert report.credentials == {"configured": False, "api_key": "68da...3344", "api_secret": "(not set)",
                                  "passphrase": "(not set)"}
    assert report.results[0].message == "credentials not configured" and "KUCOIN_API_KEY" in report.results[0].advice
    text = format_report(report)
    assert KEY not in text and "68da...3344" in text and "2 passed, 2 failed" in text


def test_check_command_line_exit_status_and_json(kucoin, tmp_path):
    from tests.engine.test_runtime import make_config_dir

    cdir = make_config_dir(tmp_path)
    env = {**os.environ, "KUCOIN_API_URL": kucoin.spot_url, "KUCOIN_FUTURES_API_URL": kucoin.futures_url,
           "KUCOIN_API_KEY": KEY, "KUCOIN_API_SECRET": SECRET, "KUCOIN_PASSPHRASE": PASSPHRASE}
    ok = subprocess.run([sys.executable, "-m", "engine", "check", "kucoin", "--config", str(cdir), "--json"],
                        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    report = json.loads(ok.stdout)
    assert report["passed"] == 4 and SECRET not in ok.stdout and PASSPHRASE not in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "engine", "check", "kucoin", "--config", str(cdir)], cwd=ROOT,
                         env={**env, "KUCOIN_PASSPHRASE": "wrong"}, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 1 and "2 passed, 2 failed" in bad.stdout
    assert "could not verify the passphrase" in bad.stdout
