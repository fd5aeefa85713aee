"""The downtime value objects: kinds, effects, downtimes, their windows and audit entries.

All times are UNIX seconds (UTC). A downtime is one window ``[start, end)``, or a series
of windows when it has an RRULE (``start``/``end`` are then the first window, expanded in
the downtime's time zone), or a *flexible* window that only takes effect for
``duration`` seconds once a problem appears inside ``[start, end)``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Kind(enum.Enum):
    PLANNED = "planned"
    UNPLANNED = "unplanned"


class Effect(enum.Enum):
    """What a downtime does to alarms in its scope."""

    MUTE = "mute"  # evaluate and record, notify nobody (default for planned)
    SKIP = "skip"  # do not evaluate at all
    LABEL = "label"  # evaluate and notify, only show the downtime (default for unplanned)


def default_effect(kind: Kind) -> Effect:
    return Effect.MUTE if kind is Kind.PLANNED else Effect.LABEL


@dataclass(frozen=True)
class Draft:
    """What a person files; the store validates it and turns it into a :class:`Downtime`."""

    scopes: tuple[str, ...]
    start: int
    end: int
    reason: str
    kind: Kind = Kind.PLANNED
    effect: Effect | None = None  # None: the default of the kind
    rrule: str | None = None  # RFC 5545 RRULE without DTSTART/UNTIL, e.g. FREQ=WEEKLY
    until: int | None = None  # last moment a recurring window may start
    timezone: str = "UTC"  # zone the RRULE is expanded in
    flexible: bool = False
    duration: int | None = None  # flexible only: how long it lasts once triggered


@dataclass(frozen=True)
class Override:
    """One occurrence of a series moved, shortened or cancelled."""

    original_start: int
    start: int
    end: int
    cancelled: bool


@dataclass(frozen=True)
class Downtime:
    id: int
    scopes: tuple[str, ...]
    start: int
    end: int
    reason: str
    kind: Kind
    effect: Effect
    author: str
    created: int
    updated: int
    cancelled: int | None = None
    ended: int | None = None  # "end now" was used: no effect from this moment on
    rrule: str | None = None
    until: int | None = None
    timezone: str = "UTC"
    flexible: bool = False
    duration: int | None = None
    triggered: int | None = None  # flexible: when a problem started it
    overrides: tuple[Override, ...] = ()

    @property
    def recurring(self) -> bool:
        return self.rrule is not None

    def draft(self) -> Draft:
        """The editable part, for ``dataclasses.replace`` in edits."""
        return Draft(
            scopes=self.scopes,
            start=self.start,
            end=self.end,
            reason=self.reason,
            kind=self.kind,
            effect=self.effect,
            rrule=self.rrule,
            until=self.until,
            timezone=self.timezone,
            flexible=self.flexible,
            duration=self.duration,
        )


@dataclass(frozen=True)
class Window:
    """One interval ``[start, end)`` during which a downtime is in effect."""

    downtime: Downtime
    start: int
    end: int
    original_start: int  # for a series: the occurrence's start before any override


@dataclass(frozen=True)
class AuditEntry:
    downtime_id: int
    at: int
    actor: str
    action: str  # add, edit, end, cancel, trigger, edit-occurrence, cancel-occurrence
    changes: dict[str, list[object]]  # field -> [old, new]
