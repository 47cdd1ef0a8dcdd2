"""The Ray path of a sweep: a local Ray (``ray.init(num_cpus=2)``) gives the same rows as the process pool.

CI installs the ``ray`` extra (requirements-ray.txt), so there this test always runs; elsewhere it is skipped when
ray is not installed."""

from __future__ import annotations

import os

import pytest

from engine import sweep
from tests.engine.test_backtest import moving_market

OPTIONS = {"balances": {"USDT": 100_000, "BTC": 100}}


@pytest.fixture
def local_ray(monkeypatch):
    if os.environ.get("CI"):
        import ray
    else:
        ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install -r requirements-ray.txt)")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, ignore_reinit_error=True)
    monkeypatch.setenv("RAY_ADDRESS", "local")
    yield ray
    ray.shutdown()


def test_a_sweep_on_ray_gets_the_same_rows_as_the_process_pool(tmp_path, local_ray, monkeypatch):
    from engine.lab.cluster import backend

    data = [moving_market(tmp_path)]
    points = sweep.grid({"spread_bps": [2, 10], "levels": [1, 3]})
    assert backend() == "ray"
    on_ray = sweep.sweep(data, points, workers=2, options=OPTIONS)
    monkeypatch.delenv("RAY_ADDRESS")
    assert backend() == "processes"
    on_pool = sweep.sweep(data, points, workers=2, options=OPTIONS)
    drop = {"wall_seconds"}
    assert [{k: v for k, v in r.items() if k not in drop} for r in on_ray] == \
        [{k: v for k, v in r.items() if k not in drop} for r in on_pool]
