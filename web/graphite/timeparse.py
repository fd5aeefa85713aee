"""Graphite's time syntax for ``from``/``until`` and its interval strings (``'5min'``).

Times: ``now``, offsets from now (``-1h``, ``-2d``, ``now-30min``, ``+1w``), UNIX
seconds, ``HH:MM_YYYYMMDD``, ``YYYYMMDD``, ``MM/DD/YY``, ``today``/``yesterday``/
``tomorrow`` (midnight) and, as rexmon elsewhere, ISO 8601. Local times are in the site
zone. Intervals: a number and a unit, summed (``1h30min``); the units are Graphite's
(``s``, ``min``, ``h``, ``d``, ``w``, ``mon`` = 30 days, ``y`` = 365 days), and ``m``
means minutes as everywhere else in rexmon.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from rexmon.errors import InvalidTime
from rexmon.timespec import parse_time
from web.graphite.errors import GraphiteError

MAX_TEXT = 64
_UNITS = (
    ("mon", 30 * 86400),
    ("min", 60),
    ("s", 1),
    ("m", 60),
    ("h", 3600),
    ("d", 86400),
    ("w", 7 * 86400),
    ("y", 365 * 86400),
)
_PART = re.compile(r"(\d+)\s*([a-z]+)", re.ASCII)
_OFFSET = re.compile(r"(?:now)?\s*([+-])\s*(.+)\Z", re.ASCII)
_CLOCK_DATE = re.compile(r"(\d{1,2}):(\d{2})_(\d{8})\Z", re.ASCII)
_DATE = re.compile(r"\d{8}\Z", re.ASCII)
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})\Z", re.ASCII)
_EPOCH = re.compile(r"\d{1,11}\Z", re.ASCII)
_DAYS = {"today": 0, "yesterday": -1, "tomorrow": 1, "midnight": 0}


def parse_interval(text: str) -> int:
    """Seconds of an interval such as ``5min``, ``1h``, ``7d``, ``-1d`` (sign kept)."""
    cleaned = text.strip().lower()
    sign = -1 if cleaned.startswith("-") else 1
    cleaned = cleaned.lstrip("+-").strip()
    seconds = 0
    position = 0
    for match in _PART.finditer(cleaned):
        if match.start() != position:
            break
        seconds += int(match.group(1)) * _unit(match.group(2), text)
        position = match.end()
        while position < len(cleaned) and cleaned[position] == " ":
            position += 1
    if position != len(cleaned) or position == 0:
        raise GraphiteError(
            f"cannot read the interval {text!r}; write it like '5min', '1h' or '7d'"
        )
    return sign * seconds


def _unit(word: str, text: str) -> int:
    for prefix, seconds in _UNITS:
        if word.startswith(prefix) and (prefix != "m" or word == "m"):
            return seconds
    raise GraphiteError(f"unknown unit {word!r} in {text!r}; use s, min, h, d, w, mon or y")


def _looks_like_date(digits: str) -> bool:
    """graphite-web's rule: eight digits that read as a date are YYYYMMDD, not seconds."""
    return (
        len(digits) == 8
        and int(digits[:4]) > 1900
        and 0 < int(digits[4:6]) < 13
        and 0 < int(digits[6:]) < 32
    )


def parse_graphite_time(text: str, now: int, zone: ZoneInfo, name: str) -> int:
    """UNIX seconds for a ``from``/``until`` value; ``name`` is the parameter, for errors."""
    if len(text) > MAX_TEXT:
        raise GraphiteError(f"{name}: at most {MAX_TEXT} characters")
    cleaned = text.strip().lower()
    if cleaned in ("", "now"):
        return now
    if _EPOCH.match(cleaned) and not _looks_like_date(cleaned):
        return int(cleaned)
    offset = _OFFSET.match(cleaned)
    if offset:
        try:
            return now + parse_interval(offset.group(1) + offset.group(2))
        except GraphiteError as exc:
            raise GraphiteError(f"{name}: {exc}") from None
    if cleaned in _DAYS:
        day = datetime.fromtimestamp(now, zone).date() + timedelta(days=_DAYS[cleaned])
        return int(datetime(day.year, day.month, day.day, tzinfo=zone).timestamp())
    try:
        if match := _CLOCK_DATE.match(cleaned):
            hour, minute, day_text = int(match.group(1)), int(match.group(2)), match.group(3)
            moment = datetime.strptime(day_text, "%Y%m%d").replace(hour=hour, minute=minute)
            return int(moment.replace(tzinfo=zone).timestamp())
        if _DATE.match(cleaned):
            return int(datetime.strptime(cleaned, "%Y%m%d").replace(tzinfo=zone).timestamp())
        if match := _US_DATE.match(cleaned):
            pattern = "%m/%d/%Y" if len(match.group(3)) == 4 else "%m/%d/%y"
            return int(datetime.strptime(cleaned, pattern).replace(tzinfo=zone).timestamp())
        return parse_time(text, now, zone)
    except (ValueError, InvalidTime):
        raise GraphiteError(
            f"{name}: cannot read {text!r}; use now, -1h, -2d, HH:MM_YYYYMMDD, YYYYMMDD"
            " or UNIX seconds"
        ) from None
