"""Times and durations written by people: ``30s``, ``4h``, ``now``, ``-1d``, ``+2h``,
``tomorrow 08:00``, ISO 8601 and UNIX epochs.

Everything is parsed against an explicit ``now`` and time zone, so callers read the clock
once per pass and tests inject it.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rexmon.errors import InvalidTime

UNIT_SECONDS = {
    "s": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
    "y": 365 * 86400,
}
MAX_DURATION = 100 * 365 * 86400
MAX_DURATION_TEXT = 100

_DURATION_PART = re.compile(r"(\d+)(min|[smhdwy])", re.ASCII)
_RELATIVE = re.compile(r"(?:now\s*)?([+-])\s*(\S.*)\Z", re.ASCII)
_DAY_WORD = re.compile(r"(today|tomorrow|yesterday)(?:\s+(\d{1,2}):(\d{2}))?\Z", re.ASCII)
_CLOCK = re.compile(r"(\d{1,2}):(\d{2})\Z", re.ASCII)
_EPOCH = re.compile(r"\d{9,11}\Z", re.ASCII)

TIME_HELP = (
    "use 'now', a relative time like '-1d' or '+2h', 'today 08:00', 'tomorrow 08:00',"
    " ISO 8601 like '2026-05-04T08:00' (site time zone unless it has an offset),"
    " or a UNIX time in seconds"
)


def parse_duration(text: str) -> int:
    """Seconds in ``text``: ``90``, ``30s``, ``5m``, ``4h``, ``1h30m``, ``7d``, ``2w``, ``1y``."""
    cleaned = text.strip().lower().replace(" ", "")
    if len(cleaned) > MAX_DURATION_TEXT:
        raise InvalidTime(f"duration {text[:40]!r}... is too long to be one")
    if cleaned.isascii() and cleaned.isdigit():
        seconds = int(cleaned)
    else:
        position = 0
        seconds = 0
        for match in _DURATION_PART.finditer(cleaned):
            if match.start() != position:
                break
            seconds += int(match.group(1)) * UNIT_SECONDS[match.group(2)]
            position = match.end()
        if position != len(cleaned) or position == 0:
            raise InvalidTime(
                f"expected a duration like '30s', '5m', '4h', '7d' or '1h30m', got {text!r}"
            )
    if seconds > MAX_DURATION:
        raise InvalidTime(f"duration {text!r} is longer than 100 years")
    return seconds


def format_duration(seconds: int) -> str:
    """The shortest exact spelling of a duration: 90 -> '1m30s', 86400 -> '1d'."""
    if seconds == 0:
        return "0s"
    parts = []
    for unit in ("w", "d", "h", "m", "s"):
        size = UNIT_SECONDS[unit]
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def site_zone(name: str) -> ZoneInfo:
    """The ZoneInfo for an IANA name such as ``Europe/Zurich``."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTime(f"unknown time zone {name!r}; use an IANA name like 'UTC'") from None


def parse_time(text: str, now: float, zone: ZoneInfo) -> int:
    """UNIX seconds for a time a person wrote (see :data:`TIME_HELP`)."""
    cleaned = text.strip().lower()
    if not cleaned:
        raise InvalidTime(f"empty time; {TIME_HELP}")
    if cleaned == "now":
        return int(now)
    if _EPOCH.match(cleaned):
        return int(cleaned)
    relative = _RELATIVE.match(cleaned)
    if relative:
        sign = 1 if relative.group(1) == "+" else -1
        try:
            return int(now) + sign * parse_duration(relative.group(2))
        except InvalidTime:
            raise InvalidTime(f"cannot read time {text!r}; {TIME_HELP}") from None
    day_word = _DAY_WORD.match(cleaned)
    clock = _CLOCK.match(cleaned)
    if day_word or clock:
        today = datetime.fromtimestamp(now, zone).date()
        if day_word:
            offset = {"today": 0, "tomorrow": 1, "yesterday": -1}[day_word.group(1)]
            hour, minute = day_word.group(2) or "0", day_word.group(3) or "0"
        else:
            assert clock is not None
            offset, hour, minute = 0, clock.group(1), clock.group(2)
        return _local(today + timedelta(days=offset), int(hour), int(minute), zone, text)
    try:
        moment = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise InvalidTime(f"cannot read time {text!r}; {TIME_HELP}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp())


def _local(day: date, hour: int, minute: int, zone: ZoneInfo, text: str) -> int:
    if hour > 23 or minute > 59:
        raise InvalidTime(f"no such time of day in {text!r}")
    return int(datetime.combine(day, dtime(hour, minute), tzinfo=zone).timestamp())


def format_time(seconds: float, zone: ZoneInfo) -> str:
    """ISO 8601 in the site zone with its offset, to the second."""
    return datetime.fromtimestamp(seconds, zone).isoformat(timespec="seconds")
