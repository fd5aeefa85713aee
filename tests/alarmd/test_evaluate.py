from __future__ import annotations

from alarmd.alarmstate import Severity
from alarmd.evaluate import evaluate, level
from alarmd.rules import Rule
from tests.alarmd.scenario import rule_from_yaml

NOW = 1_800_000_000.0
STEP = 60


def series(*values: float | None) -> list[tuple[float, float | None]]:
    """Values one step apart, the last one at NOW."""
    return [(NOW - STEP * (len(values) - 1 - i), v) for i, v in enumerate(values)]


def rule(condition: str, extra: str = "") -> Rule:
    return rule_from_yaml(
        f'  - name: r\n    match: a.*\n    critical: "{condition}"\n    receivers: oncall\n' + extra
    )


def critical_value(condition: str, *values: float | None) -> float:
    observation = evaluate(rule(condition), "a.b", series(*values), NOW, STEP)
    assert not observation.stale, observation.stale_reason
    return observation.checks[0].value


def test_window_functions_use_only_the_points_inside_the_window() -> None:
    assert critical_value("> 1", 1, 2, 3) == 3
    assert critical_value("avg(3m) > 1", 100, 1, 2, 3) == 2
    assert critical_value("min(2m) > 1", 0, 5, 7) == 5
    assert critical_value("max(5m) > 1", 9, None, 1, 2) == 9
    assert critical_value("avg(2m) > 1", 4, None, 6) == 6


def test_rate_is_the_per_second_increase_of_a_counter_across_resets() -> None:
    assert critical_value("rate(5m) > 1", 0, 60, 120, 180) == 1.0
    # 100 -> 160 (+60), reset to 30 (+30 since the reset), 30 -> 90 (+60): 150 in 180s
    assert critical_value("rate(10m) > 1", 100, 160, 30, 90) == 150 / 180


def test_no_recent_data_is_stale_after_a_few_steps_by_default() -> None:
    r = rule("> 1")
    fresh = evaluate(r, "a.b", [(NOW - 3 * STEP, 5.0)], NOW, STEP)
    assert not fresh.stale
    old = evaluate(r, "a.b", [(NOW - 3 * STEP - 1, 5.0)], NOW, STEP)
    assert old.stale_reason == "no data for 180s"
    assert old.last_value == 5.0
    empty = evaluate(r, "a.b", series(None, None), NOW, STEP)
    assert empty.stale and empty.last_value is None


def test_an_explicit_nodata_timeout_overrides_the_steps() -> None:
    r = rule("> 1", "    nodata: 10m\n")
    observation = evaluate(r, "a.b", [(NOW - 500, 5.0)], NOW, STEP)
    assert not observation.stale


def test_a_rate_without_two_points_is_not_enough_data() -> None:
    observation = evaluate(rule("rate(5m) > 1"), "a.b", series(4), NOW, STEP)
    assert observation.stale_reason == "not enough data for rate(5m)"


def test_level_applies_hysteresis_against_the_previous_level() -> None:
    r = rule_from_yaml(
        '  - name: r\n    match: a.*\n    warning: "> 10"\n    critical: "> 20"\n'
        '    clear: {warning: "< 8", critical: "< 18"}\n'
    )
    observation = evaluate(r, "a.b", series(19), NOW, STEP)
    assert level(observation, None)[0] is Severity.WARNING
    assert level(observation, Severity.CRITICAL)[0] is Severity.CRITICAL
    observation = evaluate(r, "a.b", series(9), NOW, STEP)
    assert level(observation, None)[0] is None
    assert level(observation, Severity.WARNING)[0] is Severity.WARNING
    assert level(observation, Severity.CRITICAL)[0] is Severity.WARNING


def test_lookback_covers_the_longest_window_and_the_nodata_timeout() -> None:
    r = rule("avg(15m) > 1")
    assert r.lookback(STEP) == 900 + 180 + 60
