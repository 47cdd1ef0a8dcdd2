"""The console in a real browser: Playwright drives Debian's Chromium against `streamlit run app.py`."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.console_server import start_console

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PASSWORD = "browser-test-password"
PAGES = [("Dashboard", "dashboard"), ("Positions & orders", "positions"), ("Trade history", "trades"),
         ("Risk controls", "risk"), ("Alerts & logs", "alerts"), ("Exchange connections", "exchanges"),
         ("KuCoin tester", "kucoin"), ("Strategies", "strategies"), ("Backtest lab", "lab"),
         ("Trading settings", "settings")]


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[str]:
    """A console server on 127.0.0.1 with its own config, quoting tight so fills come fast; stopped afterwards."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    work = tmp_path_factory.mktemp("console")
    from tests.test_app import console_config

    cdir = console_config(work, autostart=True)
    cfg = json.loads((cdir / "config.json").read_text())
    cfg["strategy"] = {"spread_bps": 2, "min_spread_bps": 1, "fee_aware": False}
    (cdir / "config.json").write_text(json.dumps(cfg))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MM_CONFIG_DIR": str(cdir), "MM_CONSOLE_PASSWORD": PASSWORD,
           "MM_SESSION_KEY_FILE": str(work / "session.key")}
    try:
        proc, url = start_console(env, work)
    except RuntimeError as exc:
        pytest.fail(str(exc))
    try:
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="module")
def browser(console):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def login(browser, url: str):
    from playwright.sync_api import expect

    page = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True).new_page()
    page.goto(url)
    expect(page.get_by_text("Market maker console")).to_be_visible(timeout=30_000)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=30_000)
    return page


def open_page(page, title: str) -> None:
    from playwright.sync_api import expect

    page.get_by_role("link", name=title).click()
    heading = "KuCoin connection tester" if title == "KuCoin tester" else title
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=30_000)
    page.wait_for_timeout(1_000)
    assert page.locator('[data-testid="stException"]').count() == 0, f"{title} shows an exception"


def test_every_page_and_the_main_actions_in_a_real_browser(browser, console, tmp_path):
    from playwright.sync_api import expect

    shots = Path(os.environ.get("MM_SCREENSHOT_DIR") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    gate = browser.new_context(viewport={"width": 1400, "height": 800}).new_page()
    gate.goto(console)
    expect(gate.get_by_label("Password", exact=True)).to_be_visible(timeout=30_000)
    gate.screenshot(path=str(shots / "login.png"))
    gate.context.close()
    page = login(browser, console)
    expect(page.get_by_text("RUNNING").first).to_be_visible(timeout=30_000)  # the console process trades
    page.wait_for_timeout(3_000)
    for title, name in PAGES:
        open_page(page, title)
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)

    open_page(page, "Risk controls")  # change the risk mode
    page.get_by_role("button", name="Use AGGRESSIVE", exact=True).click()
    expect(page.get_by_text("Risk mode is now AGGRESSIVE")).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Aggressive — current", exact=True)).to_be_visible()

    open_page(page, "Positions & orders")  # close a position (fills come within seconds at a 2 bps spread)
    deadline = time.monotonic() + 90
    close = page.get_by_role("button", name=re.compile(r"^Close [A-Z]+.USDT"))
    while close.count() == 0:
        assert time.monotonic() < deadline, "no position appeared in 90 s"
        page.wait_for_timeout(2_000)
        open_page(page, "Positions & orders")
    close.first.click()
    page.get_by_role("button", name=re.compile(r"^Yes, close ")).click()
    expect(page.get_by_text(re.compile(r"^(Close \S+: (sell|buy) |.*below the market's minimum)"))).to_be_visible(
        timeout=30_000)
    assert page.locator('[data-testid="stException"]').count() == 0

    open_page(page, "Trade history")  # download the CSV and read it
    with page.expect_download(timeout=30_000) as dl:
        page.get_by_role("button", name="Export CSV").click()
    content = Path(dl.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(content)))
    assert content.splitlines()[0] == ("time,exchange,symbol,side,price,amount,cost,fee,fee_currency,realized_pnl,"
                                       "spread_capture,order_id,client_order_id,trade_id")
    assert all(len(r["cost"].split(".")[-1]) <= 8 for r in rows)  # no float noise
    assert rows and all(r["time"].endswith("Z") and r["client_order_id"].startswith("mm-") for r in rows)
    page.context.close()

    phone = browser.new_context(viewport={"width": 390, "height": 844}, device_scale_factor=2,
                                is_mobile=True).new_page()  # the dashboard on a phone: titles clear of the toolbar
    phone.goto(console)
    phone.get_by_label("Password", exact=True).fill(PASSWORD)
    phone.get_by_role("button", name="Log in").click()
    expect(phone.get_by_role("heading", name="Dashboard")).to_be_visible(timeout=30_000)
    phone.wait_for_timeout(3_000)
    phone.screenshot(path=str(shots / "phone.png"), full_page=False)
    phone.context.close()


