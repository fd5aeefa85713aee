"""Downtimes to table rows and back, and the audit entries written with each change.

Only the store uses this module; every function works inside a caller's transaction.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from downtime import schema
from downtime.errors import DowntimeNotFound
from downtime.model import Downtime, Draft, Effect, Kind, Override


def one(connection: Connection, downtime_id: int, *, lock: bool = False) -> Downtime:
    found = load(connection, schema.downtime.c.id == downtime_id, lock=lock)
    if not found:
        raise DowntimeNotFound(downtime_id)
    return found[0]


def update(
    connection: Connection,
    downtime_id: int,
    values: Mapping[str, Any],
    at: int,
    actor: str,
    action: str,
    changes: Mapping[str, Any],
) -> None:
    table = schema.downtime
    connection.execute(table.update().where(table.c.id == downtime_id).values(values))
    audit(connection, downtime_id, at, actor, action, changes)


def draft_row(draft: Draft) -> dict[str, Any]:
    assert draft.effect is not None
    return {
        "kind": draft.kind.value,
        "effect": draft.effect.value,
        "reason": draft.reason,
        "starts_at": draft.start,
        "ends_at": draft.end,
        "rrule": draft.rrule,
        "series_until": draft.until,
        "timezone": draft.timezone,
        "flexible": draft.flexible,
        "duration": draft.duration,
    }


def from_draft(draft: Draft, downtime_id: int, author: str, created: int) -> Downtime:
    assert draft.effect is not None
    return Downtime(
        id=downtime_id,
        scopes=draft.scopes,
        start=draft.start,
        end=draft.end,
        reason=draft.reason,
        kind=draft.kind,
        effect=draft.effect,
        author=author,
        created=created,
        updated=created,
        rrule=draft.rrule,
        until=draft.until,
        timezone=draft.timezone,
        flexible=draft.flexible,
        duration=draft.duration,
    )


def plain(draft: Draft) -> dict[str, Any]:
    """JSON-able field values, for audit entries."""
    values = dataclasses.asdict(draft)
    values["scopes"] = list(draft.scopes)
    values["kind"] = draft.kind.value
    values["effect"] = None if draft.effect is None else draft.effect.value
    return values


def write_scopes(connection: Connection, downtime_id: int, scopes: Iterable[str]) -> None:
    connection.execute(
        schema.scope.insert(),
        [{"downtime_id": downtime_id, "position": i, "glob": g} for i, g in enumerate(scopes)],
    )


def audit(
    connection: Connection,
    downtime_id: int,
    at: int,
    actor: str,
    action: str,
    changes: Mapping[str, Any],
) -> None:
    connection.execute(
        schema.audit.insert().values(**audit_row(downtime_id, at, actor, action, changes))
    )


def audit_row(
    downtime_id: int, at: int, actor: str, action: str, changes: Mapping[str, Any]
) -> dict[str, Any]:
    return {
        "downtime_id": downtime_id,
        "at": at,
        "actor": actor,
        "action": action,
        "changes": json.dumps(changes, sort_keys=True),
    }


def added(draft: Draft) -> dict[str, list[Any]]:
    return {k: [None, v] for k, v in plain(draft).items() if v is not None}


def load(connection: Connection, condition: Any, *, lock: bool = False) -> list[Downtime]:
    """Downtimes matching ``condition`` with their scopes and overrides; ``lock`` takes
    the rows for this transaction (``FOR UPDATE`` on PostgreSQL; SQLite's
    ``BEGIN IMMEDIATE`` already holds the write lock)."""
    table = schema.downtime
    query = sa.select(table).where(condition).order_by(table.c.starts_at, table.c.id)
    if lock:
        query = query.with_for_update()
    rows = connection.execute(query).mappings().all()
    ids = sa.select(table.c.id).where(condition).scalar_subquery()
    scopes: dict[int, list[str]] = {}
    query = sa.select(schema.scope).where(schema.scope.c.downtime_id.in_(ids))
    for row in connection.execute(query.order_by(schema.scope.c.position)).mappings():
        scopes.setdefault(row["downtime_id"], []).append(row["glob"])
    overrides: dict[int, list[Override]] = {}
    query = sa.select(schema.override).where(schema.override.c.downtime_id.in_(ids))
    for row in connection.execute(query.order_by(schema.override.c.original_start)).mappings():
        overrides.setdefault(row["downtime_id"], []).append(
            Override(row["original_start"], row["starts_at"], row["ends_at"], row["cancelled"])
        )
    return [
        Downtime(
            id=row["id"],
            scopes=tuple(scopes.get(row["id"], ())),
            start=row["starts_at"],
            end=row["ends_at"],
            reason=row["reason"],
            kind=Kind(row["kind"]),
            effect=Effect(row["effect"]),
            author=row["author"],
            created=row["created_at"],
            updated=row["updated_at"],
            cancelled=row["cancelled_at"],
            ended=row["ended_at"],
            rrule=row["rrule"],
            until=row["series_until"],
            timezone=row["timezone"],
            flexible=bool(row["flexible"]),
            duration=row["duration"],
            triggered=row["triggered_at"],
            overrides=tuple(overrides.get(row["id"], ())),
        )
        for row in rows
    ]
