from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import sqlalchemy as sa

from alarmd import schema
from alarmd.alarmstate import AlarmState, Severity
from alarmd.errors import NotAcknowledgeable
from alarmd.message import Message
from alarmd.outbox import NotificationRow, Outcome
from alarmd.record import new_record
from alarmd.statestore import AlarmStore, Change, TransitionRow
from alarmd.transition import Event, EventKind
from downtime.store import DowntimeStore
from rexmon.checkresult import CheckResult, CheckState
from rexmon.database import current_version, open_database

NOW = 1_800_000_000.0


@pytest.fixture
def store(tmp_path: Path) -> Iterator[AlarmStore]:
    engine = open_database(f"sqlite:///{tmp_path / 'rexmon.db'}")
    alarm_store = AlarmStore(engine)
    alarm_store.migrate()
    yield alarm_store
    engine.dispose()


def firing(rule: str = "load", metric: str = "host.n01.load.5m", value: float = 42.0):
    return replace(
        new_record(rule, metric, NOW),
        state=AlarmState.FIRING,
        severity=Severity.CRITICAL,
        level=Severity.CRITICAL,
        since=NOW + 60,
        value=value,
    )


def message(rule: str = "load", metric: str = "host.n01.load.5m") -> Message:
    event = Event(
        EventKind.FIRING, rule, metric, AlarmState.FIRING, Severity.CRITICAL, 42.0, "> 40",
        NOW, NOW, ("oncall",),
    )  # fmt: skip
    return Message("oncall", f"[rexmon] CRITICAL FIRING: {rule} on {metric}", "body", "failure",
                   (event,))  # fmt: skip


def test_it_shares_the_database_with_the_downtime_store(store: AlarmStore) -> None:
    DowntimeStore(store.engine).migrate()
    store.migrate()  # twice is harmless
    assert current_version(store.engine, "alarmd") == len(schema.MIGRATIONS)
    assert current_version(store.engine, "downtime") >= 1


def test_a_saved_record_is_read_back_with_its_transition(store: AlarmStore) -> None:
    rec = firing()
    assert store.save([Change(None, None, rec)], [], [], NOW + 60) == []
    assert store.record("load", "host.n01.load.5m") == rec
    assert store.record("load", "host.n01.load.6m") is None
    assert store.records() == [rec]
    assert store.history() == [
        TransitionRow(
            "load", "host.n01.load.5m", NOW + 60, AlarmState.OK, AlarmState.FIRING,
            Severity.CRITICAL, 42.0,
        )
    ]  # fmt: skip


def test_records_are_filtered_by_rule_and_metric_glob(store: AlarmStore) -> None:
    recs = [
        firing("load", "host.n01.load.5m"),
        firing("load", "host.n02.load.5m"),
        firing("disk", "host.n01.disk.root.used_ratio"),
        firing("load", "host_x.n01.a"),
    ]
    store.save([Change(None, None, rec) for rec in recs], [], [], NOW)
    assert [r.metric for r in store.records(rule="load")] == [
        "host.n01.load.5m", "host.n02.load.5m", "host_x.n01.a"]  # fmt: skip
    assert [(r.rule, r.metric) for r in store.records(metric_glob="host.n01.*")] == [
        ("disk", "host.n01.disk.root.used_ratio"), ("load", "host.n01.load.5m")]  # fmt: skip
    assert [r.metric for r in store.records(metric_glob="host.n02.load.5m")] == ["host.n02.load.5m"]
    assert len(store.records(metric_glob="*")) == 4


def test_a_muted_problem_is_stored_as_silenced(store: AlarmStore) -> None:
    before = firing()
    store.save([Change(None, None, before)], [], [], NOW)
    muted = replace(before, muted=True)
    version = store.load()[("load", "host.n01.load.5m")][1]
    store.save([Change(before, version, muted)], [], [], NOW + 60)
    assert store.records()[0].shown_state is AlarmState.SILENCED
    assert store.history(limit=1)[0].to_state is AlarmState.SILENCED
    assert [row.to_state for row in store.history(metric="host.n01.load.5m", end=NOW + 60)] == [
        AlarmState.FIRING
    ]