def test_the_backtest_lab_runs_a_backtest_while_other_pages_keep_working(browser, console, tmp_path):
    from playwright.sync_api import expect

    from tests.conftest import SHARED_DATA

    if not (SHARED_DATA / "binance-l2" / "spot" / "btcusdt_20240808.gz").is_file():
        pytest.skip("the recorded captures under ../shared/data are absent")
    shots = Path(os.environ.get("MM_SCREENSHOT_DIR") or tmp_path)
    page = login(browser, console)
    open_page(page, "Backtest lab")
    page.get_by_role("button", name="Run", exact=True).click()  # the default: BTC/USDT spot, two captures
    expect(page.get_by_text(re.compile(r"^Backtest: \d+%"))).to_be_visible(timeout=30_000)
    open_page(page, "Dashboard")  # the run is in its own process: the console answers meanwhile
    open_page(page, "Backtest lab")
    expect(page.get_by_text(re.compile(r"^Backtest finished in \d+ s; kept as run \d+"))).to_be_visible(
        timeout=120_000)
    expect(page.get_by_text("Net PnL", exact=True)).to_be_visible()
    expect(page.get_by_text("Markout 10 s", exact=True)).to_be_visible()
    page.wait_for_timeout(2_000)  # the charts draw
    assert page.locator('[data-testid="stException"]').count() == 0
    page.get_by_text("Net PnL", exact=True).scroll_into_view_if_needed()
    page.screenshot(path=str(shots / "lab.png"))
    page.context.close()


def test_two_browser_sessions_do_not_disturb_each_other(browser, console):
    from playwright.sync_api import expect

    first, second = login(browser, console), login(browser, console)
    open_page(first, "Trade history")
    open_page(second, "Risk controls")
    open_page(first, "Positions & orders")
    open_page(second, "Dashboard")
    for page in (first, second):  # one engine, the same state seen from both
        expect(page.get_by_text("RUNNING").first).to_be_visible(timeout=30_000)
        assert page.locator('[data-testid="stException"]').count() == 0
    third = browser.new_context().new_page()  # a new session is not logged in by the others
    third.goto(console)
    expect(third.get_by_label("Password", exact=True)).to_be_visible(timeout=30_000)
    for page in (first, second, third):
        page.context.close()


def test_a_refresh_keeps_the_login_and_a_deep_link_returns_to_its_page(browser, console):
    from playwright.sync_api import expect

    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{console}/risk")  # a deep link, not logged in
    expect(page.get_by_label("Password", exact=True)).to_be_visible(timeout=30_000)
    assert page.get_by_role("link", name="Dashboard").count() == 0  # no page list before the login
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Risk controls")).to_be_visible(timeout=30_000)  # back where it asked
    assert page.url.endswith("/risk")
    cookie = next(c for c in context.cookies() if c["name"] == "mm_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["expires"] > time.time() + 3_600
    page.reload()  # a refresh keeps the login
    expect(page.get_by_role("heading", name="Risk controls")).to_be_visible(timeout=30_000)
    assert page.get_by_label("Password", exact=True).count() == 0
    other = context.new_page()  # a new tab of the same browser is logged in too
    other.goto(f"{console}/positions")
    expect(other.get_by_role("heading", name="Positions & orders")).to_be_visible(timeout=30_000)
    context.clear_cookies()  # without the cookie (another browser), the password is asked again
    other.reload()
    expect(other.get_by_label("Password", exact=True)).to_be_visible(timeout=30_000)
    context.close()
