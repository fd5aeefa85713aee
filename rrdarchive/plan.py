"""Planning one write: which samples are refused, and what each RRD gets, in which order.

Pure functions, no rrdtool: every sample is checked on its own (name, time, finite value,
type), then against a time window around the server's clock, then per metric: sorted by
time, duplicate times with conflicting values refused, and finally compared with the
file's last update (:func:`settle`).

The rule for samples at or before the file's last update ``T`` (:func:`settle`): a sample
whose value equals what the file holds at its time -- the batch sent again after a lost
answer -- counts as accepted and is not written again; a different value there is refused
as a conflict; a time at which the archive cannot tell what the file holds is refused as
out of order. What the file holds is given by the caller (``held``: the last update,
values the writer accepted recently, rrdcached's PENDING, the file's finest tier). A
write-ahead-log replay (``replay=True``) counts every sample at or before ``T`` as
stored: it was accepted once, and the file has moved past it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from rexmon.errors import InvalidMetricName, InvalidSample
from rexmon.sample import DsType, Sample, validate_bounds
from rexmon.timespec import format_duration
from rrdarchive.schemas import Schema
from rrdarchive.verdict import STORED, Verdict, rejected

UNKNOWN = object()
"""The value of a last update that could not be read back (never equal to a sample's)."""


@dataclass(frozen=True)
class Target:
    """Where the samples of one metric go; built once per metric and process."""

    metric: str
    path: Path
    schema: Schema
    max_age: int


@dataclass(slots=True)
class Group:
    """The samples of one metric still to be written, sorted by time."""

    metric: str
    path: Path
    schema: Schema
    hint: DsType | None
    times: list[int]
    values: list[float | None]
    indexes: list[list[int]]  # per time, the batch positions of its sample(s)
    bounds: tuple[float | None, float | None] = (None, None)  # min/max hints for creation

    def update_args(self) -> list[str]:
        """``time:value`` arguments for the rrdtool binding and rrdcached's UPDATE."""
        if len(self.times) == 1:
            return [f"{self.times[0]}:{format_value(self.values[0])}"]
        return [f"{t}:{format_value(v)}" for t, v in zip(self.times, self.values, strict=True)]

    def drop_first(self, count: int) -> None:
        del self.times[:count], self.values[:count], self.indexes[:count]

    def keep(self, positions: list[int]) -> None:
        self.times = [self.times[p] for p in positions]
        self.values = [self.values[p] for p in positions]
        self.indexes = [self.indexes[p] for p in positions]


def format_value(value: float | None) -> str:
    """A value as rrdtool reads it; integral values without a fraction, as COUNTER and
    DERIVE data sources require."""
    if value is None:
        return "U"
    if float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return repr(float(value))


@dataclass(frozen=True)
class Plan:
    """The groups to write, and the verdicts of the samples refused (by batch position)."""

    groups: list[Group]
    refused: dict[int, Verdict]


def plan(
    samples: Sequence[Sample],
    now: float,
    *,
    target_for: Callable[[str], Target],
    max_future: int,
    replay: bool = False,
) -> Plan:
    """Group the acceptable samples per metric; refuse the others.

    ``target_for`` validates a metric id (raising InvalidMetricName) and says where it goes.
    """
    refused: dict[int, Verdict] = {}
    by_metric: dict[str, list[int]] = {}
    for index, sample in enumerate(samples):
        reason = None if _plainly_valid(sample) else _check(sample)
        if reason is not None:
            refused[index] = rejected(reason)
        else:
            by_metric.setdefault(sample.metric, []).append(index)
    groups = []
    for metric, indexes in by_metric.items():
        try:
            target = target_for(metric)
        except InvalidMetricName as exc:
            verdict = rejected(str(exc))
            for index in indexes:
                refused[index] = verdict
            continue
        if len(indexes) == 1 and (
            replay or now - target.max_age <= samples[indexes[0]].time <= now + max_future
        ):
            sample = samples[indexes[0]]  # the common case, without the general machinery
            groups.append(
                Group(
                    metric,
                    target.path,
                    target.schema,
                    sample.type,
                    [sample.time],
                    [sample.value],
                    [indexes],
                    (sample.min, sample.max),
                )
            )
            continue
        if not replay:
            indexes, late = _in_window(samples, indexes, now, max_future, target.max_age)
            refused.update(late)
        if not indexes:
            continue
        hint = next((samples[i].type for i in indexes if samples[i].type is not None), None)
        bounds = next(
            (
                (samples[i].min, samples[i].max)
                for i in indexes
                if samples[i].min is not None or samples[i].max is not None
            ),
            (None, None),
        )
        group = Group(metric, target.path, target.schema, hint, [], [], [], bounds)
        refused.update(_fill(group, samples, indexes))
        if group.times:
            groups.append(group)
    return Plan(groups, refused)


def settle(
    group: Group,
    last_time: int,
    held: Mapping[int, float | None],
    replay: bool,
) -> dict[int, Verdict]:
    """Decide the samples at or before the file's last update and drop them from ``group``:
    their verdicts, by batch position.

    ``held`` maps times to what the file holds there (None = unknown) as far as the
    archive could find out; a time missing from it cannot be checked."""
    verdicts: dict[int, Verdict] = {}
    count = 0
    while count < len(group.times) and group.times[count] <= last_time:
        time, value = group.times[count], group.values[count]
        verdict = STORED
        if not replay:
            stored = held.get(time, UNKNOWN)
            if stored is UNKNOWN:
                verdict = rejected(
                    f"out of order: {group.metric} was last updated at {last_time};"
                    " only samples after that are stored"
                )
            elif not same_value(value, stored):
                verdict = rejected(
                    f"{group.metric} already has a different value at {time}: {value!r}"
                    f" conflicts with the stored value {stored!r}"
                )
        for index in group.indexes[count]:
            verdicts[index] = verdict
        count += 1
    group.drop_first(count)
    return verdicts


def same_value(value: float | None, stored: object) -> bool:
    """Whether a sample's value is the one stored (fetched doubles: to 1e-9)."""
    if value is None or stored is None:
        return value is None and stored is None
    if not isinstance(stored, float | int):
        return False
    return math.isclose(value, stored, rel_tol=1e-9, abs_tol=1e-12)


def _plainly_valid(sample: Sample) -> bool:
    """The common case, checked fast: an int time, a finite float or None, no odd types."""
    value = sample.value
    return (
        type(sample) is Sample
        and type(sample.time) is int
        and sample.time > 0
        and type(sample.metric) is str
        and (value is None or (type(value) is float and value - value == 0.0))
        and (sample.type is None or type(sample.type) is DsType)
        and sample.min is None
        and sample.max is None
    )


def _check(sample: Sample) -> str | None:
    """Everything but the metric id, which ``target_for`` checks once per metric."""
    if not isinstance(sample, Sample):
        return f"not a sample: {type(sample).__name__}"
    if not isinstance(sample.metric, str):
        return f"metric name must be a string, got {type(sample.metric).__name__}"
    time, value = sample.time, sample.value
    if isinstance(time, bool) or not isinstance(time, int) or time <= 0:
        return f"time must be a positive integer UNIX time, got {time!r}"
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        return f"value must be a finite number or null, got {value!r}"
    if sample.type is not None and not isinstance(sample.type, DsType):
        return f"type must be a DsType, got {sample.type!r}"
    try:
        validate_bounds(sample.min, sample.max)
    except InvalidSample as exc:
        return str(exc)
    return None


def _in_window(
    samples: Sequence[Sample],
    indexes: list[int],
    now: float,
    max_future: int,
    max_age: int,
) -> tuple[list[int], dict[int, Verdict]]:
    """The samples of ``indexes`` in the window around ``now``, and the verdicts of the others."""
    latest, earliest = now + max_future, now - max_age
    kept = []
    refused: dict[int, Verdict] = {}
    for index in indexes:
        time = samples[index].time
        if time > latest:
            refused[index] = rejected(
                f"time {time} is {int(time - now)}s ahead of the server clock"
                f" (at most {format_duration(max_future)} allowed)"
            )
        elif time < earliest:
            refused[index] = rejected(
                f"time {time} is older than {format_duration(max_age)}, the limit for this metric"
            )
        else:
            kept.append(index)
    return kept, refused


def _fill(group: Group, samples: Sequence[Sample], indexes: list[int]) -> dict[int, Verdict]:
    """Sort by time; the same time twice with one value is written once, with two refused
    (the verdicts returned)."""
    refused: dict[int, Verdict] = {}
    indexes = sorted(indexes, key=lambda i: samples[i].time)
    position = 0
    while position < len(indexes):
        end = position + 1
        time = samples[indexes[position]].time
        while end < len(indexes) and samples[indexes[end]].time == time:
            end += 1
        same_time = indexes[position:end]
        values = {samples[i].value for i in same_time}
        if len(values) == 1:
            group.times.append(time)
            group.values.append(samples[same_time[0]].value)
            group.indexes.append(same_time)
        else:
            verdict = rejected(f"conflicting values for {group.metric} at {time} in this batch")
            for index in same_time:
                refused[index] = verdict
        position = end
    return refused
