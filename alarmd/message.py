"""``group(events) -> list[Message]``: one message per receiver per evaluation pass.

Events of the same pass for the same receiver are folded into one message whose title
counts what happened and whose body has one paragraph per event: what, where, value and
threshold, since when, and a link to the metric's graph page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import quote
from zoneinfo import ZoneInfo

from alarmd.alarmstate import AlarmState, Severity
from alarmd.transition import Event, EventKind
from rexmon.timespec import format_time

UTC = ZoneInfo("UTC")
_HEADLINES = {
    EventKind.FIRING: "FIRING",
    EventKind.ESCALATED: "ESCALATED",
    EventKind.DEESCALATED: "DE-ESCALATED",
    EventKind.RESOLVED: "RESOLVED",
    EventKind.STALE: "NO DATA",
    EventKind.REPEAT: "STILL FIRING",
    EventKind.REMINDER: "STILL FIRING",
    EventKind.FLAPPING: "FLAPPING",
}
_STILL = (EventKind.REPEAT, EventKind.REMINDER)


@dataclass(frozen=True)
class Message:
    """What one receiver is told; ``notify_type`` is apprise's info/success/warning/failure."""

    receiver: str
    title: str
    body: str
    notify_type: str
    events: tuple[Event, ...]


def group(
    events: Iterable[Event], base_url: str, zone: ZoneInfo = UTC, prefix: str = "[rexmon]"
) -> list[Message]:
    """Fold the events of one pass into one message per receiver (receivers sorted)."""
    by_receiver: dict[str, list[Event]] = {}
    for event in events:
        for receiver in event.receivers:
            by_receiver.setdefault(receiver, []).append(event)
    return [
        _message(receiver, tuple(items), base_url.rstrip("/"), zone, prefix)
        for receiver, items in sorted(by_receiver.items())
    ]


def headline(event: Event) -> str:
    """``CRITICAL FIRING`` style word(s) for one event. A repeat or reminder keeps the
    words of the state it repeats: ``STILL NO DATA`` for an alarm without data."""
    word = _HEADLINES[event.kind]
    if event.kind in _STILL and event.state is AlarmState.STALE:
        word = "STILL " + _HEADLINES[EventKind.STALE]
    if event.severity is not None and event.kind is not EventKind.RESOLVED:
        return f"{event.severity.value.upper()} {word}"
    return word


def graph_url(base_url: str, metric: str) -> str:
    return f"{base_url.rstrip('/')}/metric/{quote(metric, safe='._-')}"


def check_url(base_url: str, check: str) -> str:
    return f"{base_url.rstrip('/')}/checks/{quote(check, safe='._-')}"


def _message(
    receiver: str, events: tuple[Event, ...], base_url: str, zone: ZoneInfo, prefix: str
) -> Message:
    if len(events) == 1:
        event = events[0]
        title = f"{prefix} {headline(event)}: {event.rule} on {event.metric}"
    else:
        counts: dict[str, int] = {}
        for event in events:
            counts[headline(event)] = counts.get(headline(event), 0) + 1
        summary = ", ".join(f"{count} {word}" for word, count in counts.items())
        title = f"{prefix} {summary}"
    body = "\n\n".join(_paragraph(event, base_url, zone) for event in events)
    return Message(receiver, title, body, _notify_type(events), events)


def _paragraph(event: Event, base_url: str, zone: ZoneInfo) -> str:
    lines = [f"{headline(event)}: rule {event.rule} on {event.metric}"]
    value = "unknown" if event.value is None else f"{event.value:.6g}"
    if event.detail:
        lines.append(f"check: {event.detail}")
    else:
        lines.append(f"value: {value}" + (f" ({event.threshold})" if event.threshold else ""))
    lines.append(f"{event.state.value} since {format_time(event.since, zone)}")
    if event.note:
        lines.append(event.note)
    if event.acked:
        lines.append("acknowledged")
    if event.labels:
        lines.append("labels: " + ", ".join(f"{key}={value}" for key, value in event.labels))
    link = check_url if event.on_check else graph_url
    lines.append(link(base_url, event.metric))
    return "\n".join(lines)


def _notify_type(events: tuple[Event, ...]) -> str:
    kinds = {event.kind for event in events}
    if any(e.severity is Severity.CRITICAL and e.kind is not EventKind.RESOLVED for e in events):
        return "failure"
    if kinds == {EventKind.RESOLVED}:
        return "success"
    if kinds & {
        EventKind.FIRING,
        EventKind.ESCALATED,
        EventKind.STALE,
        EventKind.REPEAT,
        EventKind.REMINDER,
        EventKind.DEESCALATED,
    }:
        return "warning"
    return "info"
