"""The value every Graphite function takes and returns: one named series on a regular
time axis, with None for unknown points.

Times keep RRD's meaning: the point stamped ``t`` is the consolidated value of the
interval ``(t - step, t]`` (``rrdtool fetch`` prints it so; whisper's point covers the
interval after its stamp). ``consolidated`` re-buckets a series to a coarser step with
buckets ending on multiples of the new step, so series of different resolutions line up
by time when they are combined.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

Values = list[float | None]


@dataclass
class TimeSeries:
    """``values[i]`` is the point at ``start + i * step``; ``path`` is the metric path (or
    pattern) the series came from, Graphite's ``pathExpression``."""

    name: str
    start: int
    step: int
    values: Values
    path: str = ""
    tags: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.path:
            self.path = self.name
        if not self.tags:
            self.tags = {"name": self.name}

    @property
    def end(self) -> int:
        """The stamp after the last point (exclusive)."""
        return self.start + self.step * len(self.values)

    @property
    def times(self) -> range:
        return range(self.start, self.end, self.step)

    def copy(self, **changes: object) -> TimeSeries:
        """A new series sharing nothing mutable with this one."""
        values = changes.pop("values", None)
        copied = replace(self, values=list(self.values), tags=dict(self.tags))
        for key, value in changes.items():
            setattr(copied, key, value)
        if values is not None:
            copied.values = list(values)  # type: ignore[call-overload]
        return copied

    def consolidated(
        self, step: int, func: Callable[[list[float]], float] | None = None
    ) -> TimeSeries:
        """This series at ``step`` (a multiple of its own): each new point at ``T`` (a
        multiple of ``step``) is ``func`` (the average) of the known points in
        ``(T - step, T]``, None if none is known."""
        if step == self.step:
            return self.copy()
        if step % self.step:
            raise ValueError(f"step {step} is not a multiple of {self.step}")
        aggregate = func or average
        first = -(-self.start // step) * step  # the first bucket end at or after start
        buckets: Values = []
        stamp = first
        index = 0
        values = self.values
        count = len(values)
        while index < count:
            # points at times <= stamp and > stamp - step belong to this bucket
            last = min(count, (stamp - self.start) // self.step + 1)
            known = [v for v in values[index:last] if v is not None]
            buckets.append(aggregate(known) if known else None)
            index = max(last, index)
            stamp += step
        return self.copy(start=first, step=step, values=buckets)


def average(values: Sequence[float]) -> float:
    return float(sum(values)) / len(values)


def lcm(numbers: Sequence[int]) -> int:
    from math import lcm as _lcm

    return _lcm(*numbers)


def align(series_list: Sequence[TimeSeries]) -> tuple[int, int, int, list[Values]]:
    """Graphite's ``normalize``: every series at the least common step, on one axis from
    the earliest start to the latest end, unknown where a series has no point; returns
    ``(start, end, step, rows of values per series)``."""
    step = lcm([s.step for s in series_list])
    parts = [s.consolidated(step) for s in series_list]
    start = min(p.start for p in parts)
    end = max(p.end for p in parts)
    length = (end - start) // step
    rows: list[Values] = []
    for part in parts:
        before = (part.start - start) // step
        after = length - before - len(part.values)
        rows.append([None] * before + part.values + [None] * after)
    return start, end, step, rows