def test_an_acknowledgement_is_stored_and_wins_over_a_stale_write(store: AlarmStore) -> None:
    rec = firing()
    store.save([Change(None, None, rec)], [], [], NOW)
    acked = store.acknowledge("load", "host.n01.load.5m", "alice", "on it", None, NOW + 5)
    assert acked.ack is not None and acked.ack.by == "alice" and acked.ack.comment == "on it"
    assert store.record("load", "host.n01.load.5m") == acked
    # the daemon read version 1 before the acknowledgement: its write is refused
    later = replace(rec, value=43.0)
    assert store.save([Change(rec, 1, later)], [message()], [], NOW + 60) == [
        ("load", "host.n01.load.5m")
    ]
    assert store.record("load", "host.n01.load.5m") == acked
    assert store.outbox.due(NOW + 60) == []  # nothing of the refused batch was written


def test_only_problems_can_be_acknowledged(store: AlarmStore) -> None:
    store.save([Change(None, None, new_record("load", "host.n01.load.5m", NOW))], [], [], NOW)
    with pytest.raises(NotAcknowledgeable):
        store.acknowledge("load", "host.n01.load.5m", "alice", "", None, NOW)
    with pytest.raises(LookupError):
        store.acknowledge("load", "host.n09.load.5m", "alice", "", None, NOW)


def test_outbox_messages_are_due_until_sent_and_every_attempt_is_logged(
    store: AlarmStore,
) -> None:
    store.save([Change(None, None, firing())], [message()], [], NOW)
    [item] = store.outbox.due(NOW)
    assert item.message.receiver == "oncall" and item.attempts == 0
    assert item.alarms == ("load:host.n01.load.5m",)
    assert store.outbox.due(NOW, exclude=["oncall"]) == []
    store.outbox.finish(item, Outcome.FAILED, "connection refused", NOW + 1, retry_at=NOW + 61)
    assert store.outbox.due(NOW + 60) == []
    [again] = store.outbox.due(NOW + 61)
    assert again.attempts == 1
    store.outbox.finish(again, Outcome.SENT, "", NOW + 62, retry_at=None)
    assert store.outbox.due(NOW + 10_000) == [] and store.outbox.pending_count() == 0
    log = store.outbox.log()
    assert [(row.outcome, row.attempt, row.reason) for row in log] == [
        (Outcome.SENT, 2, ""),
        (Outcome.FAILED, 1, "connection refused"),
    ]
    assert log[0].alarms == ("load:host.n01.load.5m",)
    assert log[0].title == "[rexmon] CRITICAL FIRING: load on host.n01.load.5m"


def test_a_failed_send_without_retries_left_is_given_up(store: AlarmStore) -> None:
    store.save([], [message()], [], NOW)
    [item] = store.outbox.due(NOW)
    store.outbox.finish(item, Outcome.FAILED, "refused", NOW, retry_at=None)
    assert store.outbox.due(NOW + 1e6) == []


def test_suppressed_notifications_are_logged(store: AlarmStore) -> None:
    row = NotificationRow(NOW, "oncall", "t", Outcome.SUPPRESSED, "downtime 3", 0, ("load:m.x",))
    store.save([], [], [row], NOW)
    assert store.outbox.log() == [row]


def test_records_of_removed_rules_are_forgotten(store: AlarmStore) -> None:
    store.save([Change(None, None, firing("a")), Change(None, None, firing("b"))], [], [], NOW)
    assert store.forget_rules(["a"]) == 1
    assert [r.rule for r in store.records()] == ["a"]


