"""Graphite functions that map each series on its own: names (``alias``, ``aliasByNode``,
``aliasSub``), arithmetic (``scale``, ``offset``, ``absolute``), rates (``derivative``,
``nonNegativeDerivative``, ``perSecond``, ``integral``), gaps (``keepLastValue``,
``transformNull``), filters (``removeBelowValue``, ``removeAboveValue``), windows
(``movingAverage``, ``summarize``), ``timeShift`` and ``constantLine``.

Names and null handling are graphite-web 1.1's (``scale(a.b,2)``, ``movingAverage(a.b,5)``,
``summarize(a.b, "1h", "sum")``). Windows keep RRD's meaning of a stamp (the point at
``t`` covers the step before ``t``): ``movingAverage`` at ``t`` averages the window of
time before and up to ``t``, and ``summarize`` stamps each bucket at its end — the same
span of time graphite-web covers under whisper's meaning, written the RRD way.
"""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from web.graphite.combine import _g, _node_key, aggregate_by_name
from web.graphite.errors import GraphiteError
from web.graphite.grammar import Node
from web.graphite.series import TimeSeries, Values
from web.graphite.timeparse import parse_interval

if TYPE_CHECKING:
    from web.graphite.evaluate import Context

MAX_REGEX = 200
_NESTED_REPEAT = re.compile(r"\([^()]*[*+{][^()]*\)\s*[*+{]")


def _renamed(series_list: list[TimeSeries], pattern: str) -> list[TimeSeries]:
    return [s.copy(name=pattern.format(s.name)) for s in series_list]


def _mapped(series_list: list[TimeSeries], name: str, func: object) -> list[TimeSeries]:
    result = []
    for series in series_list:
        values = [None if v is None else func(v) for v in series.values]  # type: ignore[operator]
        result.append(series.copy(name=name.format(series.name), values=values))
    return result


def alias(ctx: Context, series_list: list[TimeSeries], new_name: str) -> list[TimeSeries]:
    return [s.copy(name=new_name) for s in series_list]


def alias_by_node(
    ctx: Context, series_list: list[TimeSeries], *nodes: int | str
) -> list[TimeSeries]:
    if not nodes:
        raise GraphiteError("aliasByNode: name at least one node")
    return [s.copy(name=_node_key(s, nodes)) for s in series_list]


def alias_sub(
    ctx: Context, series_list: list[TimeSeries], search: str, replace: str
) -> list[TimeSeries]:
    if len(search) > MAX_REGEX:
        raise GraphiteError(f"aliasSub: the pattern has at most {MAX_REGEX} characters")
    if _NESTED_REPEAT.search(search):  # (a+)+ backtracks exponentially: anyone's DoS
        raise GraphiteError("aliasSub: a repeated group that itself repeats is not allowed")
    try:
        pattern = re.compile(search)
        return [s.copy(name=pattern.sub(replace, s.name)) for s in series_list]
    except re.error as exc:
        raise GraphiteError(f"aliasSub: {exc}") from None


def scale(ctx: Context, series_list: list[TimeSeries], factor: float) -> list[TimeSeries]:
    return _mapped(series_list, "scale({}," + _g(factor) + ")", lambda v: v * factor)


def offset(ctx: Context, series_list: list[TimeSeries], factor: float) -> list[TimeSeries]:
    return _mapped(series_list, "offset({}," + _g(factor) + ")", lambda v: v + factor)


def absolute(ctx: Context, series_list: list[TimeSeries]) -> list[TimeSeries]:
    return _mapped(series_list, "absolute({})", abs)


def derivative(ctx: Context, series_list: list[TimeSeries]) -> list[TimeSeries]:
    result = []
    for series in series_list:
        values: Values = []
        previous: float | None = None
        for value in series.values:
            values.append(None if value is None or previous is None else value - previous)
            previous = value
        result.append(series.copy(name=f"derivative({series.name})", values=values))
    return result


