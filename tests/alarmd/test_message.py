from __future__ import annotations

from zoneinfo import ZoneInfo

from alarmd.alarmstate import AlarmState, Severity
from alarmd.message import graph_url, group
from alarmd.transition import Event, EventKind

AT = 1_800_000_000.0


def event(kind: EventKind, metric: str, receivers: tuple[str, ...], **extra: object) -> Event:
    fields: dict[str, object] = {
        "kind": kind,
        "rule": "disk-full",
        "metric": metric,
        "state": AlarmState.FIRING,
        "severity": Severity.CRITICAL,
        "value": 0.97,
        "threshold": "critical: > 0.95",
        "since": AT - 600,
        "at": AT,
        "receivers": receivers,
    }
    fields.update(extra)
    return Event(**fields)  # type: ignore[arg-type]


def test_alarms_of_one_pass_for_the_same_receiver_make_one_message() -> None:
    events = [
        event(EventKind.FIRING, "host.n01.disk.root.used_ratio", ("oncall", "chat")),
        event(EventKind.FIRING, "host.n02.disk.root.used_ratio", ("oncall",)),
        event(
            EventKind.RESOLVED,
            "host.n03.disk.root.used_ratio",
            ("oncall",),
            state=AlarmState.RESOLVED,
            severity=None,
            value=0.5,
            threshold="cleared: > 0.95 no longer holds",
        ),
    ]
    chat, oncall = group(events, "https://mon.example.org/", ZoneInfo("Europe/Zurich"))
    assert (chat.receiver, oncall.receiver) == ("chat", "oncall")
    assert chat.title == "[rexmon] CRITICAL FIRING: disk-full on host.n01.disk.root.used_ratio"
    assert oncall.title == "[rexmon] 2 CRITICAL FIRING, 1 RESOLVED"
    assert len(oncall.events) == 3
    assert oncall.notify_type == "failure"
    first = oncall.body.split("\n\n")[0].splitlines()
    assert first == [
        "CRITICAL FIRING: rule disk-full on host.n01.disk.root.used_ratio",
        "value: 0.97 (critical: > 0.95)",
        "firing since 2027-01-15T08:50:00+01:00",
        "https://mon.example.org/metric/host.n01.disk.root.used_ratio",
    ]
    assert "RESOLVED: rule disk-full on host.n03" in oncall.body


def test_a_recovery_alone_is_a_success_and_notes_and_acks_are_shown() -> None:
    [message] = group(
        [
            event(
                EventKind.RESOLVED,
                "a.b",
                ("x",),
                state=AlarmState.RESOLVED,
                severity=None,
                acked=True,
                note="hello",
                labels=(("team", "ops"),),
            )
        ],
        "http://h",
    )
    assert message.notify_type == "success"
    assert message.body.splitlines()[3:] == [
        "hello",
        "acknowledged",
        "labels: team=ops",
        "http://h/metric/a.b",
    ]


def test_a_stale_alarm_says_no_data_and_the_value_is_unknown() -> None:
    [message] = group(
        [
            event(
                EventKind.STALE,
                "a.b",
                ("x",),
                state=AlarmState.STALE,
                severity=None,
                value=None,
                threshold="no data for 180s",
            )
        ],
        "http://h",
    )
    assert message.title == "[rexmon] NO DATA: disk-full on a.b"
    assert "value: unknown (no data for 180s)" in message.body
    assert message.notify_type == "warning"


def test_events_without_receivers_make_no_message() -> None:
    assert group([event(EventKind.FIRING, "a.b", ())], "http://h") == []


def test_graph_links_point_at_the_metric_page() -> None:
    assert graph_url("http://h/", "host.n-1.cpu.user") == "http://h/metric/host.n-1.cpu.user"
