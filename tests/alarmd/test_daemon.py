from __future__ import annotations

import socket
import time
from pathlib import Path

from alarmd.alarmstate import AlarmState, Severity
from alarmd.config import AlarmdConfig
from alarmd.outbox import Outcome
from downtime.model import Effect, Kind
from tests.alarmd.daemon_env import METRIC, RULES, STEP, Environment, Inbox, env, inbox

__all__ = ["env", "inbox"]  # fixtures


def test_a_metric_crossing_the_threshold_is_notified_once(env: Environment) -> None:
    env.run(1, 2, 3)
    assert env.inbox.bodies == []
    report = env.step(12)
    assert report.active and report.pairs == 1 and report.messages == 1
    assert env.inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]
    record = env.store.record("load", METRIC)
    assert record is not None and record.state is AlarmState.FIRING
    assert record.severity is Severity.CRITICAL and record.value == 12
    [row] = env.store.outbox.log()
    assert (row.outcome, row.attempt, row.alarms) == (Outcome.SENT, 1, ("load:host.n01.load",))


def test_a_firing_alarm_is_not_repeated_before_the_repeat_interval(env: Environment) -> None:
    env.run(1, 12)
    env.run(*[13] * 29)  # 29 minutes later
    assert len(env.inbox.bodies) == 1
    env.step(13)  # 30 minutes after the first message
    assert env.inbox.titles[-1] == "[rexmon] CRITICAL STILL FIRING: load on host.n01.load"
    assert len(env.inbox.bodies) == 2


def test_a_cleared_alarm_is_notified_as_resolved(env: Environment) -> None:
    env.run(1, 12, 12, 1)
    assert env.inbox.titles[-1] == "[rexmon] RESOLVED: load on host.n01.load"
    assert [row.to_state for row in reversed(env.store.history())] == [
        AlarmState.FIRING,
        AlarmState.RESOLVED,
    ]
    env.step(1)
    assert len(env.inbox.bodies) == 2
    assert env.store.record("load", METRIC).state is AlarmState.OK  # type: ignore[union-attr]


def test_nothing_is_sent_during_a_planned_downtime_and_it_is_recorded_silenced(
    env: Environment,
) -> None:
    env.run(1, 12)
    assert len(env.inbox.bodies) == 1
    now = env.clock.now
    env.downtime(now + 30, now + 10 * STEP)
    env.run(12, 12, 3, 3, 12, 12)  # escalates, clears and fires again inside the downtime
    assert len(env.inbox.bodies) == 1
    assert env.store.records()[0].shown_state is AlarmState.SILENCED
    suppressed = [row for row in env.store.outbox.log() if row.outcome == Outcome.SUPPRESSED]
    assert suppressed and "kernel update" in suppressed[0].reason
    env.run(12, 12, 12)  # the downtime ends while still firing
    assert len(env.inbox.bodies) == 1
    env.step(12)
    assert env.inbox.titles[-1] == "[rexmon] CRITICAL STILL FIRING: load on host.n01.load"
    assert len(env.inbox.bodies) == 2
    env.run(12, 12)
    assert len(env.inbox.bodies) == 2


def test_a_problem_that_starts_and_stays_in_a_downtime_is_announced_when_it_ends(
    env: Environment,
) -> None:
    now = env.clock.now
    env.downtime(now, now + 3 * STEP + 30)
    env.run(1, 12, 12)
    assert env.inbox.bodies == []
    env.step(12)
    assert env.inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]


def test_a_restarted_daemon_sends_no_duplicate(env: Environment) -> None:
    env.run(1, 12, 12)
    assert len(env.inbox.bodies) == 1
    env.daemon = env.new_daemon()  # same database, new process
    env.run(12, 12, 12)
    assert len(env.inbox.bodies) == 1
    assert env.store.record("load", METRIC).state is AlarmState.FIRING  # type: ignore[union-attr]


def test_a_restart_in_the_middle_of_a_downtime_sends_nothing(env: Environment) -> None:
    env.run(1, 12)
    now = env.clock.now
    env.downtime(now, now + 5 * STEP)
    env.run(3, 3, 12)
    env.daemon = env.new_daemon()
    env.run(12)
    assert len(env.inbox.bodies) == 1
    assert env.store.records()[0].shown_state is AlarmState.SILENCED


