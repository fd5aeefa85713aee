from __future__ import annotations

from datetime import datetime

import pytest

from downtime.fields import FieldErrors, Reader, changes_from_fields, draft_from_fields
from downtime.model import Draft, Effect, Kind
from rexmon.timespec import site_zone

ZONE = site_zone("Europe/Zurich")
NOW = datetime(2026, 11, 22, 10, 0, tzinfo=ZONE).timestamp()
READER = Reader(NOW, ZONE)


def test_a_form_becomes_a_draft_in_the_site_zone() -> None:
    draft = draft_from_fields(
        {
            "scopes": "host.n1.*\n dcache.*, ",
            "start": "tomorrow 08:00",
            "duration": "4h",
            "reason": " kernel ",
            "kind": "unplanned",
            "effect": "mute",
        },
        READER,
        "Europe/Zurich",
    )
    start = int(datetime(2026, 11, 23, 8, 0, tzinfo=ZONE).timestamp())
    assert draft == Draft(
        ("host.n1.*", "dcache.*"),
        start,
        start + 4 * 3600,
        "kernel",
        Kind.UNPLANNED,
        Effect.MUTE,
        timezone="Europe/Zurich",
    )


def test_every_bad_field_is_named_at_once() -> None:
    with pytest.raises(FieldErrors) as info:
        draft_from_fields(
            {"start": "later", "end": "+1h", "duration": "1h", "kind": "maybe"}, READER, "UTC"
        )
    assert set(info.value.errors) == {"start", "kind", "reason", "scopes"}
    with pytest.raises(FieldErrors) as info:
        draft_from_fields(
            {"scopes": "a.*", "reason": "r", "end": "+1h", "duration": "1h"}, READER, "UTC"
        )
    assert info.value.errors == {"duration": "give an end or a duration, not both"}
    with pytest.raises(FieldErrors) as info:
        draft_from_fields({"scopes": "a.*", "reason": "r"}, READER, "UTC")
    assert info.value.errors == {"end": "give an end or a duration"}
    with pytest.raises(FieldErrors) as info:
        draft_from_fields(
            {"scopes": "a.*", "reason": "r", "duration": "1h", "who": "x"}, READER, "UTC"
        )
    assert info.value.errors == {"who": "no such field"}


def test_a_flexible_downtime_needs_its_own_duration() -> None:
    with pytest.raises(FieldErrors) as info:
        draft_from_fields(
            {"scopes": "a.*", "reason": "r", "end": "+8h", "flexible": "on"}, READER, "UTC"
        )
    assert info.value.errors == {"flex_duration": "a flexible downtime needs a duration"}
    draft = draft_from_fields(
        {"scopes": "a.*", "reason": "r", "end": "+8h", "flexible": True, "flex_duration": "2h"},
        READER,
        "UTC",
    )
    assert draft.flexible and draft.duration == 7200 and draft.end == int(NOW) + 8 * 3600


def test_an_edit_changes_only_what_was_given() -> None:
    current = Draft(("a.*",), int(NOW), int(NOW) + 3600, "r")
    assert changes_from_fields({"reason": "new"}, READER, current) == {"reason": "new"}
    assert changes_from_fields({"duration": "2h"}, READER, current) == {"end": int(NOW) + 7200}
    assert changes_from_fields({"start": "+1h", "duration": "1h"}, READER, current) == {
        "start": int(NOW) + 3600,
        "end": int(NOW) + 7200,
    }
    with pytest.raises(FieldErrors):
        changes_from_fields({"end": "soon"}, READER, current)
