"""The status roll-up and the host history strip as pure functions (no server)."""

from __future__ import annotations

from dataclasses import replace

from alarmd.alarmstate import AlarmState, Severity
from alarmd.record import acknowledge, new_record
from alarmd.statestore import TransitionRow
from web.status.hostpage import status_strip
from web.status.tree import MetricStatus, Status, build_groups, metric_status

NOW = 1_800_000_000


def item(metric: str, status: Status) -> MetricStatus:
    return MetricStatus(metric, status, NOW)


def test_one_critical_among_59_ok_metrics_does_not_rate_the_host_095() -> None:
    metrics = [item(f"host.n1.m{i}", Status.OK) for i in range(59)]
    metrics.append(item("host.n1.disk", Status.CRITICAL))
    (host_group,) = build_groups(metrics)
    (tile,) = host_group.hosts
    assert tile.status is Status.CRITICAL and tile.rating == 0.49
    warned = build_groups([*metrics[:59], item("host.n1.disk", Status.WARNING)])
    assert warned[0].hosts[0].rating == 0.79


def test_a_metric_without_any_alarm_record_is_not_checked_and_has_no_rating() -> None:
    unchecked = metric_status("host.n1.x", [], False, [], NOW, False, NOW)
    assert unchecked.status is Status.NOT_CHECKED and unchecked.rating is None
    old = metric_status("host.n1.x", [], False, [], NOW - 3600, True, NOW)
    assert old.status is Status.STALE
    (group,) = build_groups([unchecked])
    assert group.status is Status.NOT_CHECKED and group.rating is None


def test_an_acknowledged_firing_alarm_shows_acknowledged() -> None:
    firing = replace(
        new_record("r", "host.n1.x", NOW - 60), state=AlarmState.FIRING, severity=Severity.CRITICAL
    )
    acked = acknowledge(firing, "olivia", NOW - 10, comment="on it")
    assert metric_status("host.n1.x", [firing], True, [], NOW, False, NOW).status is Status.CRITICAL
    assert metric_status("host.n1.x", [acked], True, [], NOW, False, NOW).status is (
        Status.ACKNOWLEDGED
    )


def test_the_history_strip_replays_transitions_and_says_when_nothing_is_known() -> None:
    record = replace(
        new_record("r", "host.n1.x", NOW - 7200),
        state=AlarmState.FIRING,
        severity=Severity.CRITICAL,
        since=NOW - 1800,
    )
    history = [
        TransitionRow(
            "r", "host.n1.x", NOW - 1800, AlarmState.OK, AlarmState.FIRING, Severity.CRITICAL, 0.99
        ),  # fmt: skip
    ]
    strip = status_strip([record], history, NOW, 86400, 48)
    assert strip[-1].status is Status.CRITICAL  # the last half hour
    assert strip[-2].status is None  # a new alarm: nothing known before its first change
    strip = status_strip([record], history, NOW, 86400, 48, earlier={("r", "host.n1.x")})
    assert strip[-2].status is Status.OK and strip[0].status is Status.OK  # the state it left
    quiet = replace(record, state=AlarmState.OK, since=NOW - 3600)
    strip = status_strip([quiet], [], NOW, 86400, 48)
    assert strip[0].status is None and strip[-1].status is Status.OK
    assert status_strip([], [], NOW, 86400, 48)[10].status is None
