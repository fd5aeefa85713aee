"""Downtimes as JSON for the API: UNIX seconds plus ISO 8601 in the site time zone."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from downtime.model import AuditEntry, Downtime
from downtime.store import state_at, waiting_for_problem
from rexmon.timespec import format_time


def downtime_to_json(downtime: Downtime, now: int, zone: ZoneInfo) -> dict[str, Any]:
    def moment(seconds: int | None) -> str | None:
        return None if seconds is None else format_time(seconds, zone)

    return {
        "id": downtime.id,
        "state": "cancelled" if downtime.cancelled is not None else state_at(downtime, now),
        "waiting_for_problem": waiting_for_problem(downtime, now),
        "scopes": list(downtime.scopes),
        "start": downtime.start,
        "end": downtime.end,
        "start_local": moment(downtime.start),
        "end_local": moment(downtime.end),
        "kind": downtime.kind.value,
        "effect": downtime.effect.value,
        "reason": downtime.reason,
        "author": downtime.author,
        "created": downtime.created,
        "updated": downtime.updated,
        "cancelled": downtime.cancelled,
        "ended": downtime.ended,
        "rrule": downtime.rrule,
        "until": downtime.until,
        "timezone": downtime.timezone,
        "flexible": downtime.flexible,
        "flex_duration": downtime.duration,
        "triggered": downtime.triggered,
    }


def audit_to_json(entry: AuditEntry) -> dict[str, Any]:
    return {"at": entry.at, "actor": entry.actor, "action": entry.action, "changes": entry.changes}
