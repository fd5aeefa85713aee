"""Plain-text views of downtimes for the terminal: the list table and the detail page.

Times are shown in the site time zone (``2026-03-17 06:00 +01:00``).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from downtime.model import AuditEntry, Downtime
from downtime.recurrence import windows
from downtime.store import shown_state
from rexmon.timespec import format_duration

LOOKAHEAD = 400 * 86400
REASON_WIDTH = 40


def short_time(seconds: int, zone: ZoneInfo) -> str:
    return datetime.fromtimestamp(seconds, zone).strftime("%Y-%m-%d %H:%M %z")


TIME_FIELDS = frozenset(
    {"start", "end", "until", "triggered", "ended", "cancelled", "occurrence", "created"}
)
DURATION_FIELDS = frozenset({"duration"})


def shown_value(field: str, value: object, zone: ZoneInfo) -> str:
    """A value of an audit-trail change as people read it: times in the site zone,
    durations like ``4h``, nothing as ``-``."""
    if value is None:
        return "-"
    if isinstance(value, int | float) and not isinstance(value, bool):
        if field in TIME_FIELDS:
            return short_time(int(value), zone)
        if field in DURATION_FIELDS:
            return format_duration(int(value))
    if isinstance(value, list | tuple):
        return ", ".join(str(item) for item in value)
    return str(value)


def shown_changes(entry: AuditEntry, zone: ZoneInfo) -> list[tuple[str, str, str]]:
    """(field, before, after) of one audit entry, each value as :func:`shown_value`."""
    return [
        (field, shown_value(field, old, zone), shown_value(field, new, zone))
        for field, (old, new) in entry.changes.items()
    ]


def next_window(downtime: Downtime, now: int) -> tuple[int, int] | None:
    """The current or next window (the filing window of a waiting flexible one)."""
    if downtime.flexible and downtime.triggered is None:
        return downtime.start, downtime.end
    found = windows(downtime, now, now + LOOKAHEAD)
    if found:
        return found[0].start, found[0].end
    return downtime.start, downtime.end if downtime.ended is None else downtime.ended


def describe_kind(downtime: Downtime) -> str:
    words = [downtime.kind.value]
    if downtime.rrule:
        words.append("recurring")
    if downtime.flexible:
        words.append("flexible" if downtime.triggered is None else "flexible, triggered")
    return ", ".join(words)


def table(downtimes: list[Downtime], now: int, zone: ZoneInfo) -> str:
    """One line per downtime, aligned columns."""
    header = ("ID", "STATE", "KIND", "EFFECT", "START", "END", "SCOPES", "REASON")
    rows = [header]
    for downtime in downtimes:
        state = shown_state(downtime, now)
        window = next_window(downtime, now) or (downtime.start, downtime.end)
        reason = downtime.reason.replace("\n", " ")
        if len(reason) > REASON_WIDTH:
            reason = reason[: REASON_WIDTH - 3] + "..."
        rows.append(
            (
                str(downtime.id),
                state,
                describe_kind(downtime),
                downtime.effect.value,
                short_time(window[0], zone),
                short_time(window[1], zone),
                ",".join(downtime.scopes),
                reason,
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


def details(downtime: Downtime, trail: list[AuditEntry], now: int, zone: ZoneInfo) -> str:
    """Every field, the next windows of a series, and the audit trail."""
    state = shown_state(downtime, now)
    lines = [
        f"downtime {downtime.id}: {downtime.reason}",
        f"  state:    {state}",
        f"  kind:     {describe_kind(downtime)}",
        f"  effect:   {downtime.effect.value}",
        f"  scopes:   {', '.join(downtime.scopes)}",
        f"  start:    {short_time(downtime.start, zone)}",
        f"  end:      {short_time(downtime.end, zone)}",
        f"  author:   {downtime.author}",
        f"  created:  {short_time(downtime.created, zone)}",
        f"  updated:  {short_time(downtime.updated, zone)}",
    ]
    optional = [
        ("duration", downtime.duration, format_duration),
        ("triggered", downtime.triggered, lambda s: short_time(s, zone)),
        ("ended", downtime.ended, lambda s: short_time(s, zone)),
        ("cancelled", downtime.cancelled, lambda s: short_time(s, zone)),
        ("rrule", downtime.rrule, str),
        ("until", downtime.until, lambda s: short_time(s, zone)),
    ]
    for label, value, show in optional:
        if value is not None:
            lines.append(f"  {label + ':':<10}{show(value)}")  # type: ignore[operator]
    if downtime.rrule:
        lines.append(f"  zone:     {downtime.timezone}")
        lines.append("  next windows:")
        upcoming = windows(downtime, now, now + LOOKAHEAD)[:5]
        lines.extend(
            f"    {short_time(w.start, zone)} - {short_time(w.end, zone)}" for w in upcoming
        )
    lines.append("audit trail:")
    for entry in trail:
        changed = "; ".join(f"{k}: {old} -> {new}" for k, old, new in shown_changes(entry, zone))
        lines.append(
            f"  {short_time(entry.at, zone)}  {entry.actor:<12} {entry.action:<18} {changed}"
        )
    return "\n".join(lines)
