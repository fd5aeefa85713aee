"""Nagios and Munin threshold ranges: parsed once, decided in one place."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rexmon.errors import InvalidThreshold
from rexmon.thresholds import Limits, Range, limits_from_json, parse_munin_range, parse_range


@pytest.mark.parametrize(
    ("text", "alerting", "fine"),
    [
        ("10", [-1, 10.5, 11], [0, 5, 10]),
        ("10:", [-5, 9.99], [10, 1e9]),
        ("~:10", [10.01, 1e9], [-1e9, 0, 10]),
        ("10:20", [9, 21], [10, 15, 20]),
        ("@10:20", [10, 15, 20], [9, 21]),
        ("-5:-1", [0, -6], [-5, -1]),
        ("1.5e1", [16], [15]),
    ],
)
def test_every_form_of_the_plugin_guidelines_alerts_where_they_say(
    text: str, alerting: list[float], fine: list[float]
) -> None:
    threshold = parse_range(text)
    assert [threshold.alerts(v) for v in alerting] == [True] * len(alerting)
    assert [threshold.alerts(v) for v in fine] == [False] * len(fine)


@pytest.mark.parametrize("text", ["10", "10:", "~:10", "10:20", "@10:20", "@~:0", "0.5:2.25"])
def test_a_range_written_back_reads_as_the_same_range(text: str) -> None:
    threshold = parse_range(text)
    assert parse_range(threshold.to_text()) == threshold
    assert threshold.to_text() == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a range"),
        ("abc", "'abc' is not a number"),
        ("20:10", "above its end"),
        ("inf", "open end"),
        ("nan:", "open end"),
        ("1" * 100, "expected a range"),
    ],
)
def test_a_range_that_is_not_one_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidThreshold, match=message):
        parse_range(text)


def test_munin_ranges_alert_outside_and_a_plain_number_is_a_maximum() -> None:
    assert parse_munin_range("92") == Range(-math.inf, 92.0)
    assert parse_munin_range("92").alerts(-5) is False
    assert parse_range("92").alerts(-5) is True  # the Nagios form differs here
    assert parse_munin_range("5:") == Range(5.0, math.inf)
    assert parse_munin_range(":8") == Range(-math.inf, 8.0)
    assert parse_munin_range("1:8").alerts(9) is True


def test_limits_scale_to_base_units_and_go_through_json() -> None:
    limits = Limits(parse_range("80"), parse_range("@90:100"), 0.0, 100.0).scaled(0.01)
    assert limits.warn == Range(0.0, 0.8)
    document = limits.to_json()
    assert document == {"warn": "0.8", "crit": "@0.9:1", "min": 0.0, "max": 1.0}
    assert limits_from_json(document, "x") == limits
    assert not Limits()


def test_limits_from_json_name_the_bad_field() -> None:
    with pytest.raises(InvalidThreshold, match=r"perfdata\[3\]\.crit: .*above its end"):
        limits_from_json({"crit": "5:1"}, "perfdata[3]")
    with pytest.raises(InvalidThreshold, match=r"p\.max: expected a finite number"):
        limits_from_json({"max": float("inf")}, "p")
    with pytest.raises(InvalidThreshold, match=r"p\.min"):
        limits_from_json({"min": True}, "p")


finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@given(finite, finite, st.booleans(), st.booleans(), st.booleans())
def test_any_range_written_back_reads_as_itself(
    a: float, b: float, inside: bool, open_start: bool, open_end: bool
) -> None:
    start, end = sorted((a, b))
    threshold = Range(-math.inf if open_start else start, math.inf if open_end else end, inside)
    assert parse_range(threshold.to_text()) == threshold
