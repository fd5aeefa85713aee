"""Graphite functions that combine or choose among series: ``sumSeries`` and its kin,
``groupByNode``, ``asPercent``, ``highestMax``/``highestCurrent``/``lowestCurrent``,
``sortByMaxima``, ``limit``, ``constantLine``.

Names and nulls follow graphite-web 1.1: an aggregate of a column ignores unknown points
and is unknown only when all are; its name lists the distinct path expressions in order
(``sumSeries(host.*.cpu.user)``). One difference, from RRD's meaning of time: series of
different steps are brought to their least common step with buckets ending on its
multiples and then lined up by time (graphite-web lines them up by index).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from web.graphite.errors import GraphiteError
from web.graphite.grammar import first_path, parse_target
from web.graphite.series import TimeSeries, Values, align

Aggregate = Callable[[list[float]], float]


def _avg(values: list[float]) -> float:
    return float(sum(values)) / len(values)


def _sum(values: list[float]) -> float:
    return sum(values)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


AGGREGATES: dict[str, Aggregate] = {
    "sum": _sum,
    "total": _sum,
    "average": _avg,
    "avg": _avg,
    "max": max,
    "min": min,
    "median": _median,
    "last": lambda values: values[-1],
    "count": lambda values: float(len(values)),
    "range": lambda values: max(values) - min(values),
    "multiply": math.prod,
}


def aggregate_by_name(name: str) -> Aggregate:
    """``sum``, ``average``, ... or their Series forms (``sumSeries``, ``avg``)."""
    key = name[: -len("Series")] if name.endswith("Series") else name
    key = {"averageSeries": "average"}.get(name, key)
    if key not in AGGREGATES:
        raise GraphiteError(f"unknown aggregation {name!r}; use one of {', '.join(AGGREGATES)}")
    return AGGREGATES[key]


def path_expressions(series_list: Sequence[TimeSeries]) -> str:
    """graphite-web's ``formatPathExpressions``: the distinct paths in order, by commas."""
    return ",".join(dict.fromkeys(s.path for s in series_list))


def combine(series_list: Sequence[TimeSeries], func: Aggregate, name: str) -> TimeSeries:
    """One series: ``func`` of the known points of each column of the aligned series."""
    start, _, step, rows = align(series_list)
    if func is _sum:
        values = _column_sums(rows)
    else:
        values = []
        for column in zip(*rows, strict=True):
            known = [v for v in column if v is not None]
            values.append(func(known) if known else None)
    return TimeSeries(name, start, step, values, path=name, tags={"name": name})


def _column_sums(rows: list[Values]) -> Values:
    """Sums per column of the known points (the hot loop of sumSeries), at C speed: a
    column's unknowns are counted by ``tuple.count`` and left out by ``filter`` (which
    also drops zeros, harmless in a sum)."""
    width = len(rows)
    totals: Values = []
    for column in zip(*rows, strict=True):
        unknown = column.count(None)
        if unknown == width:
            totals.append(None)
        elif unknown:
            totals.append(sum(filter(None, column)))
        else:
            totals.append(sum(column))
    return totals


def aggregate_series(func_name: str) -> Callable[..., list[TimeSeries]]:
    """``sumSeries``, ``averageSeries``, ``maxSeries``, ``minSeries`` over series lists."""
    func = aggregate_by_name(func_name)

    def run(ctx: object, *series_lists: list[TimeSeries]) -> list[TimeSeries]:
        series_list = [s for group in series_lists for s in group]
        if not series_list:
            return []
        return [combine(series_list, func, f"{func_name}({path_expressions(series_list)})")]

    return run


def _node_key(series: TimeSeries, nodes: Sequence[int | str]) -> str:
    path = series_path_of_name(series.name)
    parts = path.split(".")
    picked = []
    for node in nodes:
        if isinstance(node, str):
            picked.append(node)
            continue
        try:
            picked.append(parts[node])
        except IndexError:
            raise GraphiteError(
                f"node {node} is beyond the {len(parts)} parts of {path!r}"
            ) from None
    return ".".join(picked)


