"""Availability: the share of a period a metric's alarms were OK, as sites are judged.

Planned downtime is taken out of the period (neither good nor bad); unplanned downtime
counts like any other time. A metric is down while any of its alarms is FIRING or STALE
(no data is no proof of service). Pure functions over the alarm history.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from alarmd.alarmstate import AlarmState

DOWN_STATES = frozenset({AlarmState.FIRING, AlarmState.STALE})


@dataclass(frozen=True)
class Change:
    """An alarm of the metric (``key`` tells which rule) entered ``state`` at ``at``."""

    key: str
    at: float
    state: AlarmState


@dataclass(frozen=True)
class Availability:
    metric: str
    up_seconds: float
    down_seconds: float
    excluded_seconds: float  # inside planned downtime
    unknown_seconds: float  # before anything was known about the metric's alarms

    @property
    def ratio(self) -> float | None:
        """Up time over counted time; None when nothing was counted ("no information")."""
        counted = self.up_seconds + self.down_seconds
        return None if counted <= 0 else self.up_seconds / counted


def availability(
    metric: str,
    start: float,
    end: float,
    initial: dict[str, AlarmState],
    changes: Iterable[Change],
    planned: Sequence[tuple[float, float]],
) -> Availability:
    """Walk ``[start, end)``: ``initial`` holds each alarm's state at ``start`` (alarms
    absent there are unknown until their first change), ``changes`` are later changes."""
    states = dict(initial)
    edges = sorted(
        {start, end, *(c.at for c in changes if start < c.at < end)}
        | {t for window in planned for t in window if start < t < end}
    )
    by_time: dict[float, list[Change]] = {}
    for change in changes:
        by_time.setdefault(max(change.at, start), []).append(change)
    totals = {"up": 0.0, "down": 0.0, "excluded": 0.0, "unknown": 0.0}
    for left, right in zip(edges, edges[1:], strict=False):
        for change in by_time.get(left, ()):
            states[change.key] = change.state
        length = right - left
        if any(a <= left and right <= b for a, b in planned):
            totals["excluded"] += length
        elif not states:
            totals["unknown"] += length
        elif any(state in DOWN_STATES for state in states.values()):
            totals["down"] += length
        else:
            totals["up"] += length
    return Availability(metric, totals["up"], totals["down"], totals["excluded"], totals["unknown"])


def merge_windows(
    windows: Iterable[tuple[float, float]], start: float, end: float
) -> list[tuple[float, float]]:
    """Clip windows to ``[start, end)`` and merge overlapping ones."""
    clipped = sorted((max(a, start), min(b, end)) for a, b in windows if b > start and a < end)
    merged: list[tuple[float, float]] = []
    for a, b in clipped:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged
