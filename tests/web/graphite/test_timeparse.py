"""Graphite's ``from``/``until`` syntax and interval strings."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from web.graphite.errors import GraphiteError
from web.graphite.timeparse import parse_graphite_time, parse_interval

ZURICH = ZoneInfo("Europe/Zurich")
NOW = int(datetime(2026, 5, 4, 12, 30, tzinfo=ZURICH).timestamp())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("now", NOW),
        ("", NOW),
        ("-1h", NOW - 3600),
        ("-2d", NOW - 2 * 86400),
        ("now-30min", NOW - 1800),
        ("+1w", NOW + 7 * 86400),
        ("-1h30min", NOW - 5400),
        ("-5minutes", NOW - 300),
        ("-1mon", NOW - 30 * 86400),
        ("1700000000", 1_700_000_000),
        ("08:15_20260503", int(datetime(2026, 5, 3, 8, 15, tzinfo=ZURICH).timestamp())),
        ("20260503", int(datetime(2026, 5, 3, tzinfo=ZURICH).timestamp())),
        ("05/03/26", int(datetime(2026, 5, 3, tzinfo=ZURICH).timestamp())),
        ("yesterday", int(datetime(2026, 5, 3, tzinfo=ZURICH).timestamp())),
        ("2026-05-03T08:00", int(datetime(2026, 5, 3, 8, tzinfo=ZURICH).timestamp())),
    ],
)
def test_graphite_times_are_read_in_the_site_zone(text: str, expected: int) -> None:
    assert parse_graphite_time(text, NOW, ZURICH, "from") == expected


@pytest.mark.parametrize("text", ["soon", "-1fortnight", "25:00_20260503", "-h", "x" * 65])
def test_unreadable_times_name_the_parameter(text: str) -> None:
    with pytest.raises(GraphiteError, match="until"):
        parse_graphite_time(text, NOW, ZURICH, "until")


def test_intervals_keep_their_sign_and_accept_graphite_units() -> None:
    assert parse_interval("5min") == 300
    assert parse_interval("-1d") == -86400
    assert parse_interval("2w") == 14 * 86400
    assert parse_interval("1y") == 365 * 86400
    assert parse_interval("10s") == 10
    with pytest.raises(GraphiteError):
        parse_interval("")
