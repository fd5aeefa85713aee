"""Rules that test only the last value are read by the files' last updates (one batch),
not a fetch per metric: the same alarms, including values rrdcached holds unwritten,
a sample after a gap longer than the heartbeat (stored unknown) and a COUNTER."""

from __future__ import annotations

from pathlib import Path

from alarmd.alarmstate import AlarmState
from rexmon.metric import metric_path
from rexmon.sample import DsType, Sample
from rrdarchive.verdict import STORED
from tests.alarmd.daemon_env import METRIC, STEP, Environment, Inbox, env, inbox
from tests.fixtures_rrdcached import Rrdcached
from tests.plain_rrdtool import last_update

__all__ = ["env", "inbox"]  # fixtures


def counting_fetches(environment: Environment) -> list[str]:
    fetched: list[str] = []
    original = environment.archive.fetch

    def counting_fetch(metric: str, start: int, end: int) -> object:
        fetched.append(metric)
        return original(metric, start, end)

    environment.archive.fetch = counting_fetch  # type: ignore[method-assign,assignment]
    return fetched


def test_a_value_rrdcached_acknowledged_but_has_not_written_fires(
    tmp_path: Path, inbox: Inbox, rrdcached: Rrdcached
) -> None:
    environment = Environment(tmp_path, inbox, rrdcached=rrdcached.address)
    try:
        environment.run(1, 2)  # the first pass fetches once, to know the update is stored
        fetched = counting_fetches(environment)
        environment.clock.now += STEP
        environment.write(12)
        path = metric_path(environment.archive.config.root, METRIC)
        assert last_update(path) < environment.clock.now  # in rrdcached's cache only
        environment.daemon.tick()
        environment.daemon.dispatcher.drain(10.0)
        assert fetched == []
        assert inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]
        record = environment.store.record("load", METRIC)
        assert record is not None and record.value == 12
    finally:
        environment.close()


def test_a_sample_after_a_gap_longer_than_the_heartbeat_is_unknown_so_the_alarm_is_stale(
    env: Environment,
) -> None:
    env.run(1, 2, 3)
    fetched = counting_fetches(env)
    env.step(4)
    assert fetched == []  # read by its last update
    env.clock.now += 10 * STEP  # silence, longer than the heartbeat (2 steps)
    env.step(12)  # rrdtool stores this one as unknown
    assert fetched == [METRIC]
    assert env.store.record("load", METRIC).state is AlarmState.STALE  # type: ignore[union-attr]
    assert env.inbox.titles == ["[rexmon] NO DATA: load on host.n01.load"]
    env.step(12)  # known again: the gap before it is one step
    assert env.store.record("load", METRIC).state is AlarmState.FIRING  # type: ignore[union-attr]


def test_a_counter_is_fetched_as_its_last_value_fed_is_not_its_rate(env: Environment) -> None:
    metric = "host.n01.load"
    for step in range(4):
        env.clock.now += STEP
        total = 600.0 * (step + 1)  # 10 per second
        sample = Sample(metric, int(env.clock.now), total, DsType.COUNTER)
        assert env.archive.write([sample]) == [STORED]
        fetched = counting_fetches(env)
        env.daemon.tick()
        env.daemon.dispatcher.drain(10.0)
        assert fetched == [metric]
    record = env.store.record("load", metric)
    assert record is not None and record.value == 10  # the rate: warning over 5, not 2400
    assert record.state is AlarmState.FIRING
