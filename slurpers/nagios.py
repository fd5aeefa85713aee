"""Parse Nagios plugin output: first line, long text, perfdata -> values in base units.

Perfdata is ``'label'=value[UOM];[warn];[crit];[min];[max]``; warn and crit are Nagios
ranges (:mod:`rexmon.thresholds`), kept with min and max as the value's
:class:`~rexmon.thresholds.Limits`. Units become base units (the limits too) and the
unit goes into the name:
``s``/``ms``/``us`` -> ``_seconds``; ``B``/``KB``/``MB``/``GB``/``TB`` (1024-based, as
monitoring-plugins compute them; ``KiB``... too) -> ``_bytes``; ``%`` -> ``_ratio``
(0..1, as everywhere else in rexmon); ``c`` -> a counter. A value ``U`` is unknown.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from rexmon.errors import InvalidThreshold
from rexmon.thresholds import Limits, Range, parse_range
from slurpers.errors import CollectError

_UNITS: dict[str, tuple[float, str]] = {
    "": (1.0, ""),
    "s": (1.0, "_seconds"),
    "ms": (1e-3, "_seconds"),
    "us": (1e-6, "_seconds"),
    "%": (0.01, "_ratio"),
    "b": (1.0, "_bytes"),
    "kb": (1024.0, "_bytes"),
    "mb": (1024.0**2, "_bytes"),
    "gb": (1024.0**3, "_bytes"),
    "tb": (1024.0**4, "_bytes"),
    "kib": (1024.0, "_bytes"),
    "mib": (1024.0**2, "_bytes"),
    "gib": (1024.0**3, "_bytes"),
    "tib": (1024.0**4, "_bytes"),
    "c": (1.0, ""),
}
_ITEM = re.compile(
    r"""\s*(?:'((?:[^']|'')+)'|([^'=\s][^=\s]*))=([^;\s]*)(;[^\s]*)?""",
    re.VERBOSE,
)
_VALUE = re.compile(r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|U)([A-Za-z%]*)\Z")


@dataclass(frozen=True)
class PerfValue:
    """One perfdata value in base units; ``name`` carries the unit suffix."""

    label: str
    name: str
    value: float | None
    counter: bool
    uom: str = ""
    limits: Limits = Limits()


@dataclass(frozen=True)
class PluginOutput:
    """A plugin's output split as Nagios does: the first line, the long text, perfdata."""

    text: str
    long_text: str
    perfdata: str


def split_output(output: str) -> PluginOutput:
    """Perfdata follows the first ``|`` of line 1 and the first ``|`` of the long text."""
    lines = output.splitlines()
    if not lines:
        return PluginOutput("", "", "")
    first, _, perf = lines[0].partition("|")
    rest = "\n".join(lines[1:])
    long_text, bar, long_perf = rest.partition("|")
    perfs = [perf.strip()]
    if bar:
        perfs.append(" ".join(long_perf.split()))
    return PluginOutput(first.strip(), long_text.strip(), " ".join(p for p in perfs if p))


def _limit_number(label: str, key: str, text: str) -> float | None:
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        raise CollectError(f"perfdata {label!r}: {key} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CollectError(f"perfdata {label!r}: {key} {text!r} is not finite")
    return value


def _limit_range(label: str, key: str, text: str) -> Range | None:
    if not text:
        return None
    try:
        return parse_range(text)
    except InvalidThreshold as exc:
        raise CollectError(f"perfdata {label!r}: {key}: {exc}") from None


def parse_limits(label: str, text: str) -> Limits:
    """``;warn;crit;min;max`` (each part optional) in the plugin's units."""
    parts = (text.split(";") + ["", "", "", ""])[1:5]
    return Limits(
        _limit_range(label, "warn", parts[0]),
        _limit_range(label, "crit", parts[1]),
        _limit_number(label, "min", parts[2]),
        _limit_number(label, "max", parts[3]),
    )


def parse_value(label: str, text: str, limits: Limits | None = None) -> PerfValue:
    """One item: ``text`` is the value with its unit, ``limits`` in the same unit."""
    match = _VALUE.match(text)
    if not match:
        raise CollectError(f"perfdata {label!r}: cannot read value {text!r}")
    number, unit = match.groups()
    if unit.lower() not in _UNITS:
        raise CollectError(f"perfdata {label!r}: unknown unit {unit!r}")
    factor, suffix = _UNITS[unit.lower()]
    value = None if number == "U" else float(number) * factor
    return PerfValue(
        label,
        label_component(label) + suffix,
        value,
        counter=unit == "c",
        uom=unit,
        limits=Limits() if limits is None else limits.scaled(factor),
    )


def label_component(label: str) -> str:
    """A metric component for a label: mount points read ``root``, ``var_lib``..."""
    if label.startswith("/"):
        stripped = label.strip("/")
        return stripped.replace("/", "_") if stripped else "root"
    return label


def parse_perfdata(perf: str) -> tuple[list[PerfValue], list[str]]:
    """The values of a perfdata string and a message for each item that cannot be read."""
    values: list[PerfValue] = []
    errors: list[str] = []
    position = 0
    perf = perf.rstrip()
    while position < len(perf):
        match = _ITEM.match(perf, position)
        if not match or match.end() == position:
            rest = perf[position:].split(None, 1)
            errors.append(f"cannot read perfdata item {rest[0]!r}" if rest else "bad perfdata")
            position = len(perf) - len(rest[1]) if len(rest) > 1 else len(perf)
            continue
        quoted, plain, raw, tail = match.groups()
        label = quoted.replace("''", "'") if quoted is not None else plain
        limits = Limits()
        try:
            limits = parse_limits(label, tail or "")
        except CollectError as exc:
            errors.append(f"{exc} (the value is kept without its limits)")
        try:
            values.append(parse_value(label, raw, limits))
        except CollectError as exc:
            errors.append(str(exc))
        position = match.end()
    return values, errors


def parse_lines(output: str) -> tuple[list[tuple[str, float]], list[str]]:
    """Plain ``key value`` lines; blank lines and ``#`` comments are skipped."""
    values: list[tuple[str, float]] = []
    errors: list[str] = []
    for number, line in enumerate(output.splitlines(), start=1):
        fields = line.split()
        if not fields or fields[0].startswith("#"):
            continue
        if len(fields) != 2:
            errors.append(f"line {number}: expected 'key value', got {line.strip()[:60]!r}")
            continue
        try:
            values.append((fields[0], float(fields[1])))
        except ValueError:
            errors.append(f"line {number}: {fields[1][:40]!r} is not a number")
    return values, errors