def _non_negative_deltas(
    values: Values, max_value: float | None, min_value: float | None
) -> Values:
    """graphite-web's ``_nonNegativeDelta`` over a series: a drop is a counter wrap
    (``max_value + 1 + value - previous`` when the maximum is known) or a reset (None)."""
    deltas: Values = []
    previous: float | None = None
    for value in values:
        if value is not None and (
            (max_value is not None and value > max_value)
            or (min_value is not None and value < min_value)
        ):
            deltas.append(None)
            previous = None
            continue
        if value is None or previous is None:
            deltas.append(None)
        elif value >= previous:
            deltas.append(value - previous)
        elif max_value is not None:
            deltas.append(max_value + 1 + value - previous)
        elif min_value is not None:
            deltas.append(value - min_value)
        else:
            deltas.append(None)
        previous = value
    return deltas


def non_negative_derivative(
    ctx: Context,
    series_list: list[TimeSeries],
    max_value: float | None = None,
    min_value: float | None = None,
) -> list[TimeSeries]:
    return [
        s.copy(
            name=f"nonNegativeDerivative({s.name})",
            values=_non_negative_deltas(s.values, max_value, min_value),
        )
        for s in series_list
    ]


def per_second(
    ctx: Context,
    series_list: list[TimeSeries],
    max_value: float | None = None,
    min_value: float | None = None,
) -> list[TimeSeries]:
    result = []
    for s in series_list:
        deltas = _non_negative_deltas(s.values, max_value, min_value)
        values = [None if d is None else round(d / s.step, 6) for d in deltas]  # as graphite-web
        result.append(s.copy(name=f"perSecond({s.name})", values=values))
    return result


def integral(ctx: Context, series_list: list[TimeSeries]) -> list[TimeSeries]:
    result = []
    for series in series_list:
        values: Values = []
        current = 0.0
        for value in series.values:
            if value is None:
                values.append(None)
            else:
                current += value
                values.append(current)
        result.append(series.copy(name=f"integral({series.name})", values=values))
    return result


def keep_last_value(
    ctx: Context, series_list: list[TimeSeries], limit: float = math.inf
) -> list[TimeSeries]:
    """Runs of at most ``limit`` unknown points take the value before them (a run at the
    very start has none to take)."""
    result = []
    for series in series_list:
        values = list(series.values)
        nones = 0
        for index, value in enumerate(values):
            if index == 0:
                continue
            if value is None:
                nones += 1
                continue
            if 0 < nones <= limit:
                for hole in range(index - nones, index):
                    values[hole] = values[index - nones - 1]
            nones = 0
        if 0 < nones <= limit:
            for hole in range(len(values) - nones, len(values)):
                values[hole] = values[len(values) - nones - 1]
        result.append(series.copy(name=f"keepLastValue({series.name})", values=values))
    return result


def transform_null(
    ctx: Context,
    series_list: list[TimeSeries],
    default: float = 0,
    reference: list[TimeSeries] | None = None,
) -> list[TimeSeries]:
    if reference is not None:
        raise GraphiteError("transformNull: referenceSeries is not supported")
    return [
        s.copy(
            name=f"transformNull({s.name},{_g(default)})",
            values=[default if v is None else v for v in s.values],
        )
        for s in series_list
    ]


def remove_below_value(ctx: Context, series_list: list[TimeSeries], n: float) -> list[TimeSeries]:
    return [
        s.copy(
            name=f"removeBelowValue({s.name}, {_g(n)})",
            values=[None if v is None or v < n else v for v in s.values],
        )
        for s in series_list
    ]


def remove_above_value(ctx: Context, series_list: list[TimeSeries], n: float) -> list[TimeSeries]:
    return [
        s.copy(
            name=f"removeAboveValue({s.name}, {_g(n)})",
            values=[None if v is None or v > n else v for v in s.values],
        )
        for s in series_list
    ]


