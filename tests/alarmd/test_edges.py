"""The three edges of the alarm semantics: a repeated NO DATA, a flexible downtime over a
problem that is already there, and ``for`` when a pending warning turns critical."""

from __future__ import annotations

from alarmd.alarmstate import AlarmState, Severity
from alarmd.message import group
from alarmd.transition import Event, EventKind
from tests.alarmd.daemon_env import METRIC, STEP, Environment
from tests.alarmd.scenario import Scenario, kinds, rule_from_yaml


def title(event: Event) -> str:
    [message] = group([event], "https://rexmon.example")
    return message.title


ESCALATING = """
  - name: load
    match: host.*.load.5m
    warning: "> 10"
    critical: "> 20"
    for: 4m
    receivers: [oncall]
"""


def test_a_repeated_no_data_keeps_its_words() -> None:
    rule = rule_from_yaml(
        "  - name: load\n    match: host.*.load.5m\n    critical: '> 10'\n"
        "    nodata: 3m\n    repeat: 10m\n    receivers: [oncall]\n"
    )
    alarm = Scenario(rule)
    alarm.run(1, 1)
    events = alarm.run(*[None] * 16)
    assert kinds(events) == [EventKind.STALE, EventKind.REPEAT]
    titles = [title(event) for event in events]
    assert titles == [
        f"[rexmon] NO DATA: load on {alarm.metric}",
        f"[rexmon] STILL NO DATA: load on {alarm.metric}",
    ]
    assert "STILL FIRING" not in group(events[1:], "https://x")[0].body
    assert "no data for 180s" in group(events[1:], "https://x")[0].body


def test_a_repeated_firing_alarm_is_still_firing() -> None:
    rule = rule_from_yaml(
        "  - name: load\n    match: host.*.load.5m\n    critical: '> 10'\n"
        "    repeat: 10m\n    receivers: [oncall]\n"
    )
    alarm = Scenario(rule)
    events = alarm.run(*[20] * 12)
    assert title(events[-1]) == (f"[rexmon] CRITICAL STILL FIRING: load on {alarm.metric}")


def test_a_pending_warning_that_turns_critical_waits_for_each_level() -> None:
    alarm = Scenario(rule_from_yaml(ESCALATING))
    assert alarm.run(15) == []  # warning, pending since this minute
    assert alarm.run(25, 25, 25) == []  # critical from minute 2: nothing held 4m yet
    assert alarm.record.state is AlarmState.PENDING
    [warning] = alarm.run(25)  # minute 5: the warning has held 4m, the critical 3m
    assert (warning.kind, warning.severity) == (EventKind.FIRING, Severity.WARNING)
    [critical] = alarm.run(25)  # minute 6: the critical has held 4m itself
    assert (critical.kind, critical.severity) == (EventKind.ESCALATED, Severity.CRITICAL)


def test_a_critical_value_from_the_start_fires_critical_after_for() -> None:
    alarm = Scenario(rule_from_yaml(ESCALATING))
    assert alarm.run(25, 25, 25, 25) == []
    [fired] = alarm.run(25)
    assert (fired.kind, fired.severity) == (EventKind.FIRING, Severity.CRITICAL)


def test_a_critical_value_that_drops_back_before_for_fires_only_the_warning() -> None:
    alarm = Scenario(rule_from_yaml(ESCALATING))
    alarm.run(15, 15, 25, 25)
    [warning] = alarm.run(15)  # minute 5: the warning has held 4m
    assert (warning.kind, warning.severity) == (EventKind.FIRING, Severity.WARNING)
    assert alarm.run(15, 15, 15) == []


def test_a_fired_warning_that_turns_critical_still_waits_for_the_critical() -> None:
    alarm = Scenario(rule_from_yaml(ESCALATING))
    events = alarm.run(15, 15, 15, 15, 15)
    assert kinds(events) == [EventKind.FIRING]
    assert alarm.run(25, 25, 25, 25) == []
    [escalated] = alarm.run(25)
    assert escalated.kind is EventKind.ESCALATED


def test_a_flexible_downtime_filed_over_a_firing_alarm_triggers_at_once(
    env: Environment,
) -> None:
    env.run(1, 12)
    assert env.inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]
    now = env.clock.now
    downtime_id = env.downtime(now, now + 30 * STEP, flexible=True, duration=5 * STEP)
    env.step(1)  # recovered in the first cycle of the downtime: muted, told at its end
    assert env.downtimes.get(downtime_id).triggered == env.clock.now
    assert env.store.record("load", METRIC).muted  # type: ignore[union-attr]
    env.run(1, 1, 1)
    assert len(env.inbox.bodies) == 1
    env.run(1, 1)  # five minutes after the trigger the downtime is over
    assert env.inbox.titles[1:] == ["[rexmon] RESOLVED: load on host.n01.load"]


def test_a_flexible_downtime_over_a_problem_that_lasts_tells_once_at_its_end(
    env: Environment,
) -> None:
    env.run(1, 12)
    now = env.clock.now
    downtime_id = env.downtime(now, now + 30 * STEP, flexible=True, duration=5 * STEP)
    env.run(12, 12, 12, 12)
    assert env.downtimes.get(downtime_id).triggered == now + STEP
    assert len(env.inbox.bodies) == 1
    env.run(12, 12)
    assert env.inbox.titles[1:] == ["[rexmon] CRITICAL STILL FIRING: load on host.n01.load"]
    env.run(12, 12)
    assert len(env.inbox.bodies) == 2


def test_a_flexible_window_that_opens_over_a_pending_problem_triggers_then(
    env: Environment,
) -> None:
    now = env.clock.now
    downtime_id = env.downtime(now + 3 * STEP, now + 30 * STEP, flexible=True, duration=5 * STEP)
    env.run(12, 12)  # a problem before the window opens: it fires (no for)
    assert env.downtimes.get(downtime_id).triggered is None
    env.step(12)  # the window opens over it
    assert env.downtimes.get(downtime_id).triggered == now + 3 * STEP
