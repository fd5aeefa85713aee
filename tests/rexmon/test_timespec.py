from __future__ import annotations

from datetime import datetime

import pytest

from rexmon.errors import InvalidTime
from rexmon.timespec import (
    format_duration,
    format_time,
    parse_duration,
    parse_time,
    site_zone,
)

ZURICH = site_zone("Europe/Zurich")
# 2026-11-22 10:30:00 in Zurich (UTC+1)
NOW = datetime(2026, 11, 22, 10, 30, tzinfo=ZURICH).timestamp()


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", 90),
        ("30s", 30),
        ("5m", 300),
        ("5min", 300),
        ("4h", 14400),
        ("1h30m", 5400),
        ("7d", 604800),
        ("2w", 1209600),
        ("1y", 31536000),
        (" 2H ", 7200),
    ],
)
def test_durations_read_as_people_write_them(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "h", "5x", "5m3", "-5m", "1.5h", "999999y"])
def test_a_bad_duration_is_refused(text: str) -> None:
    with pytest.raises(InvalidTime):
        parse_duration(text)


def test_format_duration_is_the_inverse_of_parse() -> None:
    for seconds in (0, 1, 59, 90, 3600, 5400, 86400, 694861):
        assert parse_duration(format_duration(seconds)) == seconds


def test_relative_and_named_times_use_the_injected_clock_and_zone() -> None:
    assert parse_time("now", NOW, ZURICH) == int(NOW)
    assert parse_time("-1d", NOW, ZURICH) == int(NOW) - 86400
    assert parse_time("+2h", NOW, ZURICH) == int(NOW) + 7200
    assert parse_time("now-30m", NOW, ZURICH) == int(NOW) - 1800
    tomorrow_8 = datetime(2026, 11, 23, 8, 0, tzinfo=ZURICH).timestamp()
    assert parse_time("tomorrow 08:00", NOW, ZURICH) == tomorrow_8
    assert parse_time("08:00", NOW, ZURICH) == tomorrow_8 - 86400
    assert parse_time("1700000000", NOW, ZURICH) == 1700000000


def test_iso_times_without_offset_are_in_the_site_zone() -> None:
    assert (
        parse_time("2026-07-01T08:00", NOW, ZURICH)
        == datetime(2026, 7, 1, 6, 0, tzinfo=site_zone("UTC")).timestamp()
    )
    assert (
        parse_time("2026-07-01T08:00Z", NOW, ZURICH)
        == datetime(2026, 7, 1, 8, 0, tzinfo=site_zone("UTC")).timestamp()
    )
    assert format_time(NOW, ZURICH) == "2026-11-22T10:30:00+01:00"


@pytest.mark.parametrize("text", ["", "yesterdayish", "tomorrow 25:00", "2026-13-01", "-1x"])
def test_a_bad_time_is_refused_with_help(text: str) -> None:
    with pytest.raises(InvalidTime):
        parse_time(text, NOW, ZURICH)


def test_an_unknown_zone_is_refused() -> None:
    with pytest.raises(InvalidTime, match="unknown time zone"):
        site_zone("Mars/Olympus")
