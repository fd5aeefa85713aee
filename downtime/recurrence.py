"""Windows of a downtime: fixed, flexible, or an RFC 5545 RRULE series.

A series is expanded on the wall clock of its time zone: "FREQ=MONTHLY;BYDAY=3TU" from a
06:00-10:00 first window stays 06:00-10:00 local time in summer and in winter. The rule
text holds neither DTSTART (the downtime's start) nor UNTIL (the downtime's ``until``,
kept in UTC seconds); COUNT is allowed. A local time skipped by a DST change (02:30 on
the spring-forward night) is taken with the offset in force before the change, i.e. it
falls one hour later on the clock, and the window keeps its length.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from downtime.errors import InvalidDowntime
from downtime.model import Downtime, Window
from rexmon.errors import InvalidTime
from rexmon.timespec import site_zone

MAX_COUNT = 10_000
_FORBIDDEN = {"DTSTART": "the series starts at 'start'", "UNTIL": "give 'until' instead"}
_TOO_FINE = {"SECONDLY", "MINUTELY"}
_PART = re.compile(r"[A-Z]+=[A-Z0-9,+\-]+\Z", re.ASCII)


def normalize_rrule(text: str) -> str:
    """Check an RRULE written by a person and return it upper-cased without a prefix."""
    cleaned = text.strip().upper()
    if cleaned.startswith("RRULE:"):
        cleaned = cleaned[len("RRULE:") :]
    if not cleaned:
        raise InvalidDowntime("rrule", "empty rule; write e.g. 'FREQ=MONTHLY;BYDAY=3TU'")
    names = set()
    for part in cleaned.split(";"):
        if not _PART.match(part):
            raise InvalidDowntime("rrule", f"cannot read {part!r}; expected NAME=VALUE")
        name, value = part.split("=", 1)
        if name in _FORBIDDEN:
            raise InvalidDowntime("rrule", f"{name} is not allowed in the rule: {_FORBIDDEN[name]}")
        if name == "FREQ" and value in _TOO_FINE:
            raise InvalidDowntime("rrule", f"FREQ={value} is too fine; use HOURLY or coarser")
        if name == "COUNT" and not 1 <= int(value if value.isdigit() else 0) <= MAX_COUNT:
            raise InvalidDowntime("rrule", f"COUNT must be 1 to {MAX_COUNT}, got {value!r}")
        names.add(name)
    if "FREQ" not in names:
        raise InvalidDowntime("rrule", "FREQ is missing, e.g. 'FREQ=WEEKLY;BYDAY=TU'")
    try:
        rrulestr(cleaned, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as exc:
        raise InvalidDowntime("rrule", f"invalid rule {text!r}: {exc}") from None
    return cleaned


def zone_of(name: str) -> ZoneInfo:
    try:
        return site_zone(name)
    except InvalidTime as exc:
        raise InvalidDowntime("timezone", str(exc)) from None


class Series:
    """The expansion of one rule from a first window, in one time zone."""

    def __init__(
        self, rule: str, start: int, end: int, timezone: str, until: int | None = None
    ) -> None:
        self.zone = zone_of(timezone)
        local_start = self._local(start)
        self.length = self._local(end) - local_start  # wall-clock length
        parsed = rrulestr(rule, dtstart=local_start)
        assert isinstance(parsed, rrule)
        if until is not None:
            if _count(parsed) is not None:
                raise InvalidDowntime("until", "the rule has COUNT; give COUNT or until")
            parsed = parsed.replace(until=self._local(until))
        self.rule = parsed
        self.bounded = _count(parsed) is not None or until is not None

    def _local(self, seconds: int) -> datetime:
        return datetime.fromtimestamp(seconds, self.zone).replace(tzinfo=None)

    def _utc(self, local: datetime) -> int:
        return int(local.replace(tzinfo=self.zone).timestamp())

    def window(self, local_start: datetime) -> tuple[int, int]:
        first, last = self._utc(local_start), self._utc(local_start + self.length)
        if last <= first:  # started in the hour a DST change skips: keep the length
            last = first + int(self.length.total_seconds())
        return first, last

    def window_at(self, seconds: int) -> tuple[int, int]:
        """The window that starts at ``seconds``."""
        return self.window(self._local(seconds))

    def between(self, start: int, end: int) -> Iterator[tuple[int, int]]:
        """Windows that intersect ``[start, end)``."""
        slack = self.length + timedelta(days=1)
        after = self._local(start) - slack
        before = self._local(end) + timedelta(days=1)
        for local in self.rule.between(after, before, inc=True):
            first, last = self.window(local)
            if first < end and last > start:
                yield first, last

    def first(self) -> tuple[int, int] | None:
        local = next(iter(self.rule), None)
        return None if local is None else self.window(local)

    def last(self) -> tuple[int, int] | None:
        """The last window, or None for an unbounded series."""
        if not self.bounded:
            return None
        every = list(self.rule)  # bounded by COUNT or UNTIL
        return self.window(every[-1]) if every else None

    def is_occurrence(self, seconds: int) -> bool:
        local = self._local(seconds)
        return self.rule.after(local, inc=True) == local


def _count(rule: rrule) -> int | None:
    """COUNT of a parsed rule (dateutil keeps it in a private attribute)."""
    count = getattr(rule, "_count", None)
    return count if isinstance(count, int) else None


def windows(downtime: Downtime, start: int, end: int) -> list[Window]:
    """The windows of ``downtime`` that intersect ``[start, end)``, ordered by start."""
    if downtime.cancelled is not None:
        return []
    if downtime.flexible:
        if downtime.triggered is None or downtime.duration is None:
            return []
        found = [(downtime.triggered, downtime.triggered + downtime.duration, downtime.start)]
    elif downtime.rrule is None:
        found = [(downtime.start, downtime.end, downtime.start)]
    else:
        found = _series_windows(downtime, start, end)
    result = []
    for first, last, original in found:
        if downtime.ended is not None:
            last = min(last, downtime.ended)
        if first < last and first < end and last > start:
            result.append(Window(downtime, first, last, original))
    result.sort(key=lambda window: window.start)
    return result


def _series_windows(downtime: Downtime, start: int, end: int) -> list[tuple[int, int, int]]:
    assert downtime.rrule is not None
    series = Series(downtime.rrule, downtime.start, downtime.end, downtime.timezone, downtime.until)
    overrides = {override.original_start: override for override in downtime.overrides}
    found = [
        (first, last, first) for first, last in series.between(start, end) if first not in overrides
    ]
    found.extend(
        (override.start, override.end, override.original_start)
        for override in downtime.overrides
        if not override.cancelled
    )
    return found


def span_end(downtime: Downtime) -> int | None:
    """The latest moment the downtime can be in effect (None: an endless series).

    Stored with each downtime so queries fetch only the candidates of a time range.
    """
    if downtime.flexible:
        base = downtime.triggered if downtime.triggered is not None else downtime.end
        latest: int | None = base + (downtime.duration or 0)
    elif downtime.rrule is None:
        latest = downtime.end
    else:
        series = Series(
            downtime.rrule, downtime.start, downtime.end, downtime.timezone, downtime.until
        )
        last = series.last()
        latest = None if last is None else last[1]
        for override in downtime.overrides:
            if latest is not None and not override.cancelled:
                latest = max(latest, override.end)
    if downtime.ended is not None:
        latest = downtime.ended if latest is None else min(latest, downtime.ended)
    return latest
