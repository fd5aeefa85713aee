"""rexmon's downtimes and alarm transitions as Graphite events, for Grafana annotations.

``/graphite/events/get_data?from=&until=&tags=`` answers graphite-web's event list
(``when``, ``what``, ``data``, ``tags``, ``id``). A downtime window gives two events,
when it starts and when it ends (Graphite events are moments), tagged ``downtime``, its
kind (``planned`` / ``unplanned``), ``started`` / ``ended`` and its scopes; an alarm
transition is tagged ``alarm``, ``firing`` / ``resolved``, its rule, severity and metric.
``tags`` keeps the events that carry all of the given tags (``set=union``: any), as
graphite-web does; tags are separated by spaces.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from alarmd.alarmstate import AlarmState
from alarmd.statestore import AlarmStore
from downtime.model import Kind
from downtime.recurrence import windows
from downtime.store import DowntimeStore
from rexmon.timespec import format_time

MAX_EVENTS = 2_000
_CLEARED = (AlarmState.OK, AlarmState.RESOLVED)
_PROBLEMS = (AlarmState.FIRING, AlarmState.STALE, AlarmState.SILENCED)


@dataclass(frozen=True)
class Event:
    when: int
    what: str
    data: str
    tags: tuple[str, ...]

    def to_json(self, number: int) -> dict[str, object]:
        return {"when": self.when, "what": self.what, "data": self.data,
                "tags": list(self.tags), "id": number}  # fmt: skip


def downtime_events(store: DowntimeStore, start: int, end: int, zone: ZoneInfo) -> list[Event]:
    """The starts and ends of downtime windows within ``[start, end]``."""
    found: list[Event] = []
    for downtime in store.candidates(start, end + 1):
        kind = "planned" if downtime.kind is Kind.PLANNED else "unplanned"
        scopes = ", ".join(downtime.scopes)
        for window in windows(downtime, start - 1, end + 1):
            until = format_time(window.end, zone)
            data = f"{downtime.reason} (scope {scopes}; by {downtime.author}; until {until})"
            for moment, edge in ((window.start, "started"), (window.end, "ended")):
                if start <= moment <= end:
                    found.append(
                        Event(
                            moment,
                            f"{kind} downtime #{downtime.id} {edge}",
                            data,
                            ("downtime", kind, edge, f"downtime-{downtime.id}", *downtime.scopes),
                        )
                    )
    return found


def alarm_events(store: AlarmStore, start: int, end: int) -> list[Event]:
    """Alarms that fired (or got worse) and that cleared within ``[start, end]``."""
    found: list[Event] = []
    for row in store.history(start=start, end=end + 1, limit=MAX_EVENTS):
        severity = row.severity.value if row.severity else ""
        value = "unknown" if row.value is None else f"{row.value:g}"
        if row.to_state is AlarmState.FIRING:
            edge = "firing"
        elif row.to_state in _CLEARED and row.from_state in _PROBLEMS:
            edge = "resolved"
        else:
            continue
        what = f"{row.rule} {edge} on {row.metric}"
        data = f"{row.rule}: {row.metric} {edge}" + (f" ({severity})" if severity else "")
        data += f", value {value}"
        tags = ("alarm", edge, row.rule, *((severity,) if severity else ()), row.metric)
        found.append(Event(int(row.at), what, data, tags))
    return found


def select(events: Sequence[Event], tags: Sequence[str], union: bool = False) -> list[Event]:
    """The events carrying all of ``tags`` (any of them with ``union``), by time."""
    wanted = set(tags)
    chosen = [
        event
        for event in events
        if not wanted or (wanted & set(event.tags) if union else wanted <= set(event.tags))
    ]
    chosen.sort(key=lambda event: (event.when, event.what))
    return chosen[:MAX_EVENTS]
