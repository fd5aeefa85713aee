"""The alarm state machine: ``transition(record, observation, now, effect)`` — pure.

One :class:`~alarmd.record.AlarmRecord` per (rule, metric) is all the memory an alarm
has; the daemon stores it (every change BEFORE notifying) and passes it back next pass.
A change of level must hold for the rule's ``for`` duration before it fires (first
firing and escalation alike: a pending warning that turns critical fires as a warning
when the warning has held ``for``, and escalates when the critical condition itself has
held ``for``); de-escalation and recovery happen as soon as the clear condition holds.

Notifications follow one principle: ``notified_state``/``notified_severity`` remember
what the on-call people were last told. A problem (FIRING or STALE, with its severity)
that differs from it is announced; a return to OK after a problem was announced is a
recovery. Hence missing data is never a recovery, a problem that cleared inside a muted
downtime is announced as recovered when the downtime ends only if it was announced
before, and one that is still there is announced at once (not after ``repeat``).
While muted (planned downtime, effect MUTE) everything is evaluated and recorded but
nothing is sent; SKIP does not evaluate at all; LABEL changes nothing.

Flapping: the level (None/warning/critical) changing ``flapping.changes`` times within
``flapping.window`` marks the alarm flapping; that is announced once and other
notifications wait until it has calmed down (half as many changes in the window).
An acknowledgement stops repeats and reminders (until the problem clears or until its
``until`` time); escalation, de-escalation and recovery are still sent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from typing import Any

from alarmd.alarmstate import AlarmState, Severity
from alarmd.evaluate import Check, Observation, level
from alarmd.record import AlarmRecord
from alarmd.rules import Rule
from downtime.model import Effect


class EventKind(enum.Enum):
    FIRING = "firing"
    ESCALATED = "escalated"
    DEESCALATED = "deescalated"
    RESOLVED = "resolved"
    STALE = "stale"
    REPEAT = "repeat"
    REMINDER = "reminder"  # still a problem after a downtime or flapping ended
    FLAPPING = "flapping"


@dataclass(frozen=True, slots=True)
class Event:
    """Something to tell the rule's receivers."""

    kind: EventKind
    rule: str
    metric: str
    state: AlarmState
    severity: Severity | None
    value: float | None
    threshold: str
    since: float
    at: float
    receivers: tuple[str, ...] = ()
    labels: tuple[tuple[str, str], ...] = ()
    acked: bool = False
    note: str = ""
    detail: str = ""  # a check's state and text, told instead of the value
    on_check: bool = False  # ``metric`` names a check (a check rule's alarm)


def transition(
    previous: AlarmRecord, observation: Observation | None, now: float, effect: Effect | None
) -> tuple[AlarmRecord, list[Event]]:
    """The next record and the events to send, under the strongest ``effect`` of the
    downtimes covering the metric (None: no downtime). ``observation`` may be None only
    for SKIP."""
    if effect is Effect.SKIP:
        return replace(previous, muted=True), []
    if observation is None:
        raise ValueError("transition needs an observation unless the downtime effect is SKIP")
    record = _next_state(previous, observation, now)
    return _notify(previous, record, observation, now, muted=effect is Effect.MUTE)


def _next_state(rec: AlarmRecord, obs: Observation, now: float) -> AlarmRecord:
    rule = obs.rule
    was_firing = rec.state is AlarmState.FIRING or (
        rec.state is AlarmState.STALE and rec.severity is not None
    )
    if obs.stale:
        severity = rec.severity if was_firing else None
        problem_since = rec.problem_since if was_firing else None
        return _moved(
            rec, now, AlarmState.STALE, severity, value=rec.value, problem_since=problem_since
        )
    new_level, _ = level(obs, rec.level)
    level_since = rec.level_since if new_level == rec.level else now
    history = rec.flap_history + ((now,) if new_level != rec.level else ())
    history = tuple(t for t in history if t > now - rule.flapping.window)
    problem_since = rec.problem_since if rec.problem_since is not None else now
    if new_level is None:
        problem_since = None
    if new_level is None:
        state = AlarmState.RESOLVED if was_firing else AlarmState.OK
        severity = None
    elif was_firing and rec.severity is not None:
        escalating = new_level.rank > rec.severity.rank
        held = now - level_since >= rule.hold
        state, severity = AlarmState.FIRING, (new_level if not escalating or held else rec.severity)
    else:
        state, severity = _pending_or_firing(obs, new_level, level_since, problem_since, now)
    flapping = rec.flapping
    if not flapping and len(history) >= rule.flapping.changes:
        flapping = True
    elif flapping and len(history) <= rule.flapping.changes // 2:
        flapping = False
    return _moved(
        rec,
        now,
        state,
        severity,
        value=obs.last_value,
        problem_since=problem_since,
        level=new_level,
        level_since=level_since,
        flap_history=history,
        flapping=flapping,
        last_data_at=obs.last_time,
    )


