"""The ``Sample`` type and its wire forms (JSON objects and Graphite plaintext lines).

Parsing is strict and per sample: a bad sample raises :class:`InvalidSample` with the
reason, and callers reject that one sample while keeping the rest of the batch.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from rexmon.errors import InvalidMetricName, InvalidSample
from rexmon.metric import validate_metric


class DsType(enum.Enum):
    """rrdtool data-source types a sample may ask for when its RRD is created."""

    GAUGE = "GAUGE"
    COUNTER = "COUNTER"
    DERIVE = "DERIVE"
    ABSOLUTE = "ABSOLUTE"

    @classmethod
    def parse(cls, text: object) -> DsType:
        if isinstance(text, str):
            try:
                return cls(text.upper())
            except ValueError:
                pass
        allowed = ", ".join(t.value for t in cls)
        raise InvalidSample(f"type must be one of {allowed}, got {text!r}")


@dataclass(slots=True, unsafe_hash=True)
class Sample:
    """One measurement: metric id, integer UNIX time, finite value or None (unknown).

    ``type``, ``min`` and ``max`` are hints for the RRD when this sample creates it (a
    schema that sets them wins); a Munin plugin's ``field.min 0`` keeps a DERIVE counter's
    reset from being stored as a huge negative rate.

    Treat it as immutable. It is not ``frozen`` only because ingest makes one per sample
    received, and a frozen dataclass takes 4x as long to build (0.45 vs 0.12 us)."""

    metric: str
    time: int
    value: float | None
    type: DsType | None = None
    min: float | None = None
    max: float | None = None

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {"metric": self.metric, "time": self.time, "value": self.value}
        if self.type is not None:
            data["type"] = self.type.value
        if self.min is not None:
            data["min"] = self.min
        if self.max is not None:
            data["max"] = self.max
        return data


def make_sample(metric: object, time: object, value: object, type: object = None) -> Sample:
    """Validate the parts of a sample and build it; raises :class:`InvalidSample`.

    Time and value may be numbers or their text form (a plaintext line, a WAL record):
    text is what those formats are made of. JSON samples go through
    :func:`sample_from_json`, which takes numbers only."""
    return _build(metric, _text_time(time), _text_value(value), type)


def _build(metric: object, time: object, value: object, type: object) -> Sample:
    try:
        name = validate_metric(metric)
    except InvalidMetricName as exc:
        raise InvalidSample(str(exc)) from None
    return Sample(
        metric=name,
        time=_parse_time(time),
        value=_parse_value(value),
        type=None if type is None else DsType.parse(type),
    )


SAMPLE_KEYS = frozenset({"metric", "time", "value", "type", "min", "max"})


def sample_from_json(obj: object) -> Sample:
    """A sample from one JSON object ``{"metric", "time", "value", "type"?, "min"?, "max"?}``."""
    if type(obj) is dict and len(obj) == 3:  # the usual shape, checked cheaply first
        metric, time, value = obj.get("metric"), obj.get("time"), obj.get("value")
        if (
            type(metric) is str
            and type(time) is int
            and time > 0
            and type(value) is float
            and value - value == 0.0  # finite
        ):
            try:
                return Sample(validate_metric(metric), time, value)
            except InvalidMetricName as exc:
                raise InvalidSample(str(exc)) from None
    if not isinstance(obj, Mapping):
        raise InvalidSample(f"sample must be an object, got {type(obj).__name__}")
    unknown = set(obj) - SAMPLE_KEYS
    if unknown:
        raise InvalidSample(f"unknown field(s): {', '.join(sorted(map(str, unknown)))}")
    for field in ("metric", "time", "value"):
        if field not in obj:
            raise InvalidSample(f"missing field {field!r}")
    sample = _build(obj["metric"], obj["time"], obj["value"], obj.get("type"))
    if "min" in obj or "max" in obj:
        sample.min, sample.max = validate_bounds(obj.get("min"), obj.get("max"))
    return sample


def validate_bounds(low: object, high: object) -> tuple[float | None, float | None]:
    """A sample's ``min``/``max`` hints: finite numbers or null, min below max."""
    found = []
    for name, bound in (("min", low), ("max", high)):
        if bound is not None and (
            isinstance(bound, bool)
            or not isinstance(bound, int | float)
            or not math.isfinite(bound)
        ):
            raise InvalidSample(f"{name} must be a finite number or null, got {bound!r}")
        found.append(None if bound is None else float(bound))
    if found[0] is not None and found[1] is not None and found[0] >= found[1]:
        raise InvalidSample(f"min {found[0]:g} must be below max {found[1]:g}")
    return found[0], found[1]


