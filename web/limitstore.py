"""Counts that must hold across gunicorn workers and hosts: failed logins, new metrics.

Kept in memory, each worker counted for itself, so 2 workers allowed twice
``max_failures`` and twice a token's ``max_new_metrics``, and a HUP (new workers)
forgot both. They live in the app's database instead (the engine of
:mod:`web.services`: SQLite by default, PostgreSQL to scale), not in a file of our own
under ``var/``: that database is already shared by every worker and, with PostgreSQL,
by every web host behind a load balancer, and it already knows how to serialise
writers. Each check-then-charge runs in :func:`serialised`, a write transaction that
on SQLite holds the write lock from the start (``BEGIN IMMEDIATE``) and on PostgreSQL
takes a transaction-scoped advisory lock per key, so two workers can never both take
the last unit. The cost is one small write transaction per failed login and per new
metric; samples of existing metrics never get here.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from rexmon.database import migrate, write_transaction

COMPONENT = "web-limits"
_PG_LOCK_BASE = 0x72786C  # "rxl": the high half of the advisory lock keys

metadata = sa.MetaData()
login_failures = sa.Table(
    "web_login_failures",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("client", sa.String(64), nullable=False),
    sa.Column("at", sa.Float, nullable=False),
    sa.Index("web_login_failures_by_client", "client", "at"),
)
new_metrics = sa.Table(
    "web_new_metrics",
    metadata,
    sa.Column("token", sa.String(128), primary_key=True),
    sa.Column("window", sa.Integer, primary_key=True),
    sa.Column("metric", sa.String(255), primary_key=True),
)


def _create_tables(connection: Connection) -> None:
    metadata.create_all(connection)


MIGRATIONS = [_create_tables]


def migrate_limits(engine: Engine) -> int:
    return migrate(engine, COMPONENT, MIGRATIONS)


@contextmanager
def serialised(engine: Engine, key: str) -> Iterator[Connection]:
    """A write transaction that no other one for ``key`` (on any worker) overlaps."""
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            lock = (_PG_LOCK_BASE << 32) | zlib.crc32(key.encode("utf-8"))
            connection.execute(
                sa.select(sa.func.pg_advisory_xact_lock(sa.cast(lock, sa.BigInteger)))
            )
        yield connection
