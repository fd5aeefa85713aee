from __future__ import annotations

from datetime import datetime

import pytest

from downtime.errors import InvalidDowntime
from downtime.model import Draft
from downtime.recurrence import normalize_rrule
from downtime.store import DowntimeStore
from tests.downtime.conftest import ALICE, NOW, ZURICH, Clock, local

DAY = 86400
HOUR = 3600


def third_tuesdays(store: DowntimeStore, **fields: object) -> int:
    values: dict[str, object] = {
        "scopes": ("host.node01.*",),
        "start": local(2026, 1, 1, 6, 0),
        "end": local(2026, 1, 1, 10, 0),
        "reason": "monthly patching",
        "rrule": "FREQ=MONTHLY;BYDAY=3TU",
        "timezone": "Europe/Zurich",
    }
    values.update(fields)
    return store.add(Draft(**values), ALICE).id  # type: ignore[arg-type]


def test_a_series_stays_at_local_time_across_dst_changes(store: DowntimeStore) -> None:
    downtime_id = third_tuesdays(store)
    windows = store.overlapping(["host.node01.cpu.user"], local(2026, 1, 1), local(2026, 12, 31))
    starts = [datetime.fromtimestamp(w.start, ZURICH) for w in windows]
    ends = [datetime.fromtimestamp(w.end, ZURICH) for w in windows]
    assert len(windows) == 12
    assert all(w.downtime.id == downtime_id for w in windows)
    assert {(s.hour, s.minute, s.weekday()) for s in starts} == {(6, 0, 1)}
    assert {(e.hour, e.minute) for e in ends} == {(10, 0)}
    assert all(15 <= s.day <= 21 for s in starts)
    # winter is UTC+1, summer UTC+2: the UTC hour moves, the local one does not
    assert {str(s.utcoffset()) for s in starts} == {"1:00:00", "2:00:00"}
    assert (windows[0].start, windows[0].end) == (local(2026, 1, 20, 6), local(2026, 1, 20, 10))
    assert windows[3].start == local(2026, 4, 21, 6)


def test_a_window_starting_in_the_skipped_dst_hour_moves_and_keeps_its_length(
    store: DowntimeStore,
) -> None:
    start = local(2026, 3, 22, 2, 30)
    store.add(
        Draft(("a.*",), start, start + HOUR, "r", rrule="FREQ=WEEKLY", timezone="Europe/Zurich"),
        ALICE,
    )
    windows = store.overlapping(["a.b"], start, start + 15 * DAY)
    spring = datetime(2026, 3, 29, 3, 30, tzinfo=ZURICH)
    assert [(w.start, w.end) for w in windows] == [
        (start, start + HOUR),
        (int(spring.timestamp()), int(spring.timestamp()) + HOUR),
        (local(2026, 4, 5, 2, 30), local(2026, 4, 5, 3, 30)),
    ]


def test_the_first_window_of_a_series_is_its_first_occurrence(store: DowntimeStore) -> None:
    downtime = store.get(third_tuesdays(store))
    assert (downtime.start, downtime.end) == (local(2026, 1, 20, 6), local(2026, 1, 20, 10))


def test_a_series_covers_only_during_its_windows(store: DowntimeStore) -> None:
    third_tuesdays(store)
    metric = "host.node01.cpu.user"
    assert store.covering(metric, local(2026, 7, 21, 6, 30))
    assert store.covering(metric, local(2026, 7, 21, 10, 0)) == []
    assert store.covering(metric, local(2026, 7, 22, 6, 30)) == []


def test_a_series_ends_with_until_or_count(store: DowntimeStore) -> None:
    third_tuesdays(store, until=local(2026, 3, 31))
    third_tuesdays(store, rrule="FREQ=MONTHLY;BYDAY=3TU;COUNT=2", scopes=("host.node02.*",))
    year = (local(2026, 1, 1), local(2027, 1, 1))
    assert len(store.overlapping(["host.node01.x"], *year)) == 3
    assert len(store.overlapping(["host.node02.x"], *year)) == 2
    assert [d.scopes for d in store.find("past", at=local(2026, 6, 1))] == [
        ("host.node01.*",),
        ("host.node02.*",),
    ]


