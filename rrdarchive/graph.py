"""Graph requests as validated values, and the ``rrdtool graph`` elements built from them.

Callers describe what to draw -- metrics, an optional title, shaded :class:`Band` s (e.g.
downtimes), :class:`HLine` s (e.g. thresholds) and :class:`VRule` s (e.g. the moments an
alarm fired or cleared) -- and :func:`graph_elements` turns them
into the element list that follows ``--``. Free text (labels, legends) has ``\\`` and
``:`` escaped and control characters removed, so it cannot start a new element or option.
This module does not import rrdtool.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MAX_LABEL = 120
FORMATS = ("PNG", "SVG")
GRAPH_MODES = ("lines", "stacked", "sum", "average")
PALETTE = (
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
_COLOUR = re.compile(r"#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?\Z", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def escape_text(text: str) -> str:
    """Text safe inside a graph element: control characters dropped, ``\\`` and ``:`` escaped."""
    cleaned = _CONTROL.sub(" ", text)[:MAX_LABEL]
    # rrdtool unescapes the text, then reads a backslash in the second-to-last place as a
    # layout code (\c, \l, \n ...) and fails on any it does not know (a reason ending in
    # "\\" or "\\:"): trailing spaces move every backslash away from that place
    pad = 2 if cleaned.endswith("\\") else 1 if cleaned[-2:-1] == "\\" else 0
    return cleaned.replace("\\", "\\\\").replace(":", "\\:") + " " * pad


def escape_path(path: Path) -> str:
    """A file name inside a graph element (``DEF:name=PATH:...``)."""
    return str(path).replace("\\", "\\\\").replace(":", "\\:")


def check_colour(colour: str) -> str:
    if not isinstance(colour, str) or not _COLOUR.match(colour):
        raise ValueError(f"colour must look like '#rrggbb' or '#rrggbbaa', got {colour!r}")
    return colour


@dataclass(frozen=True)
class Band:
    """A shaded time range (a downtime, a maintenance window) with a legend label."""

    start: int
    end: int
    colour: str = "#80808040"
    label: str = ""

    def __post_init__(self) -> None:
        check_colour(self.colour)
        if not (isinstance(self.start, int) and isinstance(self.end, int)):
            raise ValueError("band start and end must be integer UNIX times")
        if self.start >= self.end:
            raise ValueError(f"band start {self.start} must be before its end {self.end}")


@dataclass(frozen=True)
class HLine:
    """A horizontal line (a threshold) with a legend label."""

    value: float
    colour: str = "#ff0000"
    label: str = ""

    def __post_init__(self) -> None:
        check_colour(self.colour)
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise ValueError(f"line value must be a number, got {self.value!r}")
        if not math.isfinite(self.value):
            raise ValueError(f"line value must be finite, got {self.value!r}")


@dataclass(frozen=True)
class VRule:
    """A vertical mark at one moment (an alarm fired or cleared) with a legend label."""

    at: int
    colour: str = "#000000"
    label: str = ""

    def __post_init__(self) -> None:
        check_colour(self.colour)
        if isinstance(self.at, bool) or not isinstance(self.at, int):
            raise ValueError(f"vertical rule time must be an integer UNIX time, got {self.at!r}")


def _number(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    return float(value)


def _last_text(value: float | None, factor: float) -> str:
    """``last 56.20`` as GPRINT would print it, or ``last -`` for an unknown value."""
    if value is None or not math.isfinite(value):
        return "last -"
    return escape_text(f"last {_number('last', value) * factor:.2f}")


def y_limits(include: Sequence[float]) -> list[str]:
    """Options that stretch the autoscaled y-axis to show every value of ``include``
    (without ``--rigid`` rrdtool still widens the axis for data beyond them)."""
    values = [_number("limit", value) for value in include]
    if not values:
        return []
    return ["--lower-limit", repr(min(values)), "--upper-limit", repr(max(values))]


def _legend(text: str) -> str:
    """``:legend`` for an element, or nothing when there is no legend to show."""
    return f":{escape_text(text)}" if text else ""


def graph_elements(
    sources: Sequence[tuple[str, Path]],
    *,
    cf: str,
    bands: Sequence[Band] = (),
    lines: Sequence[HLine] = (),
    legend: bool = True,
    rules: Sequence[VRule] = (),
    stack: bool = False,
    scale: float = 1.0,
    note: str = "",
    lasts: Sequence[float | None] | None = None,
    mode: str = "lines",
    rest: int = 0,
) -> list[str]:
    """The elements after ``--``: one line per (label, rrd path) plus bands and lines;
    with ``stack`` (or ``mode="stacked"``) the metrics are drawn as stacked areas;
    ``mode="sum"``/``"average"`` draws one line, their sum/average at each time (unknowns
    left out); ``rest`` last sources are not drawn one by one but summed as "other".
    Every value is multiplied by ``scale``; ``note`` is a centred line right under the
    time axis. ``lasts`` (one per source, as fed) are printed as "last" instead of the
    last consolidated row, which on a long range is a day's average, not the last value."""
    factor = _number("scale", scale)
    mode = "stacked" if stack else mode
    if mode not in GRAPH_MODES:
        raise ValueError(f"mode must be one of {', '.join(GRAPH_MODES)}, got {mode!r}")
    if isinstance(rest, bool) or not isinstance(rest, int) or not 0 <= rest < len(sources):
        raise ValueError(f"rest must be a whole number below the number of sources, got {rest!r}")
    elements: list[str] = []
    for number, (_, path) in enumerate(sources):
        if factor == 1.0:
            elements.append(f"DEF:m{number}={escape_path(path)}:value:{cf}")
        else:
            elements.append(f"DEF:r{number}={escape_path(path)}:value:{cf}")
            elements.append(f"CDEF:m{number}=r{number},{factor!r},*")
    if note:
        elements.append(f"COMMENT:{escape_text(note)}\\c")
    for number, band in enumerate(bands):
        # shade where TIME is inside the band; m0 only gives the CDEF its time axis
        elements.append(
            f"CDEF:b{number}=m0,POP,TIME,{band.start},GE,TIME,{band.end},LE,*,INF,UNKN,IF"
        )
        elements.append(f"AREA:b{number}{band.colour}{_legend(band.label)}")
    for number, (name, label, last) in enumerate(_drawn(sources, mode, rest, lasts, elements)):
        colour = PALETTE[number % len(PALETTE)]
        if mode == "stacked":
            more = ":STACK" if number else ""
            elements.append(f"AREA:{name}{colour}:{escape_text(label)}{more}")
        else:
            elements.append(f"LINE1:{name}{colour}:{escape_text(label)}")
        if legend:
            for cf_name, word in (("LAST", "last"), ("MINIMUM", "min"),
                                  ("AVERAGE", "avg"), ("MAXIMUM", "max")):  # fmt: skip
                if word == "last" and last is not _UNSET:
                    elements.append(f"COMMENT:{_last_text(last, factor)}")  # type: ignore[arg-type]
                    continue
                elements.append(f"VDEF:{name}{word}={name},{cf_name}")
                elements.append(f"GPRINT:{name}{word}:{word} %.2lf%s")
            elements.append("COMMENT:\\n")
    for line in lines:
        elements.append(f"HRULE:{line.value!r}{line.colour}{_legend(line.label)}")
    for rule in rules:
        elements.append(f"VRULE:{rule.at}{rule.colour}{_legend(rule.label)}")
    return elements