def parse_plaintext_line(line: str) -> Sample:
    """A sample from one Graphite plaintext line ``metric value timestamp``."""
    fields = line.split()
    if len(fields) != 3:
        raise InvalidSample(f"expected 'metric value timestamp', got {len(fields)} field(s)")
    metric, value, time = fields
    return make_sample(metric, time, None if value.lower() in ("u", "null") else value)


def iter_plaintext(text: str) -> Iterator[tuple[int, str]]:
    """The non-blank lines of a plaintext body with their 1-based line numbers."""
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield number, line


class HugeInt:
    """An integer literal too long to convert: JSON parsing keeps it as this marker.

    Python refuses to convert integer text of more than 4300 digits (ValueError), which
    would sink the whole body; the sample holding it is rejected alone instead."""

    __slots__ = ("digits",)

    def __init__(self, digits: int) -> None:
        self.digits = digits


MAX_INT_DIGITS = 40  # far beyond any time or double-sized integer, far below 4300


def parse_json_int(text: str) -> int | HugeInt:
    """``json.loads(parse_int=...)``: an int, or :class:`HugeInt` for an absurdly long one."""
    return HugeInt(len(text)) if len(text) > MAX_INT_DIGITS else int(text)


def _text_time(value: object) -> object:
    if not isinstance(value, str):
        return value
    if not (value.isascii() and value.isdigit()):
        raise InvalidSample(f"time must be an integer UNIX time in seconds, got {value[:40]!r}")
    return HugeInt(len(value)) if len(value) > MAX_INT_DIGITS else int(value)


def _text_value(value: object) -> object:
    if not isinstance(value, str):
        return value
    try:
        number = float(value)
    except ValueError:
        raise InvalidSample(f"value must be a number, got {value[:40]!r}") from None
    if math.isinf(number) and "inf" not in value.lower():
        raise InvalidSample("value out of range")  # digits beyond a double
    return number


def _parse_time(value: object) -> int:
    if isinstance(value, bool):
        raise InvalidSample("time must be an integer UNIX time, got a boolean")
    if isinstance(value, int):
        result = value
    elif isinstance(value, float) and math.isfinite(value) and value.is_integer():
        result = int(value)
    elif isinstance(value, HugeInt):
        raise InvalidSample("time out of range")
    elif isinstance(value, str):
        raise InvalidSample("time must be a number, got a string")
    else:
        raise InvalidSample(f"time must be an integer UNIX time in seconds, got {value!r}")
    if result <= 0:
        raise InvalidSample(f"time must be positive, got {result}")
    if result > MAX_TIME:
        raise InvalidSample("time out of range")
    return result


MAX_TIME = 2**62  # rrdtool keeps times in a signed 64-bit time_t


def _parse_value(value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidSample("value must be a number or null, got a boolean")
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:
            raise InvalidSample("value out of range") from None
    elif isinstance(value, HugeInt):
        raise InvalidSample("value out of range")
    elif isinstance(value, str):
        raise InvalidSample("value must be a number, got a string")
    else:
        raise InvalidSample(f"value must be a number or null, got {type(value).__name__}")
    if not math.isfinite(number):
        raise InvalidSample(f"value must be finite, got {value!r}")
    return number
