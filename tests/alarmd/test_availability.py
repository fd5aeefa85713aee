from __future__ import annotations

from alarmd.alarmstate import AlarmState
from alarmd.availability import Change, availability, merge_windows

OK, FIRING, STALE, PENDING = AlarmState.OK, AlarmState.FIRING, AlarmState.STALE, AlarmState.PENDING


def test_planned_downtime_is_excluded_and_the_rest_counted() -> None:
    # 0..100: ok; 100..200 firing, of which 120..160 in planned downtime; ok from 200.
    result = availability(
        "svc.web.up",
        0,
        1000,
        {"r": OK},
        [Change("r", 100, FIRING), Change("r", 200, OK)],
        [(120, 160)],
    )
    assert result.down_seconds == 60
    assert result.excluded_seconds == 40
    assert result.up_seconds == 900
    assert result.ratio == 900 / 960


def test_any_alarm_down_makes_the_metric_down_and_stale_counts_as_down() -> None:
    result = availability(
        "m.x",
        0,
        100,
        {"a": OK, "b": OK},
        [
            Change("a", 10, PENDING),
            Change("b", 20, FIRING),
            Change("b", 30, OK),
            Change("a", 50, STALE),
            Change("a", 70, OK),
        ],
        [],
    )
    assert result.down_seconds == 10 + 20
    assert result.up_seconds == 70


def test_nothing_known_is_no_information_not_a_perfect_score() -> None:
    result = availability("m.x", 0, 100, {}, [], [])
    assert result.unknown_seconds == 100 and result.ratio is None
    late = availability("m.x", 0, 100, {}, [Change("r", 40, OK), Change("r", 90, FIRING)], [])
    assert late.unknown_seconds == 40 and late.up_seconds == 50 and late.down_seconds == 10


def test_windows_are_clipped_and_merged() -> None:
    assert merge_windows([(50, 80), (-10, 10), (70, 120), (200, 300)], 0, 100) == [
        (0, 10),
        (50, 100),
    ]
