from __future__ import annotations

import icalendar

from downtime.ics import render_ics
from downtime.model import Draft, Kind
from downtime.store import DowntimeStore
from tests.downtime.conftest import ALICE, NOW, local


def unfold(text: str) -> list[str]:
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    return text.replace("\r\n ", "").split("\r\n")


def test_a_single_downtime_is_an_event_in_utc(store: DowntimeStore) -> None:
    reason = "disk swap; RAID, rebuild " + "x" * 80
    added = store.add(
        Draft(("host.node01.*",), NOW, NOW + 3600, reason, kind=Kind.UNPLANNED), ALICE
    )
    text = render_ics([added])
    assert text.endswith("END:VCALENDAR\r\n")
    lines = unfold(text)
    assert lines[:2] == ["BEGIN:VCALENDAR", "VERSION:2.0"]
    assert f"UID:downtime-{added.id}@rexmon" in lines
    assert "DTSTART:20260317T110000Z" in lines
    assert "DTEND:20260317T120000Z" in lines
    assert f"SUMMARY:[unplanned] disk swap\\; RAID\\, rebuild {'x' * 80}" in lines
    assert "STATUS:CONFIRMED" in lines
    assert "BEGIN:VTIMEZONE" not in lines


def test_a_series_keeps_its_zone_rule_and_exceptions(store: DowntimeStore) -> None:
    added = store.add(
        Draft(
            ("host.node01.*",),
            local(2026, 1, 1, 6),
            local(2026, 1, 1, 10),
            "patching",
            rrule="FREQ=MONTHLY;BYDAY=3TU",
            until=local(2026, 12, 31),
            timezone="Europe/Zurich",
        ),
        ALICE,
    )
    store.edit_occurrence(added.id, ALICE, local(2026, 3, 17, 6), cancel=True)
    store.edit_occurrence(added.id, ALICE, local(2026, 4, 21, 6), start=local(2026, 4, 22, 6))
    lines = unfold(render_ics([store.get(added.id)]))
    assert "DTSTART;TZID=Europe/Zurich:20260120T060000" in lines
    assert "DTEND;TZID=Europe/Zurich:20260120T100000" in lines
    assert "RRULE:FREQ=MONTHLY;BYDAY=3TU;UNTIL=20261230T230000Z" in lines
    assert "EXDATE;TZID=Europe/Zurich:20260317T060000" in lines
    assert "RECURRENCE-ID;TZID=Europe/Zurich:20260421T060000" in lines
    assert lines.count("BEGIN:VEVENT") == 2
    # the zone's real 2026 transitions, and the observance in force on 1 January
    zone = lines[lines.index("BEGIN:VTIMEZONE") : lines.index("END:VTIMEZONE") + 1]
    assert "TZID:Europe/Zurich" in zone
    assert "DTSTART:20260329T020000" in zone and "TZOFFSETTO:+0200" in zone
    assert "DTSTART:20261025T030000" in zone
    assert zone.count("BEGIN:DAYLIGHT") == 1


def test_a_cancelled_downtime_is_exported_as_cancelled(store: DowntimeStore) -> None:
    added = store.add(Draft(("host.node01.*",), NOW, NOW + 60, "oops"), ALICE)
    assert "STATUS:CANCELLED" in unfold(render_ics([store.cancel(added.id, ALICE)]))


def test_line_breaks_and_separators_in_a_reason_are_escaped_and_lines_folded(
    store: DowntimeStore,
) -> None:
    reason = "one\rDESCRIPTION:injected\r\nBEGIN:VEVENT\nends with \\; a, b\x07 é" + "ü" * 60
    added = store.add(Draft(("host.node01.*",), NOW, NOW + 3600, reason), ALICE)
    text = render_ics([added])
    assert text.endswith("\r\n")
    for line in text[:-2].split("\r\n"):
        assert "\r" not in line and "\n" not in line, line
        assert len(line.encode("utf-8")) <= 75, line
        assert line.isprintable(), line
    events = icalendar.Calendar.from_ical(text).walk("VEVENT")
    assert len(events) == 1
    expected = reason.replace("\r\n", "\n").replace("\r", "\n").replace("\x07", "")
    assert str(events[0]["SUMMARY"]) == f"[planned] {expected}"
    assert "DESCRIPTION:injected" not in unfold(text)
