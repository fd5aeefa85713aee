"""The dispatcher on a real SQLite file with real apprise sends to a local provider:
when a send is marked, a mark the locked database refuses, a send stuck in the provider.

The e2e tests (tests/e2e/test_alarmd_faults.py, test_database_faults.py) check the same
with whole programs; these drive one daemon's outbox step by step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alarmd.config import AlarmdConfig
from alarmd.outbox import Outcome
from rexmon.database import open_database
from tests.alarmd.daemon_env import STEP, Environment, Inbox, env, inbox
from tests.faults import Provider, exclusive_lock

__all__ = ["env", "inbox"]  # fixtures

FIRING = "[rexmon] CRITICAL FIRING: load on host.n01.load"
RESOLVED = "[rexmon] RESOLVED: load on host.n01.load"


@pytest.fixture
def provider() -> Iterator[Provider]:
    """A provider that can keep a request unanswered: ``hold(n)`` ... ``release``."""
    held = Provider()
    held.up()
    yield held
    held.close()


@pytest.fixture
def held_env(tmp_path: Path, provider: Provider) -> Iterator[Environment]:
    """The daemon environment with its receiver at ``provider`` (``env.inbox`` unused)."""
    environment = Environment(tmp_path, Inbox(provider.port))
    yield environment
    environment.close()


def evaluate(env: Environment, *values: float) -> None:
    """Minute by minute: store each value and evaluate; the messages stay in the outbox."""
    for value in values:
        env.clock.now += STEP
        env.write(value)
        env.daemon.evaluate(env.clock.now)


def test_a_message_is_marked_sent_as_soon_as_the_provider_answers(
    held_env: Environment, provider: Provider
) -> None:
    env = held_env
    evaluate(env, 1, 12, 1)
    assert env.store.outbox.pending_count() == 2
    provider.hold(2)  # the second message stays with the provider, unanswered
    dispatcher = env.daemon.dispatcher
    assert dispatcher.dispatch(env.clock.now) == 2  # one flight, sent in order
    assert provider.reached.wait(10)
    [row] = env.store.outbox.log()  # no collect() yet: the worker marked the first
    assert (row.title, row.outcome, row.attempt) == (FIRING, Outcome.SENT, 1)
    assert env.store.outbox.pending_count() == 1
    provider.release.set()
    assert dispatcher.drain(10.0) == []  # the worker stored both: nothing left to collect
    assert [row.title for row in env.store.outbox.log()] == [RESOLVED, FIRING]
    assert env.store.outbox.pending_count() == 0


def test_a_mark_the_locked_database_refuses_is_stored_later_and_not_sent_again(
    env: Environment, tmp_path: Path
) -> None:
    engine = open_database(f"{env.database_url}?timeout=0.1")  # gives up on a lock soon
    try:
        env.daemon = env.new_daemon(engine=engine)
        evaluate(env, 1, 12)
        dispatcher = env.daemon.dispatcher
        with exclusive_lock(tmp_path / "rexmon.db"):
            assert dispatcher.dispatch(env.clock.now) == 1
            assert dispatcher.drain(10.0) == []  # answered, but neither worker nor collect
            assert env.inbox.titles == [FIRING]  # could mark it
            assert env.store.outbox.pending_count() == 1 and dispatcher.in_flight == 1
            assert dispatcher.dispatch(env.clock.now + STEP) == 0  # kept: not sent again
        [(item, result)] = dispatcher.collect()  # the lock is gone
        assert (item.message.title, result.outcome) == (FIRING, Outcome.SENT)
        assert dispatcher.in_flight == 0 and env.store.outbox.pending_count() == 0
        env.run(12, 12)
        assert env.inbox.titles == [FIRING]
        [row] = env.store.outbox.log()
        assert (row.outcome, row.attempt) == (Outcome.SENT, 1)
    finally:
        engine.dispose()


def test_a_send_stuck_past_twice_its_timeout_is_given_up_and_its_late_answer_ignored(
    held_env: Environment, provider: Provider
) -> None:
    env = held_env
    settings = AlarmdConfig(rules=env.tmp_path / "alarms.yaml", send_timeout=0.05)
    env.daemon = env.new_daemon(settings=settings)
    evaluate(env, 1, 12, 1)
    provider.hold(1)
    dispatcher = env.daemon.dispatcher
    assert dispatcher.dispatch(env.clock.now) == 2
    assert provider.reached.wait(10)
    time.sleep(0.3)  # past twice the send timeout of the flight (0.2 s for two messages)
    [(item, result)] = dispatcher.collect()
    assert (item.message.title, result.outcome, result.detail) == (
        FIRING,
        Outcome.FAILED,
        "timed out",
    )
    assert dispatcher.in_flight == 0
    provider.release.set()  # the provider accepts the first message after all ...
    env.daemon.dispatcher.sender.close(wait=True)  # ... and the worker has its answer:
    assert len(provider.bodies) == 1  # it stops there (RESOLVED waits for the retry)
    [row] = env.store.outbox.log()  # and the late answer is not stored
    assert (row.title, row.outcome, row.reason, row.attempt) == (
        FIRING,
        Outcome.FAILED,
        "timed out",
        1,
    )
    assert env.store.outbox.pending_count() == 2


TWO_RECEIVERS = """
receivers:
  oncall: json://127.0.0.1:{port}/oncall
  ops: json://127.0.0.1:{port}/ops
rules:
  - {{name: load, match: host.*.load, critical: "> 10", receivers: [oncall, ops]}}
"""


def test_while_the_database_refuses_a_collect_tries_it_once_not_once_per_receiver(
    tmp_path: Path, inbox: Inbox, caplog: pytest.LogCaptureFixture
) -> None:
    env = Environment(tmp_path, inbox, TWO_RECEIVERS)
    engine = open_database(f"{env.database_url}?timeout=0.1")  # each try waits this long
    try:
        env.daemon = env.new_daemon(engine=engine)
        evaluate(env, 1, 12)
        dispatcher = env.daemon.dispatcher
        with exclusive_lock(tmp_path / "rexmon.db"):
            assert dispatcher.dispatch(env.clock.now) == 2  # two receivers, two workers
            dispatcher.drain(10.0)
            assert len(inbox.bodies) == 2 and dispatcher.in_flight == 2
            caplog.clear()
            assert dispatcher.collect() == []
            tries = [r for r in caplog.records if r.getMessage().startswith("cannot log")]
            assert len(tries) == 1  # one try at the database, not one per receiver
        assert len(dispatcher.collect()) == 2  # the lock is gone: both stored
        assert dispatcher.in_flight == 0 and env.store.outbox.pending_count() == 0
    finally:
        env.close()
        engine.dispose()