def series_path_of_name(name: str) -> str:
    """The first path in a series name (``aliasByNode`` reads nodes from it)."""
    try:
        return first_path(parse_target(name)) or name
    except GraphiteError:
        return name


def group_by_node(
    ctx: object, series_list: list[TimeSeries], node: int, callback: str = "average"
) -> list[TimeSeries]:
    func = aggregate_by_name(callback)
    groups: dict[str, list[TimeSeries]] = {}
    for series in series_list:
        groups.setdefault(_node_key(series, [node]), []).append(series)
    result = []
    for key, members in groups.items():
        combined = combine(members, func, key)
        result.append(combined)
    return result


def as_percent(
    ctx: object, series_list: list[TimeSeries], total: object = None, *nodes: object
) -> list[TimeSeries]:
    if nodes:
        raise GraphiteError("asPercent: grouping by nodes is not supported")
    if not series_list:
        return []
    start, _, step, rows = align(series_list)
    if total is None:
        total_values: list[float | None] = _column_sums(rows)
        total_text = f"sumSeries({path_expressions(series_list)})"
    elif isinstance(total, int | float) and not isinstance(total, bool):
        total_values = [float(total)] * len(rows[0])
        total_text = _g(float(total))
    elif isinstance(total, list) and len(total) == 1:
        start, _, step, rows = align([*series_list, total[0]])
        total_values = rows.pop()
        total_text = total[0].name
    elif isinstance(total, list) and len(total) == len(series_list):
        return [
            _percent_of(series, other.values, other.name)
            for series, other in _pairs(series_list, total)
        ]
    else:
        raise GraphiteError("asPercent: total must be a number, one series, or one per series")
    result = []
    for series, values in zip(series_list, rows, strict=True):
        aligned = TimeSeries(series.name, start, step, values, series.path, dict(series.tags))
        result.append(_percent_of(aligned, total_values, total_text))
    return result


def _pairs(
    series_list: list[TimeSeries], totals: list[TimeSeries]
) -> list[tuple[TimeSeries, TimeSeries]]:
    pairs = []
    for series, other in zip(
        sorted(series_list, key=lambda s: s.name), sorted(totals, key=lambda s: s.name), strict=True
    ):
        start, _, step, (a, b) = align([series, other])
        pairs.append(
            (
                TimeSeries(series.name, start, step, a, series.path, dict(series.tags)),
                TimeSeries(other.name, start, step, b, other.path),
            )
        )
    return pairs


def _percent_of(series: TimeSeries, totals: Sequence[float | None], total_text: str) -> TimeSeries:
    values: Values = []
    for value, total in zip(series.values, totals, strict=False):
        values.append(None if value is None or total is None or total == 0 else value / total * 100)
    return series.copy(name=f"asPercent({series.name},{total_text})", values=values)


def _g(number: float) -> str:
    return f"{float(number):g}"  # graphite-web's %g spelling of numbers in names


def _known(series: TimeSeries) -> list[float]:
    return [v for v in series.values if v is not None]


def _max_key(series: TimeSeries) -> float:
    known = _known(series)
    return max(known) if known else -math.inf


def _current_key(series: TimeSeries) -> float:
    known = _known(series)
    return known[-1] if known else -math.inf


def highest_max(ctx: object, series_list: list[TimeSeries], n: int = 1) -> list[TimeSeries]:
    return sorted(series_list, key=_max_key, reverse=True)[:n]


def highest_current(ctx: object, series_list: list[TimeSeries], n: int = 1) -> list[TimeSeries]:
    return sorted(series_list, key=_current_key, reverse=True)[:n]


def lowest_current(ctx: object, series_list: list[TimeSeries], n: int = 1) -> list[TimeSeries]:
    return sorted(series_list, key=_current_key)[:n]


def sort_by_maxima(ctx: object, series_list: list[TimeSeries]) -> list[TimeSeries]:
    return sorted(series_list, key=_max_key, reverse=True)


def limit(ctx: object, series_list: list[TimeSeries], n: int) -> list[TimeSeries]:
    return series_list[:n]