def test_a_message_stored_before_a_crash_is_sent_exactly_once(env: Environment) -> None:
    env.run(1)
    env.clock.now += STEP
    env.write(12)
    env.daemon.evaluate(env.clock.now)  # stored ... and killed before sending
    assert env.inbox.bodies == [] and env.store.outbox.pending_count() == 1
    env.daemon = env.new_daemon()
    env.run(12, 12)
    assert env.inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]
    assert env.store.outbox.pending_count() == 0
    env.daemon = env.new_daemon()
    env.run(12)
    assert len(env.inbox.bodies) == 1


def test_a_provider_that_is_down_is_retried_later_and_evaluation_goes_on(
    env: Environment,
) -> None:
    env.inbox.status = 500
    env.run(1, 12)
    assert env.inbox.refused == 1
    [failed] = env.store.outbox.log()
    assert failed.outcome == Outcome.FAILED and failed.attempt == 1 and failed.reason
    env.step(3)  # evaluation goes on: the alarm resolves while the provider is down
    assert env.store.record("load", METRIC).state is AlarmState.RESOLVED  # type: ignore[union-attr]
    assert env.inbox.refused == 2  # the first retry (after 1m) failed; RESOLVED waits behind it
    env.inbox.status = 200
    env.step(3)  # the second retry is due 2m after the first retry
    assert env.inbox.bodies == []
    env.step(3)
    assert env.inbox.titles == [  # in order
        "[rexmon] CRITICAL FIRING: load on host.n01.load",
        "[rexmon] RESOLVED: load on host.n01.load",
    ]
    outcomes = [(row.outcome, row.attempt) for row in reversed(env.store.outbox.log())]
    assert outcomes == [
        (Outcome.FAILED, 1),
        (Outcome.FAILED, 2),
        (Outcome.SENT, 3),
        (Outcome.SENT, 1),
    ]
    env.run(3, 3)
    assert len(env.inbox.bodies) == 2


def test_a_failed_send_waits_the_configured_retry_delay(env: Environment) -> None:
    settings = AlarmdConfig(rules=env.tmp_path / "alarms.yaml", send_timeout=5.0, retry_delay=300)
    env.daemon = env.new_daemon(settings=settings)
    env.inbox.status = 500
    env.run(1, 12)
    assert env.inbox.refused == 1
    env.inbox.status = 200
    env.run(12, 12, 12, 12)  # the default (1m) would have retried by now
    assert env.inbox.bodies == [] and env.inbox.refused == 1
    env.step(12)  # 5 minutes after the failure
    assert env.inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]


def test_a_metric_without_fresh_data_goes_stale(env: Environment) -> None:
    env.run(1, 2)
    env.run(None, None, None)
    assert env.store.record("load", METRIC).state is AlarmState.OK  # type: ignore[union-attr]
    env.step(None)  # 4 steps without data: over the default of 3 steps
    assert env.store.record("load", METRIC).state is AlarmState.STALE  # type: ignore[union-attr]
    assert env.inbox.titles == ["[rexmon] NO DATA: load on host.n01.load"]


def test_a_metric_is_fetched_once_per_tick_and_only_if_a_rule_needs_its_history(
    tmp_path: Path, inbox: Inbox
) -> None:
    rules = """
receivers:
  oncall: json://127.0.0.1:{port}/
rules:
  - {{name: a, match: "host.*.load", critical: "> 10"}}
  - {{name: b, match: "host.n01.*", warning: "avg(5m) > 3"}}
"""
    environment = Environment(tmp_path, inbox, rules)
    try:
        fetched: list[str] = []
        original = environment.archive.fetch

        def counting_fetch(metric: str, start: int, end: int) -> object:
            fetched.append(metric)
            return original(metric, start, end)

        environment.archive.fetch = counting_fetch  # type: ignore[method-assign,assignment]
        environment.write(1, "host.n02.load")
        report = environment.step(1)
        assert report.pairs == 3
        assert sorted(fetched) == ["host.n01.load", "host.n02.load"]  # n02: is it known?
        fetched.clear()
        environment.clock.now += STEP
        environment.write(1, "host.n02.load")
        environment.step(1)
        assert fetched == ["host.n01.load"]  # n02's rule now reads its last update alone
    finally:
        environment.close()


