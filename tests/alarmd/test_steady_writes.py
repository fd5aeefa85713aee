"""A cycle stores only the alarms whose durable part changed (``same_durable``), and the
new value of a problem (the status page shows it): an OK alarm's new value alone is not
written, and restarts still neither repeat nor forget."""

from __future__ import annotations

from alarmd.alarmstate import AlarmState
from tests.alarmd.daemon_env import METRIC, Environment, env, inbox

__all__ = ["env", "inbox"]  # fixtures

KEY = ("load", METRIC)


def version(env: Environment) -> int:
    return env.store.load()[KEY][1]


def test_an_ok_alarm_whose_value_moves_is_not_rewritten(env: Environment) -> None:
    [first] = env.run(1)
    assert first.changed == 1 and version(env) == 1
    reports = env.run(2, 3, 4, 2)
    assert [report.changed for report in reports] == [0, 0, 0, 0]
    assert [report.pairs for report in reports] == [1, 1, 1, 1]
    assert version(env) == 1
    assert env.store.record(*KEY).value == 1  # type: ignore[union-attr]


def test_a_state_change_is_written_with_the_value_that_caused_it(env: Environment) -> None:
    env.run(1, 2)
    [report] = env.run(12)
    assert report.changed == 1 and version(env) == 2
    record = env.store.record(*KEY)
    assert record is not None and record.state is AlarmState.FIRING and record.value == 12
    assert [r.changed for r in env.run(13, 14, 14)] == [1, 1, 0]  # a problem's new value
    assert version(env) == 4 and env.store.record(*KEY).value == 14  # type: ignore[union-attr]


def test_a_restart_after_unwritten_cycles_resends_nothing_and_keeps_the_repeat_time(
    env: Environment,
) -> None:
    env.run(1, 12)
    env.run(*[13] * 10)  # firing; only the first new value written
    assert len(env.inbox.bodies) == 1 and version(env) == 3
    env.daemon = env.new_daemon()  # same database, new process
    reports = env.run(*[14] * 19)  # 29 minutes after the message
    assert len(env.inbox.bodies) == 1
    assert sum(report.changed for report in reports) == 1  # the new value, once
    env.step(14)  # 30 minutes after it: the repeat, as without the restart
    assert env.inbox.titles[-1] == "[rexmon] CRITICAL STILL FIRING: load on host.n01.load"
    assert env.store.record(*KEY).value == 14  # type: ignore[union-attr]


def test_an_acknowledgement_of_an_unwritten_alarm_is_kept_and_stops_the_repeat(
    env: Environment,
) -> None:
    env.run(1, 12, 13)
    env.store.acknowledge("load", METRIC, "alice", "on it", None, env.clock.now)
    env.run(*[13] * 40)  # the daemon's copy lacks the ack until it has something to write
    assert len(env.inbox.bodies) == 1
    record = env.store.record(*KEY)
    assert record is not None and record.ack is not None and record.ack.by == "alice"
