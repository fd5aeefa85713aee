"""alarmd's tables (SQLAlchemy Core) and their migrations, in the shared database.

- ``alarm_record``: the current record of each (rule, metric): the whole record as JSON
  (:func:`alarmd.record.record_to_dict`) plus indexed columns for the web pages; ``state``
  is the *shown* state (SILENCED inside a planned downtime), ``version`` counts writes so
  that an acknowledgement filed by the web is never overwritten by the daemon.
- ``alarm_transition``: every change of shown state or severity.
- ``alarm_outbox``: each message to send, stored as ``pending`` in the transaction that
  stores the state change, then marked ``sent`` / ``failed`` (retried) / ``gave-up`` /
  ``nothing``.
- ``alarm_notification``: the log of every attempt (and of what a downtime suppressed).
- ``alarmd_heartbeat``: one row, rewritten by the active daemon after each cycle (when,
  how long it took, the outbox's depth then), so the web's ``/metrics`` can show alarmd's
  figures though alarmd may run on another host (:mod:`alarmd.heartbeat`).
- ``check_result``: the newest result of each Nagios-style check (state, text, perfdata as
  JSON, since when in that state), written by the web's ``POST /api/v1/checks``;
  ``check_change``: each change of a check's state, with the text that came with it
  (:mod:`alarmd.checkstore`).

Migrations are append-only; the tables below always describe the newest version.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rexmon.database import Migration

COMPONENT = "alarmd"

metadata = sa.MetaData()


def _tables(meta: sa.MetaData) -> tuple[sa.Table, sa.Table, sa.Table, sa.Table]:
    record = sa.Table(
        "alarm_record",
        meta,
        sa.Column("rule", sa.String(64), primary_key=True),
        sa.Column("metric", sa.String(255), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("since", sa.Float, nullable=False),
        sa.Column("value", sa.Float, nullable=True),
        sa.Column("updated", sa.Float, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Index("ix_alarm_record_metric", "metric"),
    )
    transition = sa.Table(
        "alarm_transition",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("rule", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(255), nullable=False),
        sa.Column("at", sa.Float, nullable=False, index=True),
        sa.Column("from_state", sa.String(16), nullable=False),
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("severity", sa.String(16), nullable=True),
        sa.Column("value", sa.Float, nullable=True),
        sa.Index("ix_alarm_transition_metric_at", "metric", "at"),
    )
    outbox = sa.Table(
        "alarm_outbox",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("created", sa.Float, nullable=False),
        sa.Column("receiver", sa.String(255), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("notify_type", sa.String(16), nullable=False),
        sa.Column("alarms", sa.Text, nullable=False),  # JSON list of "rule:metric"
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", sa.Float, nullable=False),
        sa.Column("updated", sa.Float, nullable=False),
    )
    notification = sa.Table(
        "alarm_notification",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.Float, nullable=False, index=True),
        sa.Column("receiver", sa.String(255), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("alarms", sa.Text, nullable=False),  # JSON list of "rule:metric"
        sa.Column("outbox_id", sa.Integer, nullable=True),
    )
    return record, transition, outbox, notification


record, transition, outbox, notification = _tables(metadata)
HEARTBEAT_ID = 1  # the table's only row


def _heartbeat_table(meta: sa.MetaData) -> sa.Table:
    return sa.Table(
        "alarmd_heartbeat",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.Float, nullable=True),  # NULL: no cycle yet
        sa.Column("cycle_seconds", sa.Float, nullable=True),
        sa.Column("outbox_depth", sa.Integer, nullable=True),
    )


heartbeat = _heartbeat_table(metadata)


def _v1_create_tables(connection: Connection) -> None:
    """The first schema. Before a later version changes :func:`_tables`, spell today's
    tables out here (as ``downtime.schema`` does): a shipped migration never changes."""
    frozen = sa.MetaData()
    _tables(frozen)
    frozen.create_all(connection)


def _v2_add_heartbeat(connection: Connection) -> None:
    """The heartbeat table and its one row (as :func:`_v1_create_tables`: spell it out
    here before :func:`_heartbeat_table` changes)."""
    frozen = sa.MetaData()
    table = _heartbeat_table(frozen)
    table.create(connection)
    connection.execute(table.insert().values(id=HEARTBEAT_ID))


def _check_tables(meta: sa.MetaData) -> tuple[sa.Table, sa.Table]:
    result = sa.Table(
        "check_result",
        meta,
        sa.Column("check_name", sa.String(255), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False, index=True),
        sa.Column("since", sa.Integer, nullable=False),  # the result that entered the state
        sa.Column("time", sa.Integer, nullable=False),  # the newest result
        sa.Column("received", sa.Float, nullable=False),
        sa.Column("exit_status", sa.Integer, nullable=True),
        sa.Column("output", sa.Text, nullable=False),
        sa.Column("long_output", sa.Text, nullable=False),
        sa.Column("perfdata", sa.Text, nullable=False),  # JSON list, as on the wire
    )
    change = sa.Table(
        "check_change",
        meta,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("check_name", sa.String(255), nullable=False),
        sa.Column("at", sa.Integer, nullable=False, index=True),
        sa.Column("from_state", sa.String(16), nullable=True),  # NULL: the first result
        sa.Column("to_state", sa.String(16), nullable=False),
        sa.Column("output", sa.Text, nullable=False),
        sa.Index("ix_check_change_check_at", "check_name", "at"),
    )
    return result, change


check_result, check_change = _check_tables(metadata)


def _v3_add_checks(connection: Connection) -> None:
    """The check-result tables (spell them out here before :func:`_check_tables` changes)."""
    frozen = sa.MetaData()
    for table in _check_tables(frozen):
        table.create(connection)


MIGRATIONS: tuple[Migration, ...] = (_v1_create_tables, _v2_add_heartbeat, _v3_add_checks)