def test_an_acknowledgement_from_the_web_stops_repeats(env: Environment) -> None:
    env.run(1, 12)
    env.store.acknowledge("load", METRIC, "alice", "on it", None, env.clock.now)
    env.run(*[12] * 40)
    assert len(env.inbox.bodies) == 1
    record = env.store.record("load", METRIC)
    assert record is not None and record.ack is not None and record.ack.by == "alice"
    env.step(1)  # recovery is still sent, marked acknowledged ... and the ack ends
    assert env.inbox.titles[-1] == "[rexmon] RESOLVED: load on host.n01.load"
    assert env.store.record("load", METRIC).ack is None  # type: ignore[union-attr]


def test_a_skip_downtime_stops_evaluation_so_nothing_goes_stale(env: Environment) -> None:
    env.run(1, 2)
    now = env.clock.now
    env.downtime(now, now + 20 * STEP, effect=Effect.SKIP)
    env.run(*[None] * 10)
    assert env.inbox.bodies == []
    assert env.store.record("load", METRIC).state is AlarmState.OK  # type: ignore[union-attr]


def test_an_unplanned_downtime_changes_nothing_for_alarms(env: Environment) -> None:
    now = env.clock.now
    env.downtime(now, now + 20 * STEP, kind=Kind.UNPLANNED)
    env.run(1, 12)
    assert len(env.inbox.bodies) == 1


def test_a_problem_inside_a_flexible_window_starts_the_downtime(env: Environment) -> None:
    now = env.clock.now
    downtime_id = env.downtime(now, now + 60 * STEP, flexible=True, duration=5 * STEP)
    env.run(1, 1, 12)  # the problem appears: the downtime starts, nothing is sent
    triggered = env.downtimes.get(downtime_id).triggered
    assert triggered == env.clock.now
    env.run(12, 12, 12)
    assert env.inbox.bodies == []
    assert env.store.records()[0].shown_state is AlarmState.SILENCED
    env.run(12, 12, 12)  # five minutes after the trigger it is over
    assert env.inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]


def test_metrics_of_one_tick_for_one_receiver_are_grouped_into_one_message(
    env: Environment,
) -> None:
    env.write(1, "host.n02.load")
    env.step(1)
    env.write(12, "host.n02.load")
    report = env.step(12)
    assert report.events == 2 and report.messages == 1
    assert env.inbox.titles == ["[rexmon] 2 CRITICAL FIRING"]
    [row] = env.store.outbox.log()
    assert row.alarms == ("load:host.n01.load", "load:host.n02.load")


def test_a_reload_keeps_the_state_and_applies_new_rules(env: Environment) -> None:
    env.run(1, 12)
    env.rules_text = env.rules_text.replace('critical: "> 10"', 'critical: "> 20"')
    env.daemon.request_reload()
    env.step(12)  # 12 is now only a warning: de-escalated, nothing forgotten
    assert env.inbox.titles[-1] == "[rexmon] WARNING DE-ESCALATED: load on host.n01.load"
    env.rules_text = env.rules_text.replace("name: load", "name: load2")
    env.daemon.request_reload()
    env.step(12)
    assert [r.rule for r in env.store.records()] == ["load2"]


def test_a_broken_rules_file_on_reload_keeps_the_current_rules(env: Environment) -> None:
    env.run(1)
    env.rules_text = "rules: [{name: x}]"
    env.daemon.request_reload()
    env.step(12)
    assert env.inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]


def test_a_hanging_provider_never_holds_up_evaluation(tmp_path: Path, inbox: Inbox) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()  # accepts connections (in the backlog), never answers
    try:
        rules = RULES.replace("{port}", str(listener.getsockname()[1]))
        environment = Environment(tmp_path, inbox, rules.replace("{", "{{").replace("}", "}}"))
        try:
            daemon = environment.daemon
            environment.clock.now += STEP
            environment.write(12)
            started = time.monotonic()
            report = daemon.tick()
            assert time.monotonic() - started < 2.0
            assert report.messages == 1 and daemon.dispatcher.in_flight == 1
            environment.clock.now += STEP
            environment.write(12)
            assert daemon.tick().active and time.monotonic() - started < 3.0
            assert daemon.dispatcher.in_flight == 1  # still the same send, not resubmitted
        finally:
            environment.close()
    finally:
        listener.close()
