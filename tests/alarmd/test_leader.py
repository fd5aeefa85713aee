from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from alarmd.config import AlarmdConfig
from alarmd.leader import AdvisoryLock, FileLock
from alarmd.statestore import AlarmStore
from downtime.store import DowntimeStore
from rexmon.database import open_database
from tests.alarmd.daemon_env import Environment, Inbox, inbox

__all__ = ["inbox"]  # fixture


def test_a_lock_file_lets_one_daemon_work_and_the_other_take_over(
    tmp_path: Path, inbox: Inbox
) -> None:
    env = Environment(tmp_path, inbox)
    try:
        lock = tmp_path / "alarmd.lock"
        first = env.daemon = env.new_daemon(leadership=FileLock(lock))
        second = env.new_daemon(leadership=FileLock(lock))
        assert env.step(1).active
        assert not second.tick().active
        env.step(12)
        assert not second.tick().active
        assert len(inbox.bodies) == 1
        first.leadership.release()  # the first process dies: the kernel drops its flock
        env.daemon = second
        assert env.step(12).active
        assert env.step(12).active
        assert len(inbox.bodies) == 1  # the second knows what was sent: no duplicate
        assert not first.tick().active
    finally:
        env.close()


def test_the_lock_file_is_next_to_the_sqlite_database_by_default(
    tmp_path: Path, inbox: Inbox
) -> None:
    env = Environment(tmp_path, inbox)
    try:
        daemon = env.new_daemon(leadership=None)
        assert isinstance(daemon.leadership, FileLock)
        assert daemon.leadership.path == tmp_path / "alarmd.lock"
        other = FileLock(tmp_path / "alarmd.lock")
        assert daemon.tick().active
        assert not other.try_acquire()
        daemon.close()
        assert other.try_acquire()
        other.release()
    finally:
        env.close()


@pytest.mark.postgres
def test_with_postgresql_only_the_advisory_lock_holder_works_and_the_other_takes_over(
    tmp_path: Path, inbox: Inbox, postgres_database_url: str
) -> None:
    env = Environment(tmp_path, inbox)
    engine = open_database(postgres_database_url)
    try:
        DowntimeStore(engine).migrate()
        AlarmStore(engine).migrate()
        settings = AlarmdConfig(rules=tmp_path / "alarms.yaml", send_timeout=5.0)
        first = env.daemon = env.new_daemon(engine=engine, settings=settings, leadership=None)
        second = env.new_daemon(engine=engine, settings=settings, leadership=None)
        assert isinstance(first.leadership, AdvisoryLock)
        assert env.step(1).active
        assert not second.tick().active
        env.step(12)
        assert not second.tick().active
        assert len(inbox.bodies) == 1
        assert first.leadership.connection is not None
        # the first daemon dies: the server ends its session, and the lock with it
        pid = first.leadership.connection.exec_driver_sql("SELECT pg_backend_pid()").scalar()
        with engine.connect() as admin:
            admin.execute(sa.select(sa.func.pg_terminate_backend(pid)))
        env.daemon = second
        assert env.step(12).active  # taken over on its next tick
        assert env.step(12).active
        assert len(inbox.bodies) == 1  # no duplicate
        assert not first.tick().active  # the old one notices and stands by
        assert AlarmStore(engine).records()[0].value == 12
    finally:
        env.close()
        engine.dispose()