def _pending_or_firing(
    obs: Observation,
    new_level: Severity,
    level_since: float,
    problem_since: float | None,
    now: float,
) -> tuple[AlarmState, Severity]:
    """A problem not announced yet: each level waits its own ``for``. A warning fires once
    some problem has lasted ``for`` (a critical value is over the warning line too); a
    critical one only once the critical condition itself has held that long, and until
    then the alarm fires as a warning if the warning condition holds."""
    hold = obs.rule.hold
    if new_level is Severity.CRITICAL:
        if now - level_since >= hold:
            return AlarmState.FIRING, new_level
        warned = any(c.severity is Severity.WARNING and c.fires for c in obs.checks)
        if warned and problem_since is not None and now - problem_since >= hold:
            return AlarmState.FIRING, Severity.WARNING
        return AlarmState.PENDING, new_level
    held = problem_since is not None and now - problem_since >= hold
    return (AlarmState.FIRING if held else AlarmState.PENDING), new_level


def _moved(
    rec: AlarmRecord,
    now: float,
    state: AlarmState,
    severity: Severity | None,
    value: float | None,
    problem_since: float | None,
    **more: Any,
) -> AlarmRecord:
    """``rec`` moved to ``state``/``severity``; ``more`` are further fields to set, in the
    same copy (one ``replace`` per pass: it is the cycle's largest cost at 100k)."""
    since = rec.since if (state, severity) == (rec.state, rec.severity) else now
    ack = rec.ack if state.is_problem and rec.ack is not None and rec.ack.active(now) else None
    return replace(
        rec,
        state=state,
        severity=severity,
        since=since,
        value=value,
        problem_since=problem_since,
        ack=ack,
        **more,
    )


def _notify(
    prev: AlarmRecord, rec: AlarmRecord, obs: Observation, now: float, muted: bool
) -> tuple[AlarmRecord, list[Event]]:
    if muted:
        return replace(rec, muted=True), []
    if rec.muted:
        rec = replace(rec, muted=False)
    if rec.flapping:
        if rec.flap_notified:
            return rec, []
        event = _event(EventKind.FLAPPING, rec, obs, now, note=_flap_note(obs.rule))
        return replace(rec, flap_notified=True), [event]
    if rec.flap_notified:
        rec = replace(rec, flap_notified=False)
    current = (rec.state, rec.severity) if rec.state.is_problem else None
    told = None
    if rec.notified_state is not None and rec.notified_state.is_problem:
        told = (rec.notified_state, rec.notified_severity)
    acked = rec.ack is not None
    if current != told:
        kind = _change_kind(current, told)
        told_state = rec.state if current is not None else AlarmState.RESOLVED
        rec = replace(
            rec, notified_state=told_state, notified_severity=rec.severity, last_notified_at=now
        )
        return rec, [_event(kind, rec, obs, now)]
    if current is None or acked:
        return rec, []
    if prev.muted or prev.flapping:
        why = "the downtime ended" if prev.muted else "it stopped flapping"
        note = f"still {rec.state.value} after {why}"
        return replace(rec, last_notified_at=now), [
            _event(EventKind.REMINDER, rec, obs, now, note=note)
        ]
    repeat = obs.rule.repeat
    last = rec.last_notified_at
    if repeat is not None and last is not None and now - last >= repeat:
        return replace(rec, last_notified_at=now), [_event(EventKind.REPEAT, rec, obs, now)]
    return rec, []


def _change_kind(
    current: tuple[AlarmState, Severity | None] | None,
    told: tuple[AlarmState, Severity | None] | None,
) -> EventKind:
    if current is None:
        return EventKind.RESOLVED
    state, severity = current
    if state is AlarmState.STALE:
        return EventKind.STALE
    if told is None or told[0] is not AlarmState.FIRING or told[1] is None or severity is None:
        return EventKind.FIRING
    return EventKind.ESCALATED if severity.rank > told[1].rank else EventKind.DEESCALATED


def _event(
    kind: EventKind, rec: AlarmRecord, obs: Observation, now: float, note: str = ""
) -> Event:
    rule = obs.rule
    check = _deciding_check(rec, obs)
    if obs.stale:
        value, threshold = obs.last_value, obs.stale_reason
        note = note or (f"was firing {rec.severity.value}" if rec.severity else "")
    elif check is None:
        value, threshold = obs.last_value, ""
    elif rec.state.is_problem or rec.state is AlarmState.PENDING:
        value, threshold = check.value, f"{check.severity.value}: {check.condition}"
    else:
        value, threshold = check.value, f"cleared: {check.condition} no longer holds"
    return Event(
        kind,
        rule.name,
        rec.metric,
        rec.state,
        rec.severity,
        value,
        threshold,
        rec.since,
        now,
        rule.receivers,
        rule.labels,
        rec.ack is not None,
        note,
        obs.detail,
        rule.check,
    )


def _deciding_check(rec: AlarmRecord, obs: Observation) -> Check | None:
    for check in obs.checks:
        if check.severity is rec.severity:
            return check
    return obs.checks[-1] if obs.checks else None


def _flap_note(rule: Rule) -> str:
    return (
        f"changed level {rule.flapping.changes} times within {rule.flapping.window}s;"
        " notifications wait until it calms down"
    )
