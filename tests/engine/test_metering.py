"""The request meter: the error rate over risk.error_window_s (not a hard-coded minute), the budget per minute."""

from __future__ import annotations

from engine.metering import RequestMeter


def test_the_error_rate_follows_the_configured_window():
    m = RequestMeter()
    for i in range(20):  # a burst of failures early on
        m.record(i * 100, 5.0, ok=False)
    for i in range(40):  # then a healthy half minute
        m.record(10_000 + i * 500, 5.0, ok=True)
    now = 30_000
    assert m.error_rate(now, 10) == 20 / 60  # the meter's minute sees the burst
    assert m.error_rate(now, 10, window_ms=10_000) == 0.0  # risk.error_window_s = 10: only the last 10 s
    assert m.error_rate(now, 10, window_ms=120_000) == 20 / 60
    for i in range(80):
        m.record(40_000 + i * 1_000, 5.0, ok=True)
    assert m.count(125_000) == 55  # the budget still counts one minute (calls at 65..119 s)
    assert m.error_rate(125_000, 10, window_ms=120_000) == 0.0  # the burst is older than two minutes
