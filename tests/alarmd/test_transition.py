from __future__ import annotations

import json

import pytest

from alarmd.alarmstate import AlarmState, Severity, worst, worst_severity
from alarmd.errors import NotAcknowledgeable
from alarmd.record import acknowledge, record_from_dict, record_to_dict
from alarmd.transition import EventKind, transition
from downtime.model import Effect
from tests.alarmd.scenario import STEP, Scenario, kinds, rule_from_yaml

MUTE = Effect.MUTE
SKIP = Effect.SKIP
LABEL = Effect.LABEL

LOAD = """\
  - name: load
    match: host.*.load.5m
    warning: "> 10"
    critical: "> 20"
    receivers: oncall
"""


def load_rule(extra: str = "") -> Scenario:
    return Scenario(rule_from_yaml(LOAD + extra))


def test_crossing_a_threshold_fires_and_clearing_it_resolves_then_goes_ok() -> None:
    alarm = load_rule()
    assert alarm.run(5, 5) == []
    [event] = alarm.tick(15)
    assert (event.kind, event.severity, event.value) == (EventKind.FIRING, Severity.WARNING, 15)
    assert event.threshold == "warning: > 10"
    assert event.receivers == ("oncall",)
    assert alarm.record.state is AlarmState.FIRING
    [event] = alarm.tick(5)
    assert event.kind is EventKind.RESOLVED
    assert alarm.record.state is AlarmState.RESOLVED
    assert alarm.tick(5) == []
    assert alarm.record.state is AlarmState.OK


def test_for_keeps_an_alarm_pending_until_the_condition_held_long_enough() -> None:
    alarm = load_rule("    for: 3m\n")
    assert alarm.run(15, 15, 15) == []
    assert alarm.record.state is AlarmState.PENDING
    assert alarm.record.severity is Severity.WARNING
    [event] = alarm.tick(15)
    assert event.kind is EventKind.FIRING
    assert event.since == alarm.now


def test_a_short_blip_shorter_than_for_notifies_nothing() -> None:
    alarm = load_rule("    for: 3m\n")
    assert alarm.run(15, 15, 5, 15, 15, 5) == []
    assert alarm.record.state is AlarmState.OK


def test_a_clear_condition_keeps_a_hovering_value_from_flapping() -> None:
    alarm = load_rule('    clear: "< 8"\n')
    assert kinds(alarm.run(11, 9.9, 10.5, 9, 10.2, 9.5)) == [EventKind.FIRING]
    assert alarm.record.state is AlarmState.FIRING
    assert kinds(alarm.run(7)) == [EventKind.RESOLVED]


def test_without_a_clear_condition_the_same_values_fire_and_resolve_each_time() -> None:
    alarm = load_rule()
    found = kinds(alarm.run(11, 9.9, 10.5))
    assert found == [EventKind.FIRING, EventKind.RESOLVED, EventKind.FIRING]


def test_warning_escalates_to_critical_and_de_escalates_back() -> None:
    alarm = load_rule()
    found = alarm.run(15, 25, 15, 5)
    assert kinds(found) == [
        EventKind.FIRING,
        EventKind.ESCALATED,
        EventKind.DEESCALATED,
        EventKind.RESOLVED,
    ]
    assert [event.severity for event in found[:3]] == [
        Severity.WARNING,
        Severity.CRITICAL,
        Severity.WARNING,
    ]
    assert found[1].threshold == "critical: > 20"


def test_escalation_also_waits_for_the_for_duration() -> None:
    alarm = load_rule("    for: 2m\n")
    assert kinds(alarm.run(15, 15, 15)) == [EventKind.FIRING]
    assert alarm.run(25, 25) == []
    assert alarm.record.severity is Severity.WARNING
    assert kinds(alarm.run(25)) == [EventKind.ESCALATED]


