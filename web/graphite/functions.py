"""The function library: each Graphite name, its parameters (checked before the call,
and listed by ``GET /graphite/functions`` in graphite-web's format so Grafana's editor
offers them) and the Python function that does the work.

A parameter's type says what an argument may be: ``seriesList`` (a path or a call),
``integer``, ``float``, ``string``, ``boolean``, ``node`` (an integer, or a tag name),
``interval`` (a string like ``'5min'``), ``intOrInterval``, ``aggFunc`` (``sum``,
``average``, ...). A parameter marked ``lazy`` receives the unevaluated argument, for
functions that read their series over another range (``movingAverage``, ``timeShift``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from web.graphite import combine, transforms
from web.graphite.combine import AGGREGATES


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    required: bool = False
    default: object = None
    multiple: bool = False
    lazy: bool = False

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"name": self.name, "type": self.type}
        if self.required:
            data["required"] = True
        if self.default is not None:
            data["default"] = self.default
        if self.multiple:
            data["multiple"] = True
        if self.type == "aggFunc":
            data["options"] = sorted(AGGREGATES)
        return data


@dataclass(frozen=True)
class Function:
    name: str
    run: Callable[..., Any]
    params: tuple[Param, ...]
    group: str
    description: str

    def to_json(self) -> dict[str, object]:
        """graphite-web's ``/functions`` entry."""
        signature = ", ".join(p.name for p in self.params)
        return {
            "name": self.name,
            "function": f"{self.name}({signature})",
            "description": self.description,
            "module": f"graphite.render.functions.{self.group.lower()}",
            "group": self.group,
            "params": [p.to_json() for p in self.params],
        }


def _series(name: str = "seriesList", lazy: bool = False) -> Param:
    return Param(name, "seriesList", required=True, lazy=lazy)


def _spec(
    name: str, run: Callable[..., Any], group: str, description: str, *params: Param
) -> tuple[str, Function]:
    return name, Function(name, run, params, group, description)


_N = Param("n", "integer", required=True)
_N1 = Param("n", "integer", default=1)
_AGGREGATE = [
    _spec(
        f"{func}Series",
        combine.aggregate_series(func + "Series" if func != "average" else "averageSeries"),
        "Combine",
        f"The {func} of the known points of each column of the series.",
        Param("seriesLists", "seriesList", required=True, multiple=True),
    )
    for func in ("sum", "average", "max", "min")
]

FUNCTIONS: Mapping[str, Function] = MappingProxyType(
    dict(
        [
            _spec("alias", transforms.alias, "Alias", "Renames the series.",
                  _series(), Param("newName", "string", required=True)),
            _spec("aliasByNode", transforms.alias_by_node, "Alias",
                  "Names each series by the given nodes of its path.",
                  _series(), Param("nodes", "node", required=True, multiple=True)),
            _spec("aliasSub", transforms.alias_sub, "Alias",
                  "Runs a regular-expression substitution on each series name.",
                  _series(), Param("search", "string", required=True),
                  Param("replace", "string", required=True)),
            *_AGGREGATE,
            _spec("scale", transforms.scale, "Transform", "Multiplies each point by a factor.",
                  _series(), Param("factor", "float", required=True)),
            _spec("offset", transforms.offset, "Transform", "Adds a constant to each point.",
                  _series(), Param("factor", "float", required=True)),
            _spec("absolute", transforms.absolute, "Transform", "The absolute value of each point.",
                  _series()),
            _spec("derivative", transforms.derivative, "Transform",
                  "The difference from the previous point.", _series()),
            _spec("nonNegativeDerivative", transforms.non_negative_derivative, "Transform",
                  "The difference from the previous point; a drop is a wrap or a reset.",
                  _series(), Param("maxValue", "float"), Param("minValue", "float")),
            _spec("perSecond", transforms.per_second, "Transform",
                  "nonNegativeDerivative divided by the step, per second.",
                  _series(), Param("maxValue", "float"), Param("minValue", "float")),
            _spec("integral", transforms.integral, "Transform",
                  "The running sum of the known points.", _series()),
            _spec("movingAverage", transforms.moving_average, "Calculate",
                  "The average over a window of points or of time ending at each point.",
                  _series(lazy=True), Param("windowSize", "intOrInterval", required=True),
                  Param("xFilesFactor", "float")),
            _spec("summarize", transforms.summarize, "Transform",
                  "Buckets of an interval, each the sum (or func) of its known points.",
                  _series(), Param("intervalString", "interval", required=True),
                  Param("func", "aggFunc", default="sum"),
                  Param("alignToFrom", "boolean", default=False)),
            _spec("highestMax", combine.highest_max, "Filter Series",
                  "The n series with the highest maximum.", _series(), _N1),
            _spec("highestCurrent", combine.highest_current, "Filter Series",
                  "The n series with the highest last known value.", _series(), _N1),
            _spec("lowestCurrent", combine.lowest_current, "Filter Series",
                  "The n series with the lowest last known value.", _series(), _N1),
            _spec("sortByMaxima", combine.sort_by_maxima, "Sorting",
                  "The series by their maximum, highest first.", _series()),
            _spec("limit", combine.limit, "Filter Series", "The first n series.", _series(), _N),
            _spec("groupByNode", combine.group_by_node, "Combine",
                  "Series grouped by one node of their path, each group aggregated.",
                  _series(), Param("nodeNum", "node", required=True),
                  Param("callback", "aggFunc", default="average")),
            _spec("asPercent", combine.as_percent, "Combine",
                  "Each series as a percentage of a total (their sum by default).",
                  _series(), Param("total", "any"),
                  Param("nodes", "node", multiple=True)),
            _spec("keepLastValue", transforms.keep_last_value, "Transform",
                  "Fills runs of at most limit unknown points with the value before them.",
                  _series(), Param("limit", "integer")),
            _spec("transformNull", transforms.transform_null, "Transform",
                  "Unknown points become a default value.",
                  _series(), Param("default", "float", default=0),
                  Param("referenceSeries", "seriesList")),
            _spec("timeShift", transforms.time_shift, "Transform",
                  "The series of a shifted range, drawn on this one.",
                  _series(lazy=True), Param("timeShift", "interval", required=True),
                  Param("resetEnd", "boolean", default=True),
                  Param("alignDST", "boolean", default=False)),
            _spec("removeBelowValue", transforms.remove_below_value, "Filter Data",
                  "Points below n become unknown.", _series(), Param("n", "float", required=True)),
            _spec("removeAboveValue", transforms.remove_above_value, "Filter Data",
                  "Points above n become unknown.", _series(), Param("n", "float", required=True)),
            _spec("constantLine", transforms.constant_line, "Special",
                  "A line at a value across the range.", Param("value", "float", required=True)),
        ]
    )
)  # fmt: skip
