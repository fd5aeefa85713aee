from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import OperationalError

from downtime import schema
from downtime.model import Effect, Kind
from downtime.store import DowntimeStore
from rexmon.database import current_version, migrate, open_database, write_transaction
from rexmon.errors import SchemaError
from tests.downtime.conftest import NOW, Clock
from tests.faults import exclusive_lock


def _insert_v1_downtime(connection: Connection) -> None:
    connection.execute(
        sa.text(
            "INSERT INTO downtime (id, kind, effect, reason, author, starts_at, ends_at,"
            " span_end, created_at, updated_at, timezone)"
            " VALUES (7, 'planned', 'mute', 'old one', 'alice', :s, :e, :e, :s, :s, 'UTC')"
        ),
        {"s": NOW, "e": NOW + 3600},
    )
    connection.execute(
        sa.text("INSERT INTO downtime_scope (downtime_id, position, glob) VALUES (7, 0, 'a.*')")
    )
    connection.execute(
        sa.text(
            "INSERT INTO downtime_audit (downtime_id, at, actor, action, changes)"
            " VALUES (7, :s, 'alice', 'add', '{}')"
        ),
        {"s": NOW},
    )


def test_a_version_1_database_upgrades_without_losing_a_downtime(
    engine: Engine, clock: Clock
) -> None:
    assert migrate(engine, schema.COMPONENT, schema.MIGRATIONS[:1]) == 1
    with engine.begin() as connection:
        _insert_v1_downtime(connection)
    store = DowntimeStore(engine, clock=clock)
    assert store.migrate() == len(schema.MIGRATIONS) == current_version(engine, "downtime")
    old = store.get(7)
    assert (old.reason, old.scopes, old.kind, old.effect) == (
        "old one",
        ("a.*",),
        Kind.PLANNED,
        Effect.MUTE,
    )
    assert (old.flexible, old.ended, old.overrides) == (False, None, ())
    assert [d.id for d in store.covering("a.b", NOW)] == [7]
    assert [e.action for e in store.audit_trail(7)] == ["add"]


def test_migrating_twice_changes_nothing(store: DowntimeStore) -> None:
    assert store.migrate() == len(schema.MIGRATIONS)


def test_components_keep_their_own_versions(engine: Engine) -> None:
    made: list[str] = []

    def create_state(connection: Connection) -> None:
        connection.execute(sa.text("CREATE TABLE alarm_state (id INTEGER PRIMARY KEY)"))
        made.append("state")

    assert migrate(engine, "alarmd", [create_state]) == 1
    assert migrate(engine, "alarmd", [create_state]) == 1
    assert made == ["state"]
    assert current_version(engine, "alarmd") == 1
    assert current_version(engine, "downtime") == 0


def test_a_database_newer_than_the_code_is_refused(engine: Engine) -> None:
    migrate(engine, schema.COMPONENT, schema.MIGRATIONS)
    with pytest.raises(SchemaError, match="newer than this program"):
        migrate(engine, schema.COMPONENT, schema.MIGRATIONS[:1])


def test_a_failing_migration_leaves_the_old_version(engine: Engine) -> None:
    def broken(connection: Connection) -> None:
        connection.execute(sa.text("CREATE TABLE half_done (id INTEGER)"))
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        migrate(engine, "broken", [broken])
    assert current_version(engine, "broken") == 0
    assert not sa.inspect(engine).has_table("half_done")


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'var' / 'x.db'}")
    with engine.connect() as connection:
        pragma = connection.exec_driver_sql
        assert pragma("PRAGMA journal_mode").scalar() == "wal"
        assert pragma("PRAGMA foreign_keys").scalar() == 1
        assert pragma("PRAGMA busy_timeout").scalar() == 30000
    engine.dispose()


def _current_database(path: Path) -> None:
    """An SQLite file as an installation leaves it: WAL mode, the tables up to date."""
    engine = open_database(f"sqlite:///{path}")
    DowntimeStore(engine).migrate()
    engine.dispose()


def test_an_sqlite_url_sets_the_busy_timeout_in_seconds(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    _current_database(path)
    engine = open_database(f"sqlite:///{path}?timeout=0.25")
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 250
        with exclusive_lock(path), pytest.raises(OperationalError, match="database is locked"):
            with write_transaction(engine):  # gives up after 0.25 s, not 30
                pass
    finally:
        engine.dispose()
    with pytest.raises(ValueError, match=r"expected \?timeout= in seconds \(0 to 3600\)"):
        open_database(f"sqlite:///{path}?timeout=soon")


def test_migrating_an_up_to_date_database_needs_no_write_lock(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    _current_database(path)
    engine = open_database(f"sqlite:///{path}?timeout=0")  # no waiting for a lock
    try:
        with exclusive_lock(path):  # another process is writing
            assert DowntimeStore(engine).migrate() == len(schema.MIGRATIONS)
            with pytest.raises(OperationalError, match="database is locked"):
                migrate(engine, "newcomer", [lambda connection: None])  # an upgrade waits
        assert migrate(engine, "newcomer", [lambda connection: None]) == 1
    finally:
        engine.dispose()


WRITER = """
import sys
from rexmon.database import open_database
from downtime.model import Draft
from downtime.policy import Actor
from downtime.store import DowntimeStore
store = DowntimeStore(open_database(sys.argv[1]))
store.migrate()
for n in range(15):
    store.add(Draft(("host.n%s.*" % sys.argv[2],), 1000, 2000, "r%d" % n), Actor("w"))
"""


def test_several_processes_can_write_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    writers = [
        subprocess.Popen([sys.executable, "-c", WRITER, url, str(n)], stderr=subprocess.PIPE)
        for n in range(3)
    ]
    for writer in writers:
        _, errors = writer.communicate(timeout=120)
        assert writer.returncode == 0, errors.decode()
    engine = open_database(url)
    store = DowntimeStore(engine)
    assert len(store.find()) == 45
    assert len({e.downtime_id for d in store.find() for e in store.audit_trail(d.id)}) == 45
    engine.dispose()
