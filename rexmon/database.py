"""The shared SQL database: engine creation and per-component schema migrations.

One database (SQLite by default, PostgreSQL to scale) holds the tables of several
components: the downtime store, alarmd's state and its notification log. Each component
keeps its own ordered list of migration functions and its own row in ``schema_version``::

    engine = open_database("sqlite:////var/lib/rexmon/rexmon.db")
    migrate(engine, "alarmd", [create_state_tables, add_ack_column])

A migration is ``Callable[[Connection], None]``; it runs inside the transaction that also
bumps the version, so an upgrade is applied completely or not at all. Migrations are
append-only: never edit or reorder one that has shipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine, ExceptionContext

from rexmon.errors import SchemaError

Migration = Callable[[Connection], None]

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_READONLY = 8  # primary result code; extended ones (DBMOVED, ...) share the low byte
_IMMEDIATE = "rexmon_immediate"
_PG_MIGRATION_LOCK = 0x7265786D  # "rexm": advisory lock id serialising migrations

_metadata = sa.MetaData()
schema_version = sa.Table(
    "schema_version",
    _metadata,
    sa.Column("component", sa.String(64), primary_key=True),
    sa.Column("version", sa.Integer, nullable=False),
)


def open_database(url: str, **engine_options: Any) -> Engine:
    """An engine for ``url`` (``sqlite:///path`` or ``postgresql+psycopg://...``).

    The directory of an SQLite file is created. SQLite connections get WAL mode, a busy
    timeout (30 s, or the url's ``?timeout=`` in seconds), foreign keys and explicit
    transactions (reads ``BEGIN``, writes ``BEGIN IMMEDIATE`` through
    :func:`write_transaction`), so several processes can share the file safely.
    """
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        seconds = sqlite_busy_timeout(parsed)
        engine_options.setdefault("connect_args", {"timeout": seconds})
        engine = sa.create_engine(parsed.difference_update_query(["timeout"]), **engine_options)
        _configure_sqlite(engine, int(seconds * 1000))
        return engine
    engine_options.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, **engine_options)


def sqlite_busy_timeout(url: sa.URL) -> float:
    """Seconds an SQLite writer waits for the lock: the url's ``?timeout=``, else 30."""
    given = url.query.get("timeout")
    if given is None:
        return SQLITE_BUSY_TIMEOUT_MS / 1000
    text = given if isinstance(given, str) else given[-1]
    try:
        seconds = float(text)
    except ValueError:
        seconds = -1.0
    if not 0 <= seconds <= 3600:
        raise ValueError(f"expected ?timeout= in seconds (0 to 3600), got {text!r}")
    return seconds


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {busy_timeout_ms}")
            cursor.execute("PRAGMA journal_mode = WAL")
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA foreign_keys = ON")
        finally:
            cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @sa.event.listens_for(engine, "handle_error")
    def _on_error(context: ExceptionContext) -> None:
        # A connection opened while the file (or its directory) was read-only stays
        # read-only for good, and the pool keeps it: writes would fail until a restart.
        # Treat SQLITE_READONLY (any extended code) like a lost connection, so the pool is
        # emptied and the next use opens the file afresh.
        code = getattr(context.original_exception, "sqlite_errorcode", None)
        if code is not None and code & 0xFF == SQLITE_READONLY:
            context.is_disconnect = True


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that will write: on SQLite it takes the write lock up front
    (``BEGIN IMMEDIATE``), so two writers wait for each other instead of failing."""
    with engine.connect() as connection:
        connection.execution_options(**{_IMMEDIATE: True})
        with connection.begin():
            yield connection


def migrate(engine: Engine, component: str, migrations: Sequence[Migration]) -> int:
    """Bring ``component``'s tables to version ``len(migrations)``; return that version.

    Safe to call from several processes at once: the check and the upgrade run in one
    locked transaction. A database newer than the code raises :class:`SchemaError`.
    An up-to-date database is only read, so a program starts (and a web worker serves
    its first page) while another process holds the write lock.
    """
    target = len(migrations)
    if current_version(engine, component) == target:
        return target
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        _metadata.create_all(connection, checkfirst=True)
        current = connection.execute(
            sa.select(schema_version.c.version).where(schema_version.c.component == component)
        ).scalar_one_or_none()
        if current is None:
            connection.execute(schema_version.insert().values(component=component, version=0))
            current = 0
        if current > target:
            raise SchemaError(
                f"{component} tables are at schema version {current}, newer than this"
                f" program's {target}; upgrade rexmon"
            )
        for version in range(current, target):
            migrations[version](connection)
        if current != target:
            connection.execute(
                schema_version.update()
                .where(schema_version.c.component == component)
                .values(version=target)
            )
    return target


def current_version(engine: Engine, component: str) -> int:
    """The schema version of ``component`` (0 when it has no tables yet)."""
    with engine.connect() as connection:
        if not sa.inspect(connection).has_table("schema_version"):
            return 0
        version = connection.execute(
            sa.select(schema_version.c.version).where(schema_version.c.component == component)
        ).scalar_one_or_none()
    return version or 0
