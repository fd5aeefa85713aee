"""The active daemon leaves a heartbeat row after each cycle (when, how long, the outbox's
depth), for the web's ``/metrics``; a standby daemon leaves none."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from alarmd import schema
from alarmd.heartbeat import read_heartbeat
from alarmd.leader import FileLock
from alarmd.statestore import AlarmStore
from downtime.store import DowntimeStore
from rexmon.database import current_version, migrate, open_database
from tests.alarmd.daemon_env import STEP, Environment, Inbox, env, inbox

__all__ = ["env", "inbox"]  # fixtures


def test_each_active_cycle_leaves_its_time_duration_and_outbox_depth(env: Environment) -> None:
    assert read_heartbeat(env.engine) is None  # no cycle yet
    env.inbox.status = 500  # the provider is down: the FIRING message stays in the outbox
    report = env.run(1, 12)[-1]
    beat = read_heartbeat(env.engine)
    assert beat is not None
    assert beat.at == env.clock.now == report.at
    assert beat.cycle_seconds == report.seconds and 0 < beat.cycle_seconds < 30
    assert beat.outbox_depth == 1 == env.store.outbox.pending_count()
    env.inbox.status = 200
    env.run(12, 12)  # retried a minute later and sent; the next cycle sees it gone
    beat = read_heartbeat(env.engine)
    assert beat is not None and beat.at == env.clock.now and beat.outbox_depth == 0
    assert env.inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]


def test_a_standby_daemon_leaves_the_heartbeat_of_the_active_one(
    env: Environment, tmp_path: Path
) -> None:
    lock = tmp_path / "alarmd.lock"
    env.daemon = env.new_daemon(leadership=FileLock(lock))
    standby = env.new_daemon(leadership=FileLock(lock))
    env.step(1)
    active_at = env.clock.now
    env.clock.now += STEP
    assert not standby.tick().active
    beat = read_heartbeat(env.engine)
    assert beat is not None and beat.at == active_at


def test_a_database_of_the_first_schema_gets_the_heartbeat_table(tmp_path: Path) -> None:
    engine = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        migrate(engine, schema.COMPONENT, schema.MIGRATIONS[:1])  # as the first release left it
        AlarmStore(engine).migrate()
        assert current_version(engine, schema.COMPONENT) == len(schema.MIGRATIONS)
        with engine.connect() as connection:
            rows = connection.execute(sa.select(schema.heartbeat)).all()
        assert [row.id for row in rows] == [schema.HEARTBEAT_ID]
        assert read_heartbeat(engine) is None
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_heartbeat_is_left_on_postgresql_too(
    tmp_path: Path, inbox: Inbox, postgres_database_url: str
) -> None:
    env = Environment(tmp_path, inbox)
    engine = open_database(postgres_database_url)
    try:
        DowntimeStore(engine).migrate()
        AlarmStore(engine).migrate()
        env.daemon = env.new_daemon(engine=engine)
        inbox.status = 500  # the FIRING message stays in the outbox
        env.run(1, 12)
        beat = read_heartbeat(engine)
        assert beat is not None and beat.at == env.clock.now and beat.cycle_seconds > 0
        assert beat.outbox_depth == 1
    finally:
        env.close()
        engine.dispose()
