from __future__ import annotations

import math

import pytest

from alarmd.threshold import Comparison, Function, Range, parse_condition


@pytest.mark.parametrize(
    ("text", "alerts", "quiet"),
    [
        ("> 90", [90.5, 1e9], [90, -1]),
        (">= 90", [90], [89.9]),
        ("< 0.1", [0.05, -3], [0.1]),
        ("<= 0", [0, -1], [0.1]),
        ("== 1", [1], [0, 2]),
        ("outside 10..20", [9.9, 20.1], [10, 15, 20]),
        ("80", [-0.1, 80.1], [0, 80]),  # Nagios: 0..80
        ("10:", [9.9], [10, 1e6]),
        ("~:10", [10.1], [-1e6, 10]),
        ("10:20", [9, 21], [10, 20]),
        ("@10:20", [10, 15, 20], [9.9, 20.1]),
        ("-5:5", [-5.1, 5.1], [-5, 0, 5]),
    ],
)
def test_conditions_alert_exactly_where_they_should(
    text: str, alerts: list[float], quiet: list[float]
) -> None:
    condition = parse_condition(text)
    assert all(condition.holds(value) for value in alerts)
    assert not any(condition.holds(value) for value in quiet)


def test_nagios_ranges_are_parsed_into_value_objects() -> None:
    assert parse_condition("~:10").test == Range(-math.inf, 10)
    assert parse_condition("@1:2").test == Range(1, 2, inside=True)
    assert parse_condition("5").test == Range(0, 5)
    assert parse_condition("5:").test == Range(5, math.inf)


def test_window_functions_are_parsed_with_their_durations() -> None:
    condition = parse_condition("avg(5m) > 90")
    assert condition.function == Function("avg", 300)
    assert condition.test == Comparison(">", 90)
    assert str(condition) == "avg(5m) > 90"
    assert parse_condition("rate(1h) >= 2.5").function == Function("rate", 3600)
    assert parse_condition("last > 1").function == Function()
    assert str(parse_condition("max(10m) outside 1..2")) == "max(10m) outside 1..2"
    assert str(parse_condition("@1:2")) == "@1:2"


def test_the_negation_is_the_opposite_condition() -> None:
    condition = parse_condition("> 90")
    assert condition.negation().holds(90)
    assert not condition.negation().holds(91)
    assert str(condition.negation()) == "not (> 90)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("high", "expected a condition like '> 90'"),
        ("avg > 3", r"avg needs a window, e.g. 'avg\(5m\)'"),
        ("last(5m) > 3", "last takes no window"),
        ("avg(soon) > 3", "expected a duration"),
        ("avg(0s) > 3", "longer than 0s"),
        ("20:10", "start > end"),
        ("outside 5..1", "is empty"),
        ("> inf", "expected a condition"),
        ("", "expected a condition"),
    ],
)
def test_bad_conditions_are_refused_with_a_helpful_message(text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_condition(text)
