"""Shared fixtures: the recorded data beside the checkout, and a SimClock."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.clock import SimClock

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


def shared_file(relative: str) -> str:
    """Path of a recorded data file under ../shared/data, or skip the test with the reason."""
    path = SHARED_DATA / relative
    if not path.is_file():
        pytest.skip(f"recorded data {path} is absent (../shared/data is beside every checkout and CI run)")
    return str(path)


@pytest.fixture
def clock() -> SimClock:
    return SimClock()
