"""The daemon deletes the alarm history older than ``keep``: in its first active cycle,
then once an hour, never while standing by, and a failed prune is tried again."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from alarmd.alarmstate import AlarmState
from alarmd.config import AlarmdConfig
from alarmd.leader import FileLock
from alarmd.outbox import NotificationRow, Outcome
from rexmon.database import open_database
from tests.alarmd.daemon_env import METRIC, STEP, Environment, env, inbox
from tests.faults import exclusive_lock

__all__ = ["env", "inbox"]  # fixtures

DAY = 86400


def a_day(env: Environment) -> AlarmdConfig:
    """Settings that keep one day of history (the shortest allowed)."""
    return AlarmdConfig(rules=env.tmp_path / "alarms.yaml", send_timeout=5.0, keep=DAY)


def log_old_row(env: Environment) -> None:
    """A notification log row just older than a day."""
    at = env.clock.now - DAY - 1
    env.store.save(
        [], [], [NotificationRow(at, "oncall", "t", Outcome.SUPPRESSED, "dt", 0, ())], at
    )


def old_rows(env: Environment) -> list[NotificationRow]:
    """The rows :func:`log_old_row` wrote that are still there."""
    return [row for row in env.store.outbox.log() if row.outcome == Outcome.SUPPRESSED]


def test_the_history_older_than_keep_is_deleted_and_the_alarm_kept(env: Environment) -> None:
    env.daemon = env.new_daemon(settings=a_day(env))
    env.run(1, 12)  # FIRING at START + 120, sent
    assert len(env.store.history()) == 1 and len(env.store.outbox.log()) == 1
    env.clock.now += DAY
    env.step(12)  # a day and a minute after the alarm fired; no data in between
    now = env.clock.now
    assert [(row.at, row.to_state) for row in env.store.history()] == [(now, AlarmState.STALE)]
    assert [(row.at, row.outcome) for row in env.store.outbox.log()] == [(now, Outcome.SENT)]
    record = env.store.record("load", METRIC)  # the FIRING transition went, the alarm stays
    assert record is not None and record.state is AlarmState.STALE
    assert env.store.outbox.pending_count() == 0


def test_the_daemon_prunes_in_its_first_cycle_and_then_once_an_hour(
    env: Environment, caplog: pytest.LogCaptureFixture
) -> None:
    env.daemon = env.new_daemon(settings=a_day(env))
    log_old_row(env)
    with caplog.at_level(logging.INFO, logger="alarmd.daemon"):
        env.step(1)  # at START + STEP = 2027-01-15 08:01 UTC
    assert old_rows(env) == []
    pruned = "pruned 0 transitions, 1 notifications, 0 messages, 0 check changes"
    assert f"{pruned} older than 2027-01-14 08:01 UTC" in caplog.messages
    log_old_row(env)
    env.run(*[1] * 59)  # the rest of the hour
    assert len(old_rows(env)) == 1
    env.step(1)  # an hour after the first prune
    assert old_rows(env) == []


def test_a_standby_daemon_prunes_nothing_until_it_takes_over(
    env: Environment, tmp_path: Path
) -> None:
    lock = tmp_path / "alarmd.lock"
    first = env.daemon = env.new_daemon(leadership=FileLock(lock), settings=a_day(env))
    second = env.new_daemon(leadership=FileLock(lock), settings=a_day(env))
    assert env.step(1).active
    log_old_row(env)
    env.clock.now += STEP
    assert not second.tick().active
    assert len(old_rows(env)) == 1
    first.leadership.release()  # the first process dies
    assert second.tick().active
    assert old_rows(env) == []


def test_a_prune_the_locked_database_refuses_is_logged_and_tried_next_cycle(
    env: Environment, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    engine = open_database(f"{env.database_url}?timeout=0.1")  # gives up on a lock soon
    try:
        env.daemon = env.new_daemon(engine=engine, settings=a_day(env))
        env.step(1)  # the first prune
        log_old_row(env)
        env.clock.now += 3600
        with exclusive_lock(tmp_path / "rexmon.db"):
            env.daemon.prune(env.clock.now)  # due, refused: no exception
        assert (
            "cannot prune the alarm history, trying again next cycle: database is locked"
            in caplog.messages
        )
        assert len(old_rows(env)) == 1
        env.step(1)  # a minute later, not an hour
        assert old_rows(env) == []
    finally:
        engine.dispose()