def moving_average(
    ctx: Context, node: Node, window: int | str, x_files_factor: float | None = None
) -> list[TimeSeries]:
    """The average of the known points of the window ending at each point; data before
    ``from`` are read so that the first points have a whole window."""
    if isinstance(window, bool) or (isinstance(window, int) and window < 1):
        raise GraphiteError("movingAverage: the window is a positive number of points or '5min'")
    normal = ctx.evaluate(node, ctx.start, ctx.end)
    if not normal:
        return []
    if isinstance(window, str):
        seconds = abs(parse_interval(window))
        if seconds < 1:
            raise GraphiteError("movingAverage: the window must be at least a second")
    else:
        seconds = max(s.step for s in normal) * window
    factor = 0.0 if x_files_factor is None else float(x_files_factor)
    result = []
    for series in ctx.evaluate(node, ctx.start - seconds, ctx.end):
        points = window if isinstance(window, int) else max(1, seconds // series.step)
        name = (
            f"movingAverage({series.name},{window})"
            if isinstance(window, int)
            else f'movingAverage({series.name},"{window}")'
        )
        first_stamp = (ctx.start // series.step + 1) * series.step
        begin = max(0, (first_stamp - series.start) // series.step)
        values: Values = []
        for index in range(begin, len(series.values)):
            known = [
                v for v in series.values[max(0, index - points + 1) : index + 1] if v is not None
            ]
            if known and len(known) / points >= factor:
                values.append(sum(known) / len(known))
            else:
                values.append(None)
        start = series.start + begin * series.step
        result.append(series.copy(name=name, start=start, values=values))
    return result


def summarize(
    ctx: Context,
    series_list: list[TimeSeries],
    interval_text: str,
    func: str = "sum",
    align_to_from: bool = False,
) -> list[TimeSeries]:
    interval = parse_interval(interval_text)
    if interval < 1:
        raise GraphiteError(f"summarize: the interval {interval_text!r} must be positive")
    aggregate = aggregate_by_name(func)
    result = []
    for series in series_list:
        if align_to_from:  # buckets of `interval` from the start of the first point's step
            origin = series.start - series.step
            first = origin + interval
        else:  # buckets ending on multiples of `interval`
            origin = 0
            first = -(-series.start // interval) * interval
        buckets: dict[int, list[float]] = {}
        for stamp, value in zip(series.times, series.values, strict=True):
            end = origin + -(-(stamp - origin) // interval) * interval
            bucket = buckets.setdefault(end, [])
            if value is not None:
                bucket.append(value)
        last = max(buckets) if buckets else first
        values: Values = []
        for end in range(first, last + 1, interval):
            known = buckets.get(end)
            values.append(aggregate(known) if known else None)
        suffix = ", true" if align_to_from else ""
        name = f'summarize({series.name}, "{interval_text}", "{func}"{suffix})'
        result.append(series.copy(name=name, start=first, step=interval, values=values))
    return result


def time_shift(
    ctx: Context, node: Node, shift: str, reset_end: bool = True, align_dst: bool = False
) -> list[TimeSeries]:
    """The series of an earlier (``'1d'``, ``'-1d'``) or later (``'+1d'``) range, drawn
    on this one."""
    if shift[:1].isdigit():
        shift = "-" + shift
    seconds = parse_interval(shift)
    result = []
    for series in ctx.evaluate(node, ctx.start + seconds, ctx.end + seconds):
        shifted = series.copy(
            name=f'timeShift({series.name}, "{shift}")', start=series.start - seconds
        )
        if reset_end:
            keep = max(0, -(-(ctx.end - shifted.start) // shifted.step) + 1)
            shifted.values = shifted.values[:keep]
        result.append(shifted)
    return result


def constant_line(ctx: Context, value: float) -> list[TimeSeries]:
    step = max(1, (ctx.end - ctx.start) // 2)
    name = str(value)
    return [TimeSeries(name, ctx.start, step, [float(value)] * 3, path=name)]
