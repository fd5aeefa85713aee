"""A check result: what one run of a Nagios-style plugin said, as a value and on the wire.

Slurpers make one per plugin run and send ``{"checks": [...]}`` to ``POST
/api/v1/checks``; the server reads each with :func:`check_from_json`, which validates
everything (a bad check is rejected alone, with the field named). Texts are kept raw and
bounded here, in bytes of UTF-8, so a plugin that prints a megabyte costs nothing
downstream; making them safe to show is the pages' job. NUL characters are removed (a
PostgreSQL text column cannot hold them).

Perfdata values, thresholds, min and max are in the base units of the samples the same
run sent (``used=42%;80;90`` -> value 0.42, warn ``0.8``), each with the metric id of its
sample, so a rule can use the plugin's own thresholds against the stored series.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rexmon.errors import InvalidCheckResult, InvalidMetricName, InvalidThreshold
from rexmon.metric import validate_metric
from rexmon.sample import MAX_TIME
from rexmon.thresholds import Limits, limits_from_json

MAX_OUTPUT_BYTES = 1024  # the first line
MAX_LONG_OUTPUT_BYTES = 4096
MAX_LABEL_CHARS = 200
MAX_UOM_CHARS = 16
MAX_PERFDATA = 256
TRUNCATED = "…"

CHECK_KEYS = frozenset(
    {"check", "time", "state", "exit_status", "output", "long_output", "perfdata"}
)
PERF_KEYS = frozenset({"label", "metric", "value", "uom", "warn", "crit", "min", "max"})


class CheckState(enum.Enum):
    """A plugin's verdict; the value is its exit status."""

    OK = 0
    WARNING = 1
    CRITICAL = 2
    UNKNOWN = 3

    @classmethod
    def from_exit_status(cls, status: int) -> CheckState:
        """0 OK, 1 WARNING, 2 CRITICAL, anything else (3, 127, a signal) UNKNOWN."""
        return cls(status) if status in (0, 1, 2) else cls.UNKNOWN

    @property
    def rank(self) -> int:
        """OK < WARNING < UNKNOWN < CRITICAL, the order Icinga sorts problems in."""
        return (0, 1, 3, 2)[self.value]


def worst(states: Iterable[CheckState]) -> CheckState:
    """The worst of ``states`` (OK when there is none)."""
    return max(states, key=lambda state: state.rank, default=CheckState.OK)


def bounded(text: str, limit: int) -> str:
    """``text`` without NULs, cut to at most ``limit`` bytes of UTF-8 (ending in ``…``
    when cut; never in the middle of a character)."""
    text = text.replace("\0", "")
    data = text.encode("utf-8", "replace")
    if len(data) <= limit:
        return text
    room = limit - len(TRUNCATED.encode())
    return data[:room].decode("utf-8", "ignore") + TRUNCATED


@dataclass(frozen=True)
class PerfDatum:
    """One perfdata item: ``metric`` is the id of the sample it became (None when the
    label could not become one); value and limits are in that sample's base units."""

    label: str
    metric: str | None
    value: float | None
    uom: str = ""
    limits: Limits = Limits()

    def to_json(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "metric": self.metric,
            "value": self.value,
            "uom": self.uom,
            **self.limits.to_json(),
        }


@dataclass(frozen=True)
class CheckResult:
    """One plugin run: which check, when, its state, its text and its perfdata."""

    check: str
    time: int
    state: CheckState
    output: str
    long_output: str = ""
    perfdata: tuple[PerfDatum, ...] = ()
    exit_status: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "time": self.time,
            "state": self.state.name,
            "exit_status": self.exit_status,
            "output": self.output,
            "long_output": self.long_output,
            "perfdata": [item.to_json() for item in self.perfdata],
        }


def _fail(where: str, message: str) -> InvalidCheckResult:
    return InvalidCheckResult(f"{where}: {message}" if where else message)


