"""The console in a real browser: Playwright drives Debian's Chromium against `streamlit run app.py`."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def console(tmp_path_factory) -> Iterator[str]:
    """A console server on 127.0.0.1, started from a scratch working directory; stopped afterwards."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is not installed (apt-get install -y chromium; .ci/run does it)")
    work = tmp_path_factory.mktemp("console")
    from tests.test_app import console_config

    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MM_CONFIG_DIR": str(console_config(work, autostart=True))}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port)],
        cwd=work, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                    if r.read() == b"ok":
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read() if proc.poll() is not None else ""
                pytest.fail(f"streamlit did not become healthy on {url}: {out[-2000:]}")
            time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_console_runs_the_engine_and_shows_its_market(console):
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(console)
            page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
            expect(page.get_by_role("heading", name="Market maker")).to_be_visible(timeout=30_000)
            metrics = page.locator('[data-testid="stMetric"]')
            expect(metrics.first).to_contain_text("RUNNING", timeout=30_000)  # the console process trades
            expect(metrics.nth(2)).not_to_contain_text("Open orders0", timeout=15_000)
            expect(page.get_by_text("order book depth")).to_be_visible()
            first_update = page.get_by_text("Updated ").inner_text()
            page.wait_for_timeout(3_000)  # the live panel refreshes every 2 s
            assert page.get_by_text("Updated ").inner_text() != first_update

            page.get_by_test_id("stSelectbox").click()
            page.get_by_role("option", name="ETH/USDT").click()
            expect(page.get_by_text("ETH/USDT · order book depth")).to_be_visible(timeout=30_000)
            page.get_by_role("button", name="Stop (cancels orders)").click()
            expect(metrics.first).to_contain_text("STOPPED", timeout=30_000)
            expect(page.get_by_text("Press Start to quote")).to_be_visible()
        finally:
            browser.close()