_UNSET = object()


def _drawn(
    sources: Sequence[tuple[str, Path]],
    mode: str,
    rest: int,
    lasts: Sequence[float | None] | None,
    elements: list[str],
) -> list[tuple[str, str, object]]:
    """(variable, legend, last fed or _UNSET) of each drawn series; appends the CDEFs of
    combined ones (ADDNAN treats an unknown as 0 unless all are unknown; AVG skips them)."""
    count = len(sources)
    if mode in ("sum", "average"):
        if mode == "sum":
            elements.append("CDEF:c0=" + _sum(range(count)))
        else:
            elements.append("CDEF:c0=" + ",".join(f"m{i}" for i in range(count)) + f",{count},AVG")
        return [("c0", f"{mode} of {count} metrics", _UNSET)]
    kept = count - rest
    drawn: list[tuple[str, str, object]] = [
        (f"m{i}", sources[i][0], _UNSET if lasts is None else lasts[i]) for i in range(kept)
    ]
    if rest:
        elements.append("CDEF:other=" + _sum(range(kept, count)))
        drawn.append(("other", f"other (sum of {rest} more)", _UNSET))
    return drawn


def _sum(numbers: range) -> str:
    names = [f"m{i}" for i in numbers]
    return ",".join([names[0], *(f"{name},ADDNAN" for name in names[1:])])
