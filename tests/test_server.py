"""`streamlit run app.py`: the engine starts at server boot, the password is generated and printed, SIGTERM stops."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

from sqlmodel import Session, select

from engine.config import load_config
from engine.store import SystemMetric, make_engine
from tests.console_server import start_console
from tests.test_app import console_config

ROOT = Path(__file__).resolve().parents[1]


def test_server_boot_starts_the_engine_and_prints_a_generated_password(tmp_path):
    cdir = console_config(tmp_path, autostart=True)
    env = {k: v for k, v in os.environ.items() if k != "MM_CONSOLE_PASSWORD"}
    env.update({"PYTHONPATH": str(ROOT), "MM_CONFIG_DIR": str(cdir)})
    proc, _ = start_console(env, tmp_path)  # healthy: no browser ever connects
    try:
        db = make_engine(load_config(cdir).database_url)
        deadline = time.monotonic() + 30
        while True:
            with Session(db) as s:
                if s.exec(select(SystemMetric).where(SystemMetric.state == "RUNNING")).first():
                    break  # the engine trades and records metrics before any browser session
            assert time.monotonic() < deadline, "the engine did not start at boot"
            time.sleep(0.5)
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    match = re.search(r"Console password \(none configured; set MM_CONSOLE_PASSWORD.*\): (\S+)", out)
    assert match and len(match.group(1)) >= 16  # random, never a known default
    assert "engine stopped" in out  # shutdown stops the engine (and so cancels its orders)
