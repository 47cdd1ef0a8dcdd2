"""How typed numbers are read (ui/numbers.py) and how settings are reviewed (ui/settings_form.review)."""

from __future__ import annotations

import pytest

from engine.config import bounds
from ui.numbers import check, parse_number, plain
from ui.settings_form import NumberField, Switch, review


@pytest.mark.parametrize("text, value", [
    ("1.5", 1.5), ("1,5", 1.5), (",5", 0.5), ("-2", -2.0), ("12,3456", 12.3456), ("1,000.5", 1000.5),
    ("1,000,000", 1_000_000.0), ("1 000", 1000.0), (" 7 ", 7.0), ("+3", 3.0),
])
def test_numbers_are_read_as_meant(text, value):
    assert parse_number(text).value == pytest.approx(value)


def test_a_decimal_comma_says_how_it_was_read():
    assert "comma" in parse_number("1,5").note and parse_number("1.5").note == ""


@pytest.mark.parametrize("text, says", [
    ("1,500", "ambiguous: write 1.5 for a decimal or 1500 for a whole number"),
    ("1.000.000", "ambiguous"), ("1.500,5", "ambiguous"), ("abc", "is not a number"), ("", "is empty"),
    ("1e12", "without an exponent"), ("inf", "is not a number"), ("nan", "is not a number"),
])
def test_ambiguous_or_bad_text_is_refused_with_a_reason(text, says):
    p = parse_number(text)
    assert p.value is None and says in p.error


def test_a_field_holds_its_bound_and_names_itself():
    dd = bounds.BREAKER_THRESHOLDS["drawdown"]
    assert check("Drawdown (bps)", "1000000000000", dd).error == \
        "Drawdown (bps) = 1000000000000: must be at most 2,000"
    err = bounds.BREAKER_THRESHOLDS["error_rate"]
    assert check("Error rate (%)", "15", err, scale=100).value == pytest.approx(0.15)  # shown in %, stored a share
    assert "at most 100" in check("Error rate (%)", "150", err, scale=100).error
    assert "whole number" in check("Max open orders", "2.5", bounds.MAX_OPEN_ORDERS_PER_SYMBOL, whole=True).error


def test_plain_never_shows_an_exponent_or_float_noise():
    assert plain(1e-5) == "0.00001" and plain(499.91648000000004) == "499.91648" and plain(1e12) == "1000000000000"


def test_review_lists_what_changes_and_asks_before_a_protection_goes_off():
    fields = [NumberField("Volatility (%)", "risk.breakers.volatility.threshold", 5.0,
                          bounds.BREAKER_THRESHOLDS["volatility"])]
    switches = [Switch("drawdown breaker", "risk.breakers.drawdown.enabled", True, warn_off="no kill switch")]
    r = review(fields, {"risk.breakers.volatility.threshold": "1,5"}, switches,
               {"risk.breakers.drawdown.enabled": False})
    assert r.changes == {"risk": {"breakers": {"volatility": {"threshold": 1.5}, "drawdown": {"enabled": False}}}}
    assert r.lines[0].startswith("Volatility (%): 5 → 1.5") and r.dangers == ["drawdown breaker off: no kill switch"]
    same = review(fields, {"risk.breakers.volatility.threshold": "5"}, switches, {})
    assert same.changes == {} and same.lines == [] and same.errors == []