def test_an_endless_series_is_never_past(store: DowntimeStore) -> None:
    downtime_id = third_tuesdays(store)
    assert [d.id for d in store.find("upcoming", at=local(2040, 1, 1))] == [downtime_id]


def test_one_occurrence_can_be_moved_or_cancelled(store: DowntimeStore) -> None:
    downtime_id = third_tuesdays(store)
    store.edit_occurrence(
        downtime_id,
        ALICE,
        local(2026, 2, 17, 6),
        start=local(2026, 2, 18, 20),
        end=local(2026, 2, 18, 23),
    )
    store.edit_occurrence(downtime_id, ALICE, local(2026, 3, 17, 6), cancel=True)
    windows = store.overlapping(["host.node01.x"], local(2026, 1, 1), local(2026, 4, 30))
    assert [(w.start, w.end) for w in windows] == [
        (local(2026, 1, 20, 6), local(2026, 1, 20, 10)),
        (local(2026, 2, 18, 20), local(2026, 2, 18, 23)),
        (local(2026, 4, 21, 6), local(2026, 4, 21, 10)),
    ]
    assert [e.action for e in store.audit_trail(downtime_id)] == [
        "add",
        "edit-occurrence",
        "cancel-occurrence",
    ]


def test_an_occurrence_that_does_not_exist_is_refused(store: DowntimeStore) -> None:
    downtime_id = third_tuesdays(store)
    with pytest.raises(InvalidDowntime) as caught:
        store.edit_occurrence(downtime_id, ALICE, local(2026, 2, 18, 6), cancel=True)
    assert caught.value.field == "occurrence"


def test_editing_the_whole_series_moves_every_window(store: DowntimeStore) -> None:
    downtime_id = third_tuesdays(store)
    store.edit_occurrence(downtime_id, ALICE, local(2026, 3, 17, 6), cancel=True)
    store.edit(downtime_id, ALICE, start=local(2026, 1, 1, 7), end=local(2026, 1, 1, 9))
    windows = store.overlapping(["host.node01.x"], local(2026, 3, 1), local(2026, 4, 1))
    assert [(w.start, w.end) for w in windows] == [(local(2026, 3, 17, 7), local(2026, 3, 17, 9))]
    assert store.audit_trail(downtime_id)[-1].changes["overrides"] == [1, 0]


def test_ending_a_series_stops_it_for_good(store: DowntimeStore, clock: Clock) -> None:
    downtime_id = third_tuesdays(store)
    clock.now = local(2026, 3, 17, 7)
    store.end(downtime_id, ALICE)
    assert store.covering("host.node01.x", local(2026, 3, 17, 7, 30)) == []
    assert store.overlapping(["host.node01.x"], local(2026, 3, 18), local(2027, 1, 1)) == []
    assert [d.id for d in store.find("past", at=local(2026, 3, 17, 8))] == [downtime_id]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("FREQ=WEEKLY;BYDAY", "NAME=VALUE"),
        ("BYDAY=TU", "FREQ is missing"),
        ("FREQ=WEEKLY;BYDAY=XX", "invalid rule"),
        ("FREQ=WEEKLY;COUNT=0", "COUNT"),
        ("FREQ=SECONDLY", "too fine"),
        ("DTSTART=20260101T000000;FREQ=DAILY", "DTSTART"),
    ],
)
def test_a_bad_rule_is_refused_with_the_reason(text: str, message: str) -> None:
    with pytest.raises(InvalidDowntime, match=message):
        normalize_rrule(text)


def test_a_rule_is_normalised() -> None:
    assert normalize_rrule(" rrule:freq=monthly;byday=3tu ") == "FREQ=MONTHLY;BYDAY=3TU"


def test_a_rule_without_any_window_is_refused(store: DowntimeStore) -> None:
    with pytest.raises(InvalidDowntime) as caught:
        third_tuesdays(store, rrule="FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30")
    assert caught.value.field == "rrule"


def test_count_and_until_together_are_refused(store: DowntimeStore) -> None:
    with pytest.raises(InvalidDowntime) as caught:
        third_tuesdays(store, rrule="FREQ=DAILY;COUNT=3", until=NOW + 30 * DAY)
    assert caught.value.field == "until"
