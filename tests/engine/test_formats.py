"""Numbers as an operator reads them (engine/formats.py)."""

from __future__ import annotations

from engine.formats import amount, decimals_for, fixed, price, round_to


def test_the_markets_own_decimals_and_thousands_separators():
    assert price(64659.65, 0.01) == "64,659.65" and price(0.123456, 0.0001) == "0.1235"
    assert amount(0.00004, 0.00001) == "0.00004" and amount(1250.0, 1.0) == "1,250"
    assert decimals_for(0.5) == 1 and decimals_for(1) == 0 and decimals_for(None) == 8


def test_never_an_exponent_never_minus_zero():
    assert "e" not in amount(1e-7) and amount(1e-7) == "0.0000001"
    assert fixed(-0.00001, 4, signed=True) == "0.0000" and fixed(-0.0, 2) == "0.00"
    assert round_to(499.91648000000004, None) == 499.91648


def test_iso8601_agrees_with_the_standard_library_to_the_millisecond():
    import random
    from datetime import UTC, datetime

    from engine.clock import iso8601

    rng = random.Random(7)
    for ms in [0, 86_399_999, 951_782_400_000, 1_700_000_000_999] + [rng.randrange(0, 4_102_444_800_000)
                                                                      for _ in range(2_000)]:
        expected = datetime.fromtimestamp(ms // 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
        assert iso8601(ms) == expected == iso8601(ms) and iso8601(float(ms)) == expected  # twice: the last is kept
