"""The downtime tables (SQLAlchemy Core) and their migrations.

Version 1: downtimes, their scopes and the audit trail. Version 2: flexible downtimes,
"end now" and per-occurrence overrides of a series. Migrations are append-only; the
``tables`` below always describe the newest version.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from rexmon.database import Migration

COMPONENT = "downtime"

metadata = sa.MetaData()

downtime = sa.Table(
    "downtime",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("effect", sa.String(16), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("author", sa.String(255), nullable=False),
    sa.Column("starts_at", sa.BigInteger, nullable=False),
    sa.Column("ends_at", sa.BigInteger, nullable=False),
    sa.Column("span_end", sa.BigInteger, nullable=True),  # NULL: endless series
    sa.Column("created_at", sa.BigInteger, nullable=False),
    sa.Column("updated_at", sa.BigInteger, nullable=False),
    sa.Column("cancelled_at", sa.BigInteger, nullable=True),
    sa.Column("rrule", sa.Text, nullable=True),
    sa.Column("series_until", sa.BigInteger, nullable=True),
    sa.Column("timezone", sa.String(64), nullable=False),
    # version 2
    sa.Column("flexible", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("duration", sa.BigInteger, nullable=True),
    sa.Column("triggered_at", sa.BigInteger, nullable=True),
    sa.Column("ended_at", sa.BigInteger, nullable=True),
)

scope = sa.Table(
    "downtime_scope",
    metadata,
    sa.Column(
        "downtime_id",
        sa.Integer,
        sa.ForeignKey("downtime.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("glob", sa.String(255), nullable=False),
)

audit = sa.Table(
    "downtime_audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column(
        "downtime_id", sa.Integer, sa.ForeignKey("downtime.id", ondelete="CASCADE"), index=True
    ),
    sa.Column("at", sa.BigInteger, nullable=False),
    sa.Column("actor", sa.String(255), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("changes", sa.Text, nullable=False),  # JSON: {field: [old, new]}
)

override = sa.Table(
    "downtime_override",
    metadata,
    sa.Column(
        "downtime_id",
        sa.Integer,
        sa.ForeignKey("downtime.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column("original_start", sa.BigInteger, primary_key=True),
    sa.Column("starts_at", sa.BigInteger, nullable=False),
    sa.Column("ends_at", sa.BigInteger, nullable=False),
    sa.Column("cancelled", sa.Boolean, nullable=False),
)


def _v1_create_downtime_tables(connection: Connection) -> None:
    """The first schema, spelled out so later edits of ``metadata`` never change it."""
    frozen = sa.MetaData()
    sa.Table(
        "downtime",
        frozen,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("effect", sa.String(16), nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("author", sa.String(255), nullable=False),
        sa.Column("starts_at", sa.BigInteger, nullable=False),
        sa.Column("ends_at", sa.BigInteger, nullable=False),
        sa.Column("span_end", sa.BigInteger, nullable=True),
        sa.Column("created_at", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.Column("cancelled_at", sa.BigInteger, nullable=True),
        sa.Column("rrule", sa.Text, nullable=True),
        sa.Column("series_until", sa.BigInteger, nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Index("ix_downtime_span", "starts_at", "span_end"),
    )
    sa.Table(
        "downtime_scope",
        frozen,
        sa.Column(
            "downtime_id",
            sa.Integer,
            sa.ForeignKey("downtime.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("glob", sa.String(255), nullable=False),
    )
    sa.Table(
        "downtime_audit",
        frozen,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "downtime_id",
            sa.Integer,
            sa.ForeignKey("downtime.id", ondelete="CASCADE"),
            index=True,
        ),
        sa.Column("at", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(255), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("changes", sa.Text, nullable=False),
    )
    frozen.create_all(connection)


def _v2_flexible_end_and_overrides(connection: Connection) -> None:
    for ddl in (
        "ALTER TABLE downtime ADD COLUMN flexible BOOLEAN NOT NULL DEFAULT FALSE",
        "ALTER TABLE downtime ADD COLUMN duration BIGINT",
        "ALTER TABLE downtime ADD COLUMN triggered_at BIGINT",
        "ALTER TABLE downtime ADD COLUMN ended_at BIGINT",
    ):
        connection.execute(sa.text(ddl))
    frozen = sa.MetaData()
    sa.Table("downtime", frozen, sa.Column("id", sa.Integer, primary_key=True))
    sa.Table(
        "downtime_override",
        frozen,
        sa.Column(
            "downtime_id",
            sa.Integer,
            sa.ForeignKey("downtime.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("original_start", sa.BigInteger, primary_key=True),
        sa.Column("starts_at", sa.BigInteger, nullable=False),
        sa.Column("ends_at", sa.BigInteger, nullable=False),
        sa.Column("cancelled", sa.Boolean, nullable=False),
    )
    frozen.tables["downtime_override"].create(connection)


MIGRATIONS: tuple[Migration, ...] = (
    _v1_create_downtime_tables,
    _v2_flexible_end_and_overrides,
)
