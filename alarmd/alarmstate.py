"""Alarm states and severities, and the ``worst()`` reduction used for roll-ups.

Order, best to worst (a roll-up of many alarms shows the worst one):

``OK < RESOLVED < SILENCED < PENDING < STALE < FIRING``

- RESOLVED is a recovery that was just announced: as good as OK, but recent.
- SILENCED (a problem inside a planned downtime) is known and expected, so it ranks
  below PENDING, which may still turn into a page.
- STALE (no data) ranks above PENDING: we are blind, which may hide a real problem,
  but it is not a confirmed one, so it stays below FIRING.
- Among FIRING alarms, CRITICAL is worse than WARNING (see :func:`worst_severity`).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable


class AlarmState(enum.Enum):
    """Where one (rule, metric) alarm stands."""

    OK = "ok"
    RESOLVED = "resolved"
    SILENCED = "silenced"
    PENDING = "pending"
    STALE = "stale"
    FIRING = "firing"

    @property
    def rank(self) -> int:
        return _STATE_ORDER.index(self)

    @property
    def is_problem(self) -> bool:
        """True for the states the on-call people are told about (FIRING, STALE)."""
        return self in (AlarmState.FIRING, AlarmState.STALE)


_STATE_ORDER = (
    AlarmState.OK,
    AlarmState.RESOLVED,
    AlarmState.SILENCED,
    AlarmState.PENDING,
    AlarmState.STALE,
    AlarmState.FIRING,
)


class Severity(enum.Enum):
    """How bad a firing alarm is."""

    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return 1 if self is Severity.WARNING else 2


def worst(states: Iterable[AlarmState]) -> AlarmState:
    """The worst state of ``states`` (OK when there is none)."""
    return max(states, key=lambda state: state.rank, default=AlarmState.OK)


def worst_severity(severities: Iterable[Severity | None]) -> Severity | None:
    """The worst severity (None when there is none)."""
    present = [severity for severity in severities if severity is not None]
    return max(present, key=lambda severity: severity.rank, default=None)
