"""Alarm records and their history as JSON for the API: UNIX seconds, enum values."""

from __future__ import annotations

from typing import Any

from alarmd.outbox import NotificationRow
from alarmd.record import AlarmRecord
from alarmd.statestore import TransitionRow


def record_to_json(record: AlarmRecord, now: float) -> dict[str, Any]:
    ack = record.ack
    return {
        "rule": record.rule,
        "metric": record.metric,
        "state": record.shown_state.value,
        "raw_state": record.state.value,
        "severity": record.severity.value if record.severity else None,
        "since": record.since,
        "value": record.value,
        "last_data_at": record.last_data_at,
        "muted": record.muted,
        "flapping": record.flapping,
        "acknowledged": None
        if ack is None or not ack.active(now)
        else {"by": ack.by, "at": ack.at, "until": ack.until, "comment": ack.comment},
        "graph": f"/metric/{record.metric}",
    }


def transition_to_json(row: TransitionRow) -> dict[str, Any]:
    return {
        "rule": row.rule,
        "metric": row.metric,
        "at": row.at,
        "from": row.from_state.value,
        "to": row.to_state.value,
        "severity": row.severity.value if row.severity else None,
        "value": row.value,
    }


def notification_to_json(row: NotificationRow) -> dict[str, Any]:
    return {
        "at": row.at,
        "receiver": row.receiver,
        "title": row.title,
        "outcome": row.outcome,
        "reason": row.reason,
        "attempt": row.attempt,
        "alarms": list(row.alarms),
    }