def test_missing_data_makes_a_firing_alarm_stale_and_never_resolves_it() -> None:
    alarm = load_rule()
    assert kinds(alarm.run(15)) == [EventKind.FIRING]
    assert alarm.run(None, None, None) == []  # nodata defaults to 3 steps
    [event] = alarm.tick(None)
    assert event.kind is EventKind.STALE
    assert event.note == "was firing warning"
    assert alarm.record.state is AlarmState.STALE
    assert alarm.record.severity is Severity.WARNING
    assert alarm.run(None, None) == []
    assert kinds(alarm.run(15)) == [EventKind.FIRING]
    assert kinds(alarm.run(5)) == [EventKind.RESOLVED]


def test_a_stale_alarm_that_was_firing_fires_again_at_once_when_data_returns() -> None:
    alarm = load_rule("    for: 5m\n    nodata: 2m\n")
    alarm.run(*[15] * 6)
    assert alarm.record.state is AlarmState.FIRING
    alarm.run(None, None, None)
    assert alarm.record.state is AlarmState.STALE
    [event] = alarm.tick(15)  # no new 5m wait: it was firing before the gap
    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.WARNING)


def test_an_alarm_without_any_data_is_stale() -> None:
    alarm = load_rule()
    [event] = alarm.tick(None)
    assert event.kind is EventKind.STALE
    assert event.value is None


def test_repeats_are_sent_at_the_repeat_interval_while_firing() -> None:
    alarm = load_rule("    repeat: 3m\n")
    alarm.run(15)
    found = alarm.run(*[15] * 6)
    assert kinds(found) == [EventKind.REPEAT, EventKind.REPEAT]
    assert found[0].at == alarm.now - 3 * STEP


def test_an_acknowledgement_stops_repeats_but_not_escalation_or_recovery() -> None:
    alarm = load_rule("    repeat: 2m\n")
    alarm.run(15)
    alarm.record = acknowledge(alarm.record, "alice", alarm.now, comment="on it")
    assert alarm.run(15, 15, 15, 15, 15) == []
    [event] = alarm.tick(25)
    assert (event.kind, event.acked) == (EventKind.ESCALATED, True)
    [event] = alarm.tick(5)
    assert event.kind is EventKind.RESOLVED
    assert alarm.record.ack is None


def test_an_acknowledgement_until_a_time_lets_repeats_resume_after_it() -> None:
    alarm = load_rule("    repeat: 2m\n")
    alarm.run(15)
    alarm.record = acknowledge(alarm.record, "bob", alarm.now, until=alarm.now + 5 * STEP)
    assert alarm.run(15, 15, 15, 15) == []
    assert kinds(alarm.run(15, 15)) == [EventKind.REPEAT]


def test_the_acknowledgement_is_cleared_when_the_alarm_clears() -> None:
    alarm = load_rule("    repeat: 2m\n")
    alarm.run(15)
    alarm.record = acknowledge(alarm.record, "bob", alarm.now)
    alarm.run(5, 15)
    assert alarm.record.ack is None
    assert kinds(alarm.run(15, 15)) == [EventKind.REPEAT]


def test_only_a_problem_can_be_acknowledged() -> None:
    alarm = load_rule()
    alarm.run(5)
    with pytest.raises(NotAcknowledgeable, match="is ok, not a problem"):
        acknowledge(alarm.record, "carol", alarm.now)


def test_flapping_is_notified_once_and_then_holds_back_notifications() -> None:
    alarm = load_rule("    flapping: {changes: 4, window: 10m}\n")
    found = alarm.run(15, 5, 15, 5)
    assert kinds(found) == [
        EventKind.FIRING,
        EventKind.RESOLVED,
        EventKind.FIRING,
        EventKind.FLAPPING,
    ]
    assert alarm.record.flapping
    assert alarm.run(15, 5, 15, 5, 15) == []
    assert kinds(alarm.run(*[15] * 10)) == [EventKind.REMINDER]
    assert not alarm.record.flapping
    assert alarm.events[-1].note == "still firing after it stopped flapping"


def test_flapping_that_calms_down_in_the_ok_state_sends_the_recovery() -> None:
    alarm = load_rule("    flapping: {changes: 4, window: 10m}\n")
    alarm.run(15, 5, 15, 15, 5, 15)
    assert alarm.record.flapping
    assert kinds(alarm.run(*[5] * 10)) == [EventKind.RESOLVED]


