"""The persistent record of one (rule, metric) alarm, and acknowledgements.

An :class:`AlarmRecord` is all the memory an alarm has: :func:`alarmd.transition.transition`
turns one record into the next, and the daemon stores each one (every change BEFORE it
notifies) so that a restart neither forgets nor repeats. :func:`record_to_dict` and
:func:`record_from_dict` give a JSON-ready form for the database.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from operator import attrgetter
from typing import Any

from alarmd.alarmstate import AlarmState, Severity
from alarmd.errors import NotAcknowledgeable


@dataclass(frozen=True, slots=True)
class Ack:
    """Someone is on it: repeats stop until the alarm clears or until ``until``."""

    by: str
    at: float
    until: float | None = None
    comment: str = ""

    def active(self, now: float) -> bool:
        return self.until is None or now < self.until


@dataclass(frozen=True, slots=True)
class AlarmRecord:
    """The persistent state of one (rule, metric) alarm."""

    rule: str
    metric: str
    state: AlarmState = AlarmState.OK
    severity: Severity | None = None
    since: float = 0.0
    level: Severity | None = None
    level_since: float = 0.0
    problem_since: float | None = None
    value: float | None = None
    last_data_at: float | None = None
    notified_state: AlarmState | None = None
    notified_severity: Severity | None = None
    last_notified_at: float | None = None
    ack: Ack | None = None
    muted: bool = False
    flapping: bool = False
    flap_notified: bool = False
    flap_history: tuple[float, ...] = ()

    @property
    def shown_state(self) -> AlarmState:
        """The state to display: a problem inside a planned downtime shows SILENCED."""
        if self.muted and self.state in (AlarmState.PENDING, AlarmState.FIRING, AlarmState.STALE):
            return AlarmState.SILENCED
        return self.state


LIVE_FIELDS = ("value", "last_data_at")
"""What a pass refreshes on every alarm: the last value seen and its time. They are
shown, not decided on (no transition reads them), so a change of them alone is not
stored: see :func:`same_durable`."""


def same_durable(before: AlarmRecord, after: AlarmRecord) -> bool:
    """Whether ``after`` differs from ``before`` only in :data:`LIVE_FIELDS`.

    What must survive a restart is what decides the next transition and what the on-call
    people were told: state, severity and their times, the level and its hysteresis, the
    notified state and time, ack, mute, flapping. Every notification changes one of
    those (``notified_*``, ``last_notified_at`` or ``flap_notified``), so a record whose
    durable part is unchanged has nothing to send and can stay as stored: a restart then
    reloads the same decisions and resends nothing. The stored ``value`` of an OK alarm is
    therefore the value at its last durable change (see :func:`worth_storing`).
    """
    return _durable(before) == _durable(after)


def worth_storing(before: AlarmRecord, after: AlarmRecord) -> bool:
    """Whether a pass must write ``after``: a durable change (:func:`same_durable`), or a
    new value of an alarm that is a problem. The status page's problem list shows the
    on-call people the stored value, and problems are few; the value of the many OK alarms
    is left as stored."""
    if not same_durable(before, after):
        return True
    return after.state.is_problem and after.value != before.value


def new_record(rule: str, metric: str, now: float) -> AlarmRecord:
    """The record of an alarm seen for the first time."""
    return AlarmRecord(rule, metric, since=now, level_since=now)


def acknowledge(
    record: AlarmRecord, by: str, now: float, until: float | None = None, comment: str = ""
) -> AlarmRecord:
    """Acknowledge a FIRING or STALE alarm (sticky until it clears or until ``until``)."""
    if not record.state.is_problem:
        raise NotAcknowledgeable(
            f"alarm {record.rule} on {record.metric} is {record.state.value}, not a problem"
        )
    return replace(record, ack=Ack(by, now, until, comment))


def record_to_dict(record: AlarmRecord) -> dict[str, Any]:
    """A JSON-ready dict (enums as their values, the ack as a nested dict)."""
    # field by field: dataclasses.asdict deep-copies every value, which costs more than
    # everything else when the daemon stores 10k records per cycle
    data = {name: getattr(record, name) for name in _RECORD_FIELDS}
    data["ack"] = asdict(record.ack) if record.ack is not None else None
    data["state"] = record.state.value
    for key in ("severity", "level", "notified_severity"):
        value = getattr(record, key)
        data[key] = value.value if value is not None else None
    data["notified_state"] = record.notified_state.value if record.notified_state else None
    data["flap_history"] = list(record.flap_history)
    return data


_RECORD_FIELDS = tuple(f.name for f in fields(AlarmRecord))
_durable = attrgetter(*(name for name in _RECORD_FIELDS if name not in LIVE_FIELDS))


def record_from_dict(data: dict[str, Any]) -> AlarmRecord:
    """The inverse of :func:`record_to_dict`."""
    fields = dict(data)
    fields["state"] = AlarmState(fields["state"])
    for key in ("severity", "level", "notified_severity"):
        fields[key] = Severity(fields[key]) if fields.get(key) is not None else None
    if fields.get("notified_state") is not None:
        fields["notified_state"] = AlarmState(fields["notified_state"])
    fields["ack"] = Ack(**fields["ack"]) if fields.get("ack") else None
    fields["flap_history"] = tuple(fields.get("flap_history", ()))
    return AlarmRecord(**fields)
