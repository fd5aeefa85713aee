from __future__ import annotations

import pytest

from downtime.errors import DowntimeNotFound, InvalidDowntime
from downtime.model import Draft, Effect, Kind
from downtime.policy import Actor
from downtime.store import DowntimeStore
from tests.downtime.conftest import ALICE, NOW, Clock

HOUR = 3600


def draft(**fields: object) -> Draft:
    values: dict[str, object] = {
        "scopes": ("host.node01.*",),
        "start": NOW,
        "end": NOW + 4 * HOUR,
        "reason": "kernel update",
    }
    values.update(fields)
    return Draft(**values)  # type: ignore[arg-type]


def test_it_stores_a_downtime_and_reads_it_back(store: DowntimeStore) -> None:
    added = store.add(draft(scopes=("host.node01.*", "host.node02.*")), ALICE)
    got = store.get(added.id)
    assert got == added
    assert got.scopes == ("host.node01.*", "host.node02.*")
    assert (got.start, got.end, got.author) == (NOW, NOW + 4 * HOUR, "alice")
    assert got.kind is Kind.PLANNED and got.effect is Effect.MUTE
    assert got.created == got.updated == NOW and got.cancelled is None


def test_an_unplanned_downtime_only_labels_by_default(store: DowntimeStore) -> None:
    added = store.add(draft(kind=Kind.UNPLANNED), ALICE)
    assert added.effect is Effect.LABEL
    skipping = store.add(draft(kind=Kind.UNPLANNED, effect=Effect.SKIP), ALICE)
    assert skipping.effect is Effect.SKIP


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"scopes": ()}, "scopes"),
        ({"scopes": ("host/../etc",)}, "scopes"),
        ({"end": NOW - 1}, "end"),
        ({"reason": "   "}, "reason"),
        ({"rrule": "FREQ=SOMETIMES"}, "rrule"),
        ({"rrule": "FREQ=MINUTELY"}, "rrule"),
        ({"rrule": "FREQ=DAILY;UNTIL=20270101T000000Z"}, "rrule"),
        ({"until": NOW + 86400}, "until"),
        ({"flexible": True}, "duration"),
        ({"duration": 60}, "duration"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
    ],
)
def test_it_refuses_a_bad_downtime_naming_the_field(
    store: DowntimeStore, fields: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidDowntime) as caught:
        store.add(draft(**fields), ALICE)
    assert caught.value.field == field
    assert store.find() == []


def test_an_unknown_id_is_reported(store: DowntimeStore) -> None:
    with pytest.raises(DowntimeNotFound, match="no downtime with id 42"):
        store.get(42)


def test_every_change_is_in_the_audit_trail(store: DowntimeStore, clock: Clock) -> None:
    added = store.add(draft(), ALICE)
    clock.now = NOW + 60
    store.edit(added.id, Actor("bob"), reason="kernel 6.1 update", end=NOW + 5 * HOUR)
    clock.now = NOW + 120
    store.end(added.id, Actor("carol"))
    trail = store.audit_trail(added.id)
    assert [(e.action, e.actor, e.at) for e in trail] == [
        ("add", "alice", NOW),
        ("edit", "bob", NOW + 60),
        ("end", "carol", NOW + 120),
    ]
    assert trail[1].changes == {
        "reason": ["kernel update", "kernel 6.1 update"],
        "end": [NOW + 4 * HOUR, NOW + 5 * HOUR],
    }
    assert trail[2].changes == {"ended": [None, NOW + 120]}
    assert store.get(added.id).updated == NOW + 120


def test_an_edit_that_changes_nothing_is_not_recorded(store: DowntimeStore) -> None:
    added = store.add(draft(), ALICE)
    assert store.edit(added.id, ALICE, reason="kernel update") == added
    assert len(store.audit_trail(added.id)) == 1


def test_an_edit_of_an_unknown_field_is_refused(store: DowntimeStore) -> None:
    added = store.add(draft(), ALICE)
    with pytest.raises(InvalidDowntime) as caught:
        store.edit(added.id, ALICE, colour="red")
    assert caught.value.field == "colour"


def test_ending_stops_the_effect_now(store: DowntimeStore, clock: Clock) -> None:
    added = store.add(draft(), ALICE)
    assert [d.id for d in store.covering("host.node01.cpu.user", NOW + 10)] == [added.id]
    clock.now = NOW + HOUR
    store.end(added.id, ALICE)
    assert store.covering("host.node01.cpu.user", NOW + HOUR + 10) == []
    assert [d.id for d in store.find("past", at=NOW + HOUR)] == [added.id]


