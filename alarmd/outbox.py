"""The outbox: messages stored with the state change that caused them, until they are sent.

:meth:`alarmd.statestore.AlarmStore.save` writes a cycle's messages as ``pending`` rows
(with :func:`write_messages`, in the same transaction as the state). The dispatcher takes
the due rows (:meth:`Outbox.due`), sends them and marks each one (:meth:`Outbox.finish`),
which also appends the attempt to the notification log. Every attempt, sent or not, is a
:class:`NotificationRow` with an :class:`Outcome`.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from alarmd import schema
from alarmd.message import Message
from rexmon.database import write_transaction


class Outcome(enum.StrEnum):
    """What came of one attempt to tell a receiver (the value is what the log stores)."""

    SENT = "sent"  # every URL of the receiver accepted it
    FAILED = "failed"  # to be retried, or given up after the last retry
    NOTHING = "nothing"  # no URL to send to, or nothing apprise could do
    SUPPRESSED = "suppressed-by-downtime"  # withheld: a planned downtime mutes the alarm


PENDING = "pending"  # outbox status: stored, not yet (known to be) sent
GAVE_UP = "gave-up"
UNSENT = (PENDING, Outcome.FAILED.value)  # still to be sent (failed: retried later)
FINISHED = (Outcome.SENT.value, GAVE_UP, Outcome.NOTHING.value)  # nothing sends these again


@dataclass(frozen=True)
class NotificationRow:
    """One attempt to tell a receiver; ``alarms`` are ``"rule:metric"`` strings,
    ``reason`` never holds a secret."""

    at: float
    receiver: str
    title: str
    outcome: Outcome
    reason: str
    attempt: int
    alarms: tuple[str, ...]


@dataclass(frozen=True)
class OutboxItem:
    """A stored message still to be sent (``attempts`` made so far)."""

    id: int
    message: Message
    alarms: tuple[str, ...]
    attempts: int


def alarm_key(rule: str, metric: str) -> str:
    return f"{rule}:{metric}"


class Outbox:
    """The outbox and notification-log tables in the shared database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def due(self, now: float, exclude: Iterable[str] = ()) -> list[OutboxItem]:
        """Outbox messages to send now, oldest first: each receiver is told things in
        order, so a receiver's unsent messages are due when its oldest one is (pending,
        or failed and its retry time came). Receivers in ``exclude`` are left out."""
        table = schema.outbox
        query = sa.select(table).where(table.c.status.in_(UNSENT)).order_by(table.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        queues: dict[str, list[OutboxItem]] = {}
        blocked: set[str] = set(exclude)
        for row in rows:
            receiver = row["receiver"]
            if receiver in blocked:
                continue
            if receiver not in queues and row["next_at"] > now:
                blocked.add(receiver)  # its oldest message waits for its retry time
                continue
            queues.setdefault(receiver, []).append(
                OutboxItem(
                    row["id"],
                    Message(receiver, row["title"], row["body"], row["notify_type"], ()),
                    tuple(json.loads(row["alarms"])),
                    row["attempts"],
                )
            )
        return sorted((item for queue in queues.values() for item in queue), key=lambda i: i.id)

    def finish(
        self,
        item: OutboxItem,
        outcome: Outcome,
        reason: str,
        now: float,
        retry_at: float | None,
    ) -> None:
        """Log an attempt at ``item`` and mark it: done, failed (retry at ``retry_at``) or
        given up (failed and ``retry_at`` None)."""
        attempt = item.attempts + 1
        status = outcome.value
        if outcome is Outcome.FAILED and retry_at is None:
            status = GAVE_UP
        table = schema.outbox
        message = item.message
        row = NotificationRow(
            now, message.receiver, message.title, outcome, reason, attempt, item.alarms
        )
        with write_transaction(self.engine) as connection:
            connection.execute(
                table.update()
                .where(table.c.id == item.id)
                .values(
                    status=status,
                    attempts=attempt,
                    next_at=retry_at if retry_at is not None else now,
                    updated=now,
                )
            )
            write_log(connection, [row], item.id)

    def pending_count(self) -> int:
        """Outbox messages not yet sent (pending or failed and to be retried)."""
        table = schema.outbox
        query = sa.select(sa.func.count()).where(table.c.status.in_(UNSENT))
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar_one())

    def log(self, *, limit: int = 200) -> list[NotificationRow]:
        """The notification log, newest first."""
        table = schema.notification
        query = sa.select(table).order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            NotificationRow(
                row["at"],
                row["receiver"],
                row["title"],
                Outcome(row["outcome"]),
                row["reason"],
                row["attempt"],
                tuple(json.loads(row["alarms"])),
            )
            for row in rows
        ]


def write_messages(connection: Connection, messages: Sequence[Message], now: float) -> None:
    """Store ``messages`` as pending outbox rows, inside the caller's transaction."""
    if not messages:
        return
    rows = [
        {
            "created": now,
            "receiver": message.receiver,
            "title": message.title,
            "body": message.body,
            "notify_type": message.notify_type,
            "alarms": json.dumps([alarm_key(e.rule, e.metric) for e in message.events]),
            "status": PENDING,
            "attempts": 0,
            "next_at": now,
            "updated": now,
        }
        for message in messages
    ]
    connection.execute(schema.outbox.insert(), rows)


def write_log(
    connection: Connection, rows: Sequence[NotificationRow], outbox_id: int | None
) -> None:
    """Append attempts to the notification log, inside the caller's transaction."""
    if not rows:
        return
    connection.execute(
        schema.notification.insert(),
        [
            {
                "at": row.at,
                "receiver": row.receiver,
                "title": row.title,
                "outcome": row.outcome.value,
                "reason": row.reason,
                "attempt": row.attempt,
                "alarms": json.dumps(list(row.alarms)),
                "outbox_id": outbox_id,
            }
            for row in rows
        ],
    )