def _text(obj: Mapping[str, Any], key: str, limit: int, where: str, *, chars: bool) -> str:
    value = obj.get(key, "")
    if not isinstance(value, str):
        raise _fail(f"{where}{key}", f"expected a string, got {type(value).__name__}")
    try:
        data = value.encode("utf-8")
    except UnicodeEncodeError:
        raise _fail(f"{where}{key}", "is not valid UTF-8 (a lone surrogate)") from None
    size = len(value) if chars else len(data)
    if size > limit:
        unit = "characters" if chars else "bytes"
        raise _fail(f"{where}{key}", f"{size} {unit} long, at most {limit} allowed")
    if "\0" in value:
        raise _fail(f"{where}{key}", "must not contain NUL characters")
    return value


def _metric(value: object, where: str) -> str:
    try:
        return validate_metric(value)
    except InvalidMetricName as exc:
        raise _fail(where, str(exc)) from None


def _mapping(obj: object, keys: frozenset[str], where: str) -> Mapping[str, Any]:
    if not isinstance(obj, Mapping):
        raise _fail(where, f"expected an object, got {type(obj).__name__}")
    unknown = set(obj) - keys
    if unknown:
        raise _fail(where, f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    return obj


def perfdatum_from_json(obj: object, where: str = "") -> PerfDatum:
    item = _mapping(obj, PERF_KEYS, where)
    prefix = f"{where}." if where else ""
    if "label" not in item:
        raise _fail(where, "missing field 'label'")
    label = _text(item, "label", MAX_LABEL_CHARS, prefix, chars=True)
    metric = item.get("metric")
    value = item.get("value")
    if value is not None and (
        isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value)
    ):
        raise _fail(f"{prefix}value", "expected a finite number or null")
    try:
        limits = limits_from_json(dict(item), where or "perfdata")
    except InvalidThreshold as exc:
        raise InvalidCheckResult(str(exc)) from None
    return PerfDatum(
        label=label,
        metric=None if metric is None else _metric(metric, f"{prefix}metric"),
        value=None if value is None else float(value),
        uom=_text(item, "uom", MAX_UOM_CHARS, prefix, chars=True),
        limits=limits,
    )


def check_from_json(obj: object) -> CheckResult:
    """A check result from its JSON object; raises :class:`InvalidCheckResult`."""
    item = _mapping(obj, CHECK_KEYS, "")
    for key in ("check", "time", "state", "output"):
        if key not in item:
            raise _fail("", f"missing field {key!r}")
    time = item["time"]
    if isinstance(time, bool) or not isinstance(time, int) or not 0 < time <= MAX_TIME:
        raise _fail("time", "expected a positive integer UNIX time in seconds")
    state = item["state"]
    if not isinstance(state, str) or state.upper() not in CheckState.__members__:
        raise _fail("state", f"expected OK, WARNING, CRITICAL or UNKNOWN, got {state!r}")
    status = item.get("exit_status")
    if status is not None and (isinstance(status, bool) or not isinstance(status, int)):
        raise _fail("exit_status", "expected an integer or null")
    if status is not None and not -255 <= status <= 255:
        raise _fail("exit_status", f"{status} is not an exit status")
    perfdata = item.get("perfdata", [])
    if not isinstance(perfdata, list):
        raise _fail("perfdata", "expected a list")
    if len(perfdata) > MAX_PERFDATA:
        raise _fail("perfdata", f"{len(perfdata)} items, at most {MAX_PERFDATA} allowed")
    return CheckResult(
        check=_metric(item["check"], "check"),
        time=time,
        state=CheckState[state.upper()],
        output=_text(item, "output", MAX_OUTPUT_BYTES, "", chars=False),
        long_output=_text(item, "long_output", MAX_LONG_OUTPUT_BYTES, "", chars=False),
        perfdata=tuple(
            perfdatum_from_json(entry, f"perfdata[{index}]") for index, entry in enumerate(perfdata)
        ),
        exit_status=status,
    )
