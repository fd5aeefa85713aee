"""Evaluating a parsed target: paths become series read from the archive, calls run
the library's function after their arguments were bound and type-checked.

``sumSeries``, ``averageSeries``, ``maxSeries`` and ``minSeries`` over plain paths are
handed to the reader's ``combine`` when it has one (one ``rrdtool xport`` over all the
files instead of a fetch each; the same values, see docs/grafana.md).

Work is bounded per request: the fetch charges every series it names and every point it
reads to the :class:`Budget`, and a request that would read more raises
:class:`TooMuchWork` (400) as soon as it passes the limit, before it reads the rest.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from web.graphite.errors import BadTarget, GraphiteError, TooMuchWork
from web.graphite.functions import FUNCTIONS, Function, Param
from web.graphite.grammar import Call, Literal, Node, Path
from web.graphite.series import TimeSeries

Fetch = Callable[[str, int, int, "Budget"], list[TimeSeries]]
# (patterns, "sum" | "average" | "max" | "min", start, end, budget) -> the one series
# (empty when nothing matches), or None when the reader cannot combine them itself
Combine = Callable[[list[str], str, int, int, "Budget"], "list[TimeSeries] | None"]
PUSHED_DOWN = {"sumSeries": "sum", "averageSeries": "average", "maxSeries": "max",
               "minSeries": "min"}  # fmt: skip
MAX_RESULT_SERIES = 10_000


@dataclass
class Budget:
    """Points a request may still read, and series it may still name."""

    points: int
    series: int

    def charge(self, series: int, points: int) -> None:
        self.series -= series
        self.points -= points
        if self.series < 0:
            raise TooMuchWork("the request names too many series; narrow its paths")
        if self.points < 0:
            raise TooMuchWork(
                "the request would read too many points (series x points); shorten the"
                " range or narrow its paths"
            )


@dataclass
class Context:
    """The range a target is evaluated over and the way to read paths."""

    start: int
    end: int
    fetch: Fetch
    budget: Budget
    target: str = ""
    combine: Combine | None = None
    _cache: dict[tuple[str, int, int], list[TimeSeries]] = field(default_factory=dict)

    def evaluate(self, node: Node, start: int, end: int) -> list[TimeSeries]:
        """A series-list argument over another range (``movingAverage``, ``timeShift``)."""
        inner = Context(start, end, self.fetch, self.budget, self.target, self.combine, self._cache)
        value = evaluate_node(node, inner)
        if not isinstance(value, list):
            raise BadTarget(self.target, node.position + 1, "expected a path or a call")
        return value

    def read(self, pattern: str) -> list[TimeSeries]:
        key = (pattern, self.start, self.end)
        if key not in self._cache:
            self._cache[key] = self.fetch(pattern, self.start, self.end, self.budget)
        return list(self._cache[key])  # functions copy before they change a series


def evaluate_target(node: Node, context: Context) -> list[TimeSeries]:
    """The series of one whole target (a bare number or string is no target)."""
    value = evaluate_node(node, context)
    if not isinstance(value, list):
        raise BadTarget(context.target, node.position + 1, "a target must be a path or a call")
    if len(value) > MAX_RESULT_SERIES:
        raise TooMuchWork(f"a target may give at most {MAX_RESULT_SERIES} series")
    return value


def evaluate_node(node: Node, context: Context) -> Any:
    if isinstance(node, Literal):
        return node.value
    if isinstance(node, Path):
        return context.read(node.text)
    pushed = _pushed_down(node, context)
    if pushed is not None:
        return pushed
    function = FUNCTIONS.get(node.name)
    if function is None:
        raise BadTarget(context.target, node.position + 1, f"unknown function {node.name!r}")
    args, kwargs = _bind(function, node, context)
    try:
        result: list[TimeSeries] = function.run(context, *args, **kwargs)
    except (TooMuchWork, BadTarget):
        raise
    except GraphiteError as exc:
        raise BadTarget(context.target, node.position + 1, str(exc)) from None
    return result


def _pushed_down(call: Call, context: Context) -> list[TimeSeries] | None:
    """``sumSeries(a.*.b, c.d)`` and its kin over plain paths, computed by the reader in
    one pass over the files (``rrdtool xport``) when it can; None: evaluate as usual."""
    how = PUSHED_DOWN.get(call.name)
    if how is None or context.combine is None or call.kwargs or not call.args:
        return None
    if not all(isinstance(arg, Path) for arg in call.args):
        return None
    patterns = [arg.text for arg in call.args if isinstance(arg, Path)]
    found = context.combine(patterns, how, context.start, context.end, context.budget)
    if found is not None:
        for series in found:
            series.name = series.path = f"{call.name}({series.path})"
            series.tags = {"name": series.name}
    return found


def _bind(function: Function, call: Call, context: Context) -> tuple[list[Any], dict[str, Any]]:
    """Positional and keyword arguments for ``function.run``, each checked against its
    parameter; keywords are passed by position, so Python names never leak in."""
    params = function.params
    values: list[Any] = []
    given: dict[int, Any] = {}
    position = 0
    for arg in call.args:
        if position >= len(params):
            raise _wrong(context, arg, f"{function.name} takes at most {len(params)} arguments")
        param = params[position]
        value = _argument(param, arg, context, function)
        if param.multiple:
            given.setdefault(position, []).append(value)
        else:
            given[position] = value
            position += 1
    for name, arg in call.kwargs:
        index = next((i for i, p in enumerate(params) if p.name == name), None)
        if index is None:
            raise _wrong(context, arg, f"{function.name} has no parameter {name!r}")
        if index in given or params[index].multiple:
            raise _wrong(context, arg, f"{function.name}: {name} is given twice or is repeatable")
        given[index] = _argument(params[index], arg, context, function)
    last = max(given, default=-1)
    for index, param in enumerate(params):
        if index in given:
            values.extend(given[index]) if param.multiple else values.append(given[index])
        elif param.required:
            raise BadTarget(
                context.target,
                call.position + 1,
                f"{function.name} needs its {param.name} argument",
            )
        elif index < last and not param.multiple:
            values.append(param.default)
    return values, {}


def _argument(param: Param, arg: Node, context: Context, function: Function) -> Any:
    kind = param.type
    if kind == "seriesList":
        if isinstance(arg, Literal):
            raise _wrong(context, arg, f"{function.name}: {param.name} must be a path or a call")
        return arg if param.lazy else evaluate_node(arg, context)
    value = (
        evaluate_node(arg, context) if kind == "any" else _literal(arg, context, function, param)
    )
    if kind in ("any",):
        return value
    number = isinstance(value, int | float) and not isinstance(value, bool)
    ok = {
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "float": number,
        "string": isinstance(value, str),
        "interval": isinstance(value, str),
        "aggFunc": isinstance(value, str),
        "boolean": isinstance(value, bool),
        "node": (isinstance(value, int) and not isinstance(value, bool)) or isinstance(value, str),
        "intOrInterval": (isinstance(value, int) and not isinstance(value, bool))
        or isinstance(value, str),
    }[kind]
    if not ok and value is None and not param.required:
        return None
    if not ok:
        raise _wrong(context, arg, f"{function.name}: {param.name} must be {_describe(kind)}")
    return value


def _literal(arg: Node, context: Context, function: Function, param: Param) -> Any:
    if not isinstance(arg, Literal):
        raise _wrong(context, arg, f"{function.name}: {param.name} must be {_describe(param.type)}")
    return arg.value


def _describe(kind: str) -> str:
    return {
        "integer": "a whole number",
        "float": "a number",
        "string": "a quoted string",
        "interval": "an interval string like '5min'",
        "aggFunc": "an aggregation name like 'sum'",
        "boolean": "true or false",
        "node": "a node number",
        "intOrInterval": "a number of points or an interval string",
    }.get(kind, kind)


def _wrong(context: Context, arg: Node, reason: str) -> BadTarget:
    return BadTarget(context.target, arg.position + 1, reason)