def old_and_new_history(store: AlarmStore) -> None:
    """History up to NOW + 1 (old) and at NOW + 200 (new), outbox rows in every status."""
    rec = firing()
    suppressed = NotificationRow(
        NOW, "oncall", "t", Outcome.SUPPRESSED, "downtime 3", 0, ("load:m",)
    )
    store.save([Change(None, None, rec)], [message() for _ in range(6)], [suppressed], NOW)
    sent, gave_up, nothing, retried, _pending, sent_later = store.outbox.due(NOW)
    store.outbox.finish(sent, Outcome.SENT, "", NOW + 1, retry_at=None)
    store.outbox.finish(gave_up, Outcome.FAILED, "refused", NOW + 1, retry_at=None)
    store.outbox.finish(nothing, Outcome.NOTHING, "no URL to send to", NOW + 1, retry_at=None)
    store.outbox.finish(retried, Outcome.FAILED, "refused", NOW + 1, retry_at=NOW + 61)
    store.outbox.finish(sent_later, Outcome.SENT, "", NOW + 200, retry_at=None)
    store.save([Change(rec, 1, replace(rec, muted=True))], [], [], NOW + 200)
    store.checks.submit([check_result(NOW, CheckState.OK)], NOW)
    store.checks.submit([check_result(NOW + 200, CheckState.CRITICAL)], NOW + 200)


def check_result(at: float, state: CheckState) -> CheckResult:
    return CheckResult("nagios.n1.disk", int(at), state, f"DISK {state.name}")


def outbox_statuses(store: AlarmStore) -> list[str]:
    with store.engine.connect() as connection:
        return sorted(connection.execute(sa.select(schema.outbox.c.status)).scalars())


def assert_only_old_finished_history_is_pruned(store: AlarmStore, chunk: int) -> None:
    old_and_new_history(store)
    assert store.prune(NOW + 100, chunk=chunk) == {
        "transitions": 1,
        "notifications": 5,  # the suppressed row and the four attempts at NOW + 1
        "messages": 3,  # sent, gave-up, nothing
        "check changes": 1,  # the first result; the change at NOW + 200 and the check stay
    }
    assert [row.at for row in store.history()] == [NOW + 200]
    assert [(row.at, row.outcome) for row in store.outbox.log()] == [(NOW + 200, Outcome.SENT)]
    assert outbox_statuses(store) == ["failed", "pending", "sent"]
    assert store.outbox.pending_count() == 2  # still to be sent, however old
    assert [r.shown_state for r in store.records()] == [AlarmState.SILENCED]
    assert [c.at for c in store.checks.history("nagios.n1.disk")] == [NOW + 200]
    assert [c.state for c in store.checks.current()] == [CheckState.CRITICAL]
    assert store.prune(NOW + 100, chunk=chunk) == {
        "transitions": 0,
        "notifications": 0,
        "messages": 0,
        "check changes": 0,
    }


@pytest.mark.parametrize("chunk", [10_000, 2, 1])
def test_prune_deletes_exactly_the_old_finished_history_in_chunks(
    store: AlarmStore, chunk: int
) -> None:
    assert_only_old_finished_history_is_pruned(store, chunk)


@pytest.mark.postgres
def test_prune_works_on_postgresql(postgres_database_url: str) -> None:
    engine = open_database(postgres_database_url)
    try:
        store = AlarmStore(engine)
        store.migrate()
        assert_only_old_finished_history_is_pruned(store, 2)
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_the_store_works_on_postgresql(postgres_database_url: str) -> None:
    engine = open_database(postgres_database_url)
    try:
        store = AlarmStore(engine)
        store.migrate()
        rec = firing()
        assert store.save([Change(None, None, rec)], [message()], [], NOW) == []
        store.acknowledge("load", "host.n01.load.5m", "bob", "", NOW + 600, NOW)
        assert store.save([Change(rec, 1, rec)], [], [], NOW) == [("load", "host.n01.load.5m")]
        assert store.records(metric_glob="host.*")[0].ack is not None
        assert len(store.outbox.due(NOW)) == 1
        assert store.history()[0].to_state is AlarmState.FIRING
    finally:
        engine.dispose()
