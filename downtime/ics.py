"""RFC 5545 iCalendar rendering of downtimes, for ``rexmon-downtime export --ics`` and the
web app's feed.

A single window becomes a VEVENT in UTC. A series becomes one VEVENT with ``DTSTART;TZID``
in its own zone and the RRULE (``UNTIL`` in UTC, as the RFC requires), cancelled
occurrences become ``EXDATE`` and moved ones a VEVENT with ``RECURRENCE-ID``; a VTIMEZONE
with the zone's real transitions is included for every zone used. A flexible downtime
shows its triggered window, or its whole filing window while it waits.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from downtime.model import Downtime
from downtime.recurrence import span_end, zone_of
from rexmon.timespec import format_duration

PRODID = "-//rexmon//downtime//EN"
MAX_TZ_YEARS = 20
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")  # all but HTAB and LF (escaped after)


def render_ics(downtimes: Iterable[Downtime], *, domain: str = "rexmon") -> str:
    """A VCALENDAR with one event (or series) per downtime, lines ending in CRLF."""
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN"]
    events: list[str] = []
    years: dict[str, tuple[int, int]] = {}
    for downtime in downtimes:
        events.extend(_events(downtime, domain))
        if downtime.rrule is not None and downtime.timezone != "UTC":
            first = _utc(downtime.start).year
            latest = span_end(downtime)
            last = first + 1 if latest is None else _utc(latest).year
            low, high = years.get(downtime.timezone, (first, last))
            years[downtime.timezone] = (min(low, first), max(high, last))
    for name, (first, last) in sorted(years.items()):
        lines.extend(_vtimezone(name, first, min(last, first + MAX_TZ_YEARS)))
    lines.extend(events)
    lines.append("END:VCALENDAR")
    return "".join(_fold(line) + "\r\n" for line in lines)


def _events(downtime: Downtime, domain: str) -> list[str]:
    uid = f"downtime-{downtime.id}@{domain}"
    common = [
        f"UID:{uid}",
        f"DTSTAMP:{_utc_text(downtime.updated)}",
        f"CREATED:{_utc_text(downtime.created)}",
        f"LAST-MODIFIED:{_utc_text(downtime.updated)}",
        f"SUMMARY:{_escape(f'[{downtime.kind.value}] {downtime.reason}')}",
        f"DESCRIPTION:{_escape(_description(downtime))}",
        f"CATEGORIES:{downtime.kind.value.upper()}",
        f"STATUS:{'CANCELLED' if downtime.cancelled is not None else 'CONFIRMED'}",
    ]
    if downtime.rrule is None:
        start, end = downtime.start, downtime.end
        if downtime.flexible and downtime.triggered is not None:
            start, end = downtime.triggered, downtime.triggered + (downtime.duration or 0)
        if downtime.ended is not None:
            end = max(start + 1, min(end, downtime.ended))
        times = [f"DTSTART:{_utc_text(start)}", f"DTEND:{_utc_text(end)}"]
        return ["BEGIN:VEVENT", *common, *times, "END:VEVENT"]
    zone = zone_of(downtime.timezone)
    rule = downtime.rrule
    until = downtime.until
    if downtime.ended is not None:
        until = downtime.ended - 1 if until is None else min(until, downtime.ended - 1)
    if until is not None:
        rule += f";UNTIL={_utc_text(until)}"
    series = [
        _zoned("DTSTART", downtime.start, zone, downtime.timezone),
        _zoned("DTEND", downtime.end, zone, downtime.timezone),
        f"RRULE:{rule}",
    ]
    series.extend(
        _zoned("EXDATE", o.original_start, zone, downtime.timezone)
        for o in downtime.overrides
        if o.cancelled
    )
    result = ["BEGIN:VEVENT", *common, *series, "END:VEVENT"]
    for moved in (o for o in downtime.overrides if not o.cancelled):
        result.extend(
            [
                "BEGIN:VEVENT",
                *common,
                _zoned("RECURRENCE-ID", moved.original_start, zone, downtime.timezone),
                f"DTSTART:{_utc_text(moved.start)}",
                f"DTEND:{_utc_text(moved.end)}",
                "END:VEVENT",
            ]
        )
    return result


def _description(downtime: Downtime) -> str:
    parts = [
        f"scopes: {', '.join(downtime.scopes)}",
        f"effect: {downtime.effect.value}",
        f"author: {downtime.author}",
    ]
    if downtime.flexible:
        parts.append(f"flexible: lasts {format_duration(downtime.duration or 0)} once triggered")
    return "\n".join(parts)


def _utc(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _utc_text(seconds: int) -> str:
    return _utc(seconds).strftime("%Y%m%dT%H%M%SZ")


def _zoned(name: str, seconds: int, zone: ZoneInfo, zone_name: str) -> str:
    if zone_name == "UTC":
        return f"{name}:{_utc_text(seconds)}"
    local = datetime.fromtimestamp(seconds, zone).strftime("%Y%m%dT%H%M%S")
    return f"{name};TZID={zone_name}:{local}"


def _vtimezone(name: str, first_year: int, last_year: int) -> list[str]:
    """VTIMEZONE with one observance per real transition between the two years."""
    zone = zone_of(name)
    moment = datetime(first_year, 1, 1, tzinfo=UTC)
    offset = _offset(moment, zone)
    lines = ["BEGIN:VTIMEZONE", f"TZID:{name}"]
    lines.extend(_observance(zone, moment, offset, offset))
    day = timedelta(days=1)
    while moment.year <= last_year:
        following = moment + day
        new_offset = _offset(following, zone)
        if new_offset != offset:
            low, high = moment, following
            while high - low > timedelta(seconds=1):
                middle = low + (high - low) / 2
                low, high = (middle, high) if _offset(middle, zone) == offset else (low, middle)
            changed = high.replace(microsecond=0)
            lines.extend(_observance(zone, changed, offset, new_offset))
            offset = new_offset
        moment = following
    lines.append("END:VTIMEZONE")
    return lines


def _offset(moment: datetime, zone: ZoneInfo) -> timedelta:
    return moment.astimezone(zone).utcoffset() or timedelta(0)


def _observance(zone: ZoneInfo, at: datetime, before: timedelta, after: timedelta) -> list[str]:
    local = at.astimezone(zone)
    kind = "DAYLIGHT" if local.dst() else "STANDARD"
    onset = (at + before).replace(tzinfo=None).strftime("%Y%m%dT%H%M%S")
    return [
        f"BEGIN:{kind}",
        f"DTSTART:{onset}",
        f"TZOFFSETFROM:{_offset_text(before)}",
        f"TZOFFSETTO:{_offset_text(after)}",
        f"TZNAME:{_escape(local.tzname() or '')}",
        f"END:{kind}",
    ]


def _offset_text(offset: timedelta) -> str:
    seconds = int(offset.total_seconds())
    sign = "-" if seconds < 0 else "+"
    hours, rest = divmod(abs(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    return f"{sign}{hours:02d}{minutes:02d}" + (f"{secs:02d}" if secs else "")


def _escape(text: str) -> str:
    """TEXT as RFC 5545 3.3.11 writes it: ``\\``, ``\\;``, ``\\,`` and ``\\n`` for any line
    break (CRLF, lone CR or LF); other control characters, which TEXT may not hold, are
    dropped — a raw CR would end the content line and let a reason inject properties."""
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    return text.replace("\n", "\\n")


def _fold(line: str) -> str:
    """Fold at 75 octets, never inside a UTF-8 sequence (RFC 5545 3.1)."""
    encoded = line.encode("utf-8")
    if len(encoded) <= 75:
        return line
    pieces = []
    limit = 75
    while encoded:
        cut = min(limit, len(encoded))
        while cut < len(encoded) and (encoded[cut] & 0xC0) == 0x80:
            cut -= 1
        pieces.append(encoded[:cut].decode("utf-8"))
        encoded = encoded[cut:]
        limit = 74  # continuation lines start with a space
    return "\r\n ".join(pieces)
