"""The status of each metric and its roll-up through the metric hierarchy (pure, no I/O).

A metric's status comes from its alarms' shown states, its downtimes and the age of its
data. Groups follow the metric ids: source (first component) → host (second) → metrics.
A group shows the worst status of its children and a rating from 0 (critical) to 1 (all
fine): the mean of the children's ratings, leaving out those with no information (no
alarm rule watches the metric, its data are stale, or it is in downtime). A group none
of whose children has information has no rating either ("no information").
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from alarmd.alarmstate import AlarmState, Severity
from alarmd.record import AlarmRecord
from downtime.model import Downtime, Effect

STALE_STEPS = 3


class Status(enum.Enum):
    """What a status icon shows, best to worst."""

    OK = "ok"
    IN_DOWNTIME = "in-downtime"
    STALE = "stale"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return _ORDER.index(self)

    @property
    def label(self) -> str:
        return self.value.replace("-", " ").upper()

    @property
    def rating(self) -> float | None:
        return _RATINGS.get(self)


_ORDER = (Status.OK, Status.IN_DOWNTIME, Status.STALE, Status.WARNING, Status.CRITICAL)
_RATINGS = {Status.OK: 1.0, Status.WARNING: 0.5, Status.CRITICAL: 0.0}


def worst_status(statuses: Iterable[Status]) -> Status:
    return max(statuses, key=lambda status: status.rank, default=Status.OK)


@dataclass(frozen=True)
class MetricStatus:
    metric: str
    status: Status
    rating: float | None
    last_time: int | None
    last_value: float | None
    alarms: tuple[AlarmRecord, ...] = ()
    downtimes: tuple[Downtime, ...] = ()

    @property
    def name(self) -> str:
        return ".".join(self.metric.split(".")[2:]) or self.metric


@dataclass
class Group:
    name: str
    path: str
    groups: list[Group] = field(default_factory=list)
    metrics: list[MetricStatus] = field(default_factory=list)
    status: Status = Status.OK
    rating: float | None = None
    count: int = 0  # metrics below

    @property
    def problems(self) -> bool:
        return self.status.rank >= Status.STALE.rank


def metric_status(
    metric: str,
    records: Sequence[AlarmRecord],
    downtimes: Sequence[Downtime],
    last: tuple[int, float | None] | None,
    now: float,
    step: int,
) -> MetricStatus:
    """One metric's status: alarms first, then a muting downtime, then stale data."""
    status = Status.OK
    for record in records:
        status = worst_status([status, _from_record(record)])
    muted = any(d.effect in (Effect.MUTE, Effect.SKIP) for d in downtimes)
    if muted:
        status = Status.IN_DOWNTIME
    if status is Status.OK and (last is None or now - last[0] > STALE_STEPS * step):
        status = Status.STALE
    rating = status.rating if records else None
    last_time, last_value = last if last is not None else (None, None)
    return MetricStatus(
        metric, status, rating, last_time, last_value, tuple(records), tuple(downtimes)
    )


def _from_record(record: AlarmRecord) -> Status:
    shown = record.shown_state
    if shown is AlarmState.SILENCED:
        return Status.IN_DOWNTIME
    if shown is AlarmState.STALE:
        return Status.STALE
    if shown is AlarmState.FIRING:
        return Status.WARNING if record.severity is Severity.WARNING else Status.CRITICAL
    return Status.OK


def build_tree(metrics: Iterable[MetricStatus]) -> list[Group]:
    """Source groups, each with host groups holding the metrics; problems first."""
    sources: dict[str, Group] = {}
    for item in metrics:
        parts = item.metric.split(".")
        source = sources.setdefault(parts[0], Group(parts[0], parts[0]))
        if len(parts) == 2:
            source.metrics.append(item)
            continue
        path = f"{parts[0]}.{parts[1]}"
        host = next((g for g in source.groups if g.path == path), None)
        if host is None:
            host = Group(parts[1], path)
            source.groups.append(host)
        host.metrics.append(item)
    tree = list(sources.values())
    for group in tree:
        roll_up(group)
    return sort_problems_first(tree)


def roll_up(group: Group) -> None:
    """Fill in the status, rating and count of ``group`` from its children."""
    for child in group.groups:
        roll_up(child)
    statuses = [c.status for c in group.groups] + [m.status for m in group.metrics]
    group.status = worst_status(statuses)
    ratings = [c.rating for c in group.groups] + [m.rating for m in group.metrics]
    known = [rating for rating in ratings if rating is not None]
    group.rating = round(sum(known) / len(known), 3) if known else None
    group.count = sum(c.count for c in group.groups) + len(group.metrics)


def sort_problems_first(groups: list[Group]) -> list[Group]:
    for group in groups:
        sort_problems_first(group.groups)
        group.metrics.sort(key=lambda m: (-m.status.rank, m.metric))
    groups.sort(key=lambda g: (-g.status.rank, g.name))
    return groups


def counts(metrics: Iterable[MetricStatus]) -> dict[str, int]:
    """How many metrics show each status, plus how many have no information."""
    found = {status.value: 0 for status in reversed(_ORDER)}
    found["no-information"] = 0
    for item in metrics:
        found[item.status.value] += 1
        if item.rating is None:
            found["no-information"] += 1
    return found
