"""What each cycle did: the :class:`TickReport` the loop shows systemd, and the heartbeat
row the active daemon leaves in the database for the web's ``/metrics``.

alarmd may run on another host than the web app and shares only the database with it,
so its own figures travel through that: after each active cycle the daemon rewrites the
one row of ``alarmd_heartbeat`` (:func:`publish`) and the web reads it when scraped
(:func:`read_heartbeat`). The row says when the cycle ran, so a daemon that stopped
shows as a heartbeat that got old, not as figures that look fine.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from alarmd import schema
from alarmd.outbox import UNSENT
from rexmon.database import write_transaction


@dataclass(frozen=True)
class TickReport:
    """What one tick did (``active`` False: another daemon holds the lock)."""

    at: float
    active: bool
    pairs: int = 0
    changed: int = 0
    events: int = 0
    messages: int = 0
    dispatched: int = 0
    errors: int = 0
    seconds: float = 0.0

    def status(self, in_flight: int) -> str:
        """The line systemd shows (``STATUS=``) after this tick."""
        if not self.active:
            return "standing by: another alarmd holds the lock"
        return (
            f"{self.pairs} alarms, {self.changed} changed, {self.messages} messages,"
            f" {in_flight} sending, cycle {self.seconds:.2f}s"
        )


@dataclass(frozen=True)
class Heartbeat:
    """The active daemon's last cycle: when (UNIX time), how long it took (seconds), and
    how many messages its outbox held after it (pending, or failed and to be retried)."""

    at: float
    cycle_seconds: float
    outbox_depth: int


def publish(engine: Engine, report: TickReport) -> None:
    """Rewrite the heartbeat row for the active cycle of ``report``, with the outbox's
    depth counted in the same transaction (SQLAlchemy's errors reach the caller's edge)."""
    table, outbox = schema.heartbeat, schema.outbox
    depth = sa.select(sa.func.count()).where(outbox.c.status.in_(UNSENT)).scalar_subquery()
    with write_transaction(engine) as connection:
        connection.execute(
            table.update()
            .where(table.c.id == schema.HEARTBEAT_ID)
            .values(at=report.at, cycle_seconds=report.seconds, outbox_depth=depth)
        )


def read_heartbeat(engine: Engine) -> Heartbeat | None:
    """The last heartbeat; None before the first active cycle."""
    table = schema.heartbeat
    query = sa.select(table.c.at, table.c.cycle_seconds, table.c.outbox_depth).where(
        table.c.id == schema.HEARTBEAT_ID
    )
    with engine.connect() as connection:
        row = connection.execute(query).one_or_none()
    if row is None or row.at is None:
        return None
    return Heartbeat(row.at, row.cycle_seconds, row.outbox_depth)