def test_ending_a_downtime_that_has_not_started_asks_to_cancel(store: DowntimeStore) -> None:
    added = store.add(draft(start=NOW + HOUR, end=NOW + 2 * HOUR), ALICE)
    with pytest.raises(InvalidDowntime, match="cancel it instead"):
        store.end(added.id, ALICE)


def test_a_cancelled_downtime_covers_nothing_and_cannot_change(store: DowntimeStore) -> None:
    added = store.add(draft(), ALICE)
    cancelled = store.cancel(added.id, ALICE)
    assert cancelled.cancelled == NOW
    assert store.covering("host.node01.cpu.user", NOW + 10) == []
    with pytest.raises(InvalidDowntime, match="cancelled"):
        store.edit(added.id, ALICE, reason="again")


def test_downtimes_are_found_by_state(store: DowntimeStore) -> None:
    past = store.add(draft(start=NOW - 4 * HOUR, end=NOW - HOUR), ALICE)
    active = store.add(draft(), ALICE)
    upcoming = store.add(draft(start=NOW + HOUR, end=NOW + 2 * HOUR), ALICE)
    assert [d.id for d in store.find("past")] == [past.id]
    assert [d.id for d in store.find("active")] == [active.id]
    assert [d.id for d in store.find("upcoming")] == [upcoming.id]
    assert len(store.find()) == 3
    with pytest.raises(InvalidDowntime):
        store.find("soon")


def test_covering_matches_globs_across_dots_and_times(store: DowntimeStore) -> None:
    wide = store.add(draft(scopes=("host.node0*",)), ALICE)
    narrow = store.add(draft(scopes=("host.node01.cpu.?ser",), end=NOW + HOUR), ALICE)
    assert [d.id for d in store.covering("host.node01.cpu.user", NOW)] == [wide.id, narrow.id]
    assert [d.id for d in store.covering("host.node01.cpu.user", NOW + HOUR)] == [wide.id]
    assert store.covering("host.node01.cpu.user", NOW + 4 * HOUR) == []
    assert store.covering("host.node11.cpu.user", NOW) == []


def test_overlapping_gives_the_windows_for_a_graph(store: DowntimeStore) -> None:
    first = store.add(draft(end=NOW + HOUR), ALICE)
    store.add(draft(scopes=("host.node02.*",)), ALICE)
    later = store.add(draft(start=NOW + 2 * HOUR, end=NOW + 3 * HOUR), ALICE)
    found = store.overlapping(["host.node01.load.one"], NOW - HOUR, NOW + 10 * HOUR)
    assert [(w.downtime.id, w.start, w.end) for w in found] == [
        (first.id, NOW, NOW + HOUR),
        (later.id, NOW + 2 * HOUR, NOW + 3 * HOUR),
    ]


def test_a_flexible_downtime_starts_only_when_a_problem_appears(
    store: DowntimeStore, clock: Clock
) -> None:
    added = store.add(draft(end=NOW + 8 * HOUR, flexible=True, duration=HOUR), ALICE)
    metric = "host.node01.disk.used_ratio"
    index = store.index(NOW, NOW + 1)
    assert index.covering(metric, NOW) == []
    assert [d.id for d in index.armed_flexible(metric, NOW)] == [added.id]
    assert [d.id for d in store.find("upcoming")] == [added.id]

    triggered = store.trigger_flexible(added.id, NOW + 2 * HOUR)
    assert triggered.triggered == NOW + 2 * HOUR
    assert store.covering(metric, NOW + 2 * HOUR + 10) == [triggered]
    assert store.covering(metric, NOW + 3 * HOUR) == []
    # a second problem does not restart it
    assert store.trigger_flexible(added.id, NOW + 4 * HOUR).triggered == NOW + 2 * HOUR
    assert [e.action for e in store.audit_trail(added.id)] == ["add", "trigger"]


def test_a_flexible_downtime_cannot_be_triggered_outside_its_window(
    store: DowntimeStore,
) -> None:
    added = store.add(draft(end=NOW + HOUR, flexible=True, duration=HOUR), ALICE)
    with pytest.raises(InvalidDowntime, match="outside"):
        store.trigger_flexible(added.id, NOW + 2 * HOUR)
    fixed = store.add(draft(), ALICE)
    with pytest.raises(InvalidDowntime, match="not flexible"):
        store.trigger_flexible(fixed.id, NOW)


def test_a_flexible_downtime_may_outlast_its_window(store: DowntimeStore) -> None:
    added = store.add(draft(end=NOW + HOUR, flexible=True, duration=2 * HOUR), ALICE)
    store.trigger_flexible(added.id, NOW + HOUR - 60)
    assert [d.id for d in store.covering("host.node01.x", NOW + 2 * HOUR)] == [added.id]
