"""Shared fixtures: the recorded data beside the checkout, a SimClock, and the repository's default config."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

from engine.clock import SimClock
from engine.config import AppConfig, load_config

REPO_CONFIG = Path(__file__).resolve().parents[1] / "config" / "config.yaml"
SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_file(relative: str) -> str:
    """Path of a recorded data file under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"recorded data {path} is absent (../shared/data is beside every checkout and CI run)")
    return str(path)


@pytest.fixture(autouse=True)
def _one_site_packages_on_sys_path() -> None:
    """ccxt's structure validators (``ccxt/test/...``) append site-packages to ``sys.path`` once per module they
    load (25 copies); Streamlit then scans every installed package 25 times at each AppTest run (2.6 s -> 9 s a
    page). Keep each path once."""
    if len(sys.path) != len(set(sys.path)):
        seen: set[str] = set()
        sys.path[:] = [p for p in sys.path if not (p in seen or seen.add(p))]


@pytest.fixture(autouse=True, scope="session")
def _capture_cache_outside_the_checkout(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Parsed captures are cached for the session in a temporary folder, not under the checkout's data/."""
    os.environ["MM_CACHE_DIR"] = str(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def clock() -> SimClock:
    return SimClock()


@pytest.fixture
def config(tmp_path: Path) -> AppConfig:
    """The repository's config.yaml alone (no overrides, no environment)."""
    d = tmp_path / "config"
    d.mkdir()
    shutil.copy(REPO_CONFIG, d / "config.yaml")
    return load_config(d, env={})