def test_a_mute_downtime_starting_mid_alarm_silences_it_and_its_end_notifies_at_once() -> None:
    alarm = load_rule("    repeat: 1h\n")
    assert kinds(alarm.run(15)) == [EventKind.FIRING]
    assert alarm.run(15, 25, 15, effect=MUTE) == []
    assert alarm.record.state is AlarmState.FIRING
    assert alarm.record.shown_state is AlarmState.SILENCED
    [event] = alarm.tick(15)
    assert event.kind is EventKind.REMINDER
    assert event.note == "still firing after the downtime ended"
    assert alarm.record.shown_state is AlarmState.FIRING


def test_a_problem_that_cleared_inside_a_mute_downtime_gets_its_recovery_when_it_ends() -> None:
    alarm = load_rule()
    alarm.run(15)
    assert alarm.run(15, 5, 5, effect=MUTE) == []
    assert alarm.record.state is AlarmState.OK
    assert kinds(alarm.run(5)) == [EventKind.RESOLVED]
    assert alarm.run(5) == []


def test_a_problem_that_began_and_ended_inside_a_mute_downtime_is_never_notified() -> None:
    alarm = load_rule()
    alarm.run(5)
    assert alarm.run(15, 25, 5, effect=MUTE) == []
    assert alarm.run(5, 5) == []


def test_a_problem_that_began_inside_a_mute_downtime_is_notified_when_it_ends() -> None:
    alarm = load_rule()
    alarm.run(5)
    assert alarm.run(5, 25, effect=MUTE) == []
    [event] = alarm.tick(25)
    assert (event.kind, event.severity) == (EventKind.FIRING, Severity.CRITICAL)


def test_escalation_inside_a_mute_downtime_is_notified_when_it_ends() -> None:
    alarm = load_rule()
    alarm.run(15)
    assert alarm.run(25, effect=MUTE) == []
    assert kinds(alarm.run(25)) == [EventKind.ESCALATED]


def test_a_skip_downtime_does_not_evaluate_so_missing_data_is_not_stale() -> None:
    alarm = load_rule()
    alarm.run(15)
    before = alarm.record
    assert alarm.run(None, None, None, None, None, None, effect=SKIP) == []
    assert alarm.record.state is before.state
    assert alarm.record.shown_state is AlarmState.SILENCED
    assert kinds(alarm.run(15)) == [EventKind.REMINDER]


def test_a_label_downtime_changes_nothing() -> None:
    labelled, plain = load_rule("    repeat: 2m\n"), load_rule("    repeat: 2m\n")
    values = (5, 15, 15, 15, 25, None, None, None, None, 5, 5)
    for value in values:
        assert labelled.tick(value, LABEL) == plain.tick(value)
        assert labelled.record == plain.record


def test_a_transition_needs_an_observation_unless_the_downtime_skips() -> None:
    alarm = load_rule()
    with pytest.raises(ValueError, match="needs an observation"):
        transition(alarm.record, None, alarm.now, None)


def test_worst_orders_states_for_roll_ups() -> None:
    assert worst([]) is AlarmState.OK
    assert worst([AlarmState.OK, AlarmState.SILENCED, AlarmState.RESOLVED]) is AlarmState.SILENCED
    assert worst([AlarmState.PENDING, AlarmState.STALE]) is AlarmState.STALE
    assert worst([AlarmState.STALE, AlarmState.FIRING, AlarmState.OK]) is AlarmState.FIRING
    assert worst_severity([None, Severity.CRITICAL, Severity.WARNING]) is Severity.CRITICAL
    assert worst_severity([None]) is None


def test_a_record_survives_a_round_trip_through_json() -> None:
    alarm = load_rule("    flapping: {changes: 4, window: 10m}\n")
    alarm.run(15, 25)
    alarm.record = acknowledge(alarm.record, "dave", alarm.now, until=alarm.now + 60, comment="x")
    alarm.run(5, 15)
    stored = json.loads(json.dumps(record_to_dict(alarm.record)))
    assert record_from_dict(stored) == alarm.record
    assert stored["state"] == "firing" and stored["notified_state"] == "resolved"
    assert stored["flapping"] is True
