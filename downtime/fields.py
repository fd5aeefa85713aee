"""What a person typed (form fields, JSON, command-line options) turned into a Draft.

Times use the human grammar of :mod:`rexmon.timespec` (or UNIX seconds), the end is
given as ``end`` or as ``duration``. Every problem is reported against its field, all at
once, so a form can show each message next to its input.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from downtime.errors import InvalidDowntime
from downtime.model import Draft, Effect, Kind
from rexmon.errors import InvalidTime
from rexmon.timespec import parse_duration, parse_time

FIELDS = (
    "scopes",
    "start",
    "end",
    "duration",
    "reason",
    "kind",
    "effect",
    "rrule",
    "until",
    "timezone",
    "flexible",
    "flex_duration",
)


class FieldErrors(InvalidDowntime):
    """Several fields are wrong; ``errors`` maps each to its message."""

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        field, message = next(iter(errors.items()))
        super().__init__(field, message)


@dataclasses.dataclass(frozen=True)
class Reader:
    """Reads raw values against one clock reading and the site time zone."""

    now: float
    zone: ZoneInfo

    def time(self, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if not isinstance(value, str):
            raise InvalidTime("expected a time")
        return parse_time(value, self.now, self.zone)

    def duration(self, value: Any) -> int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if not isinstance(value, str):
            raise InvalidTime("expected a duration like '4h'")
        return parse_duration(value)


def scopes_from_text(value: Any) -> tuple[str, ...]:
    """A list, or text with one glob per line (commas also separate)."""
    if isinstance(value, str):
        return tuple(part.strip() for part in value.replace(",", "\n").splitlines() if part.strip())
    if isinstance(value, list | tuple):
        return tuple(value)
    raise InvalidDowntime("scopes", "expected a list of metric globs")


def draft_from_fields(data: Mapping[str, Any], reader: Reader, default_zone: str) -> Draft:
    """A Draft from raw fields; raises :class:`FieldErrors` naming every bad field."""
    errors: dict[str, str] = {}
    values = _read(data, reader, errors, partial=False)
    end = values.pop("end", None)
    duration = values.pop("duration", None)
    start = values.get("start")
    if start is not None and "end" not in errors and "duration" not in errors:
        if end is None and duration is None:
            errors["end"] = "give an end or a duration"
        elif end is not None and duration is not None:
            errors["duration"] = "give an end or a duration, not both"
        else:
            values["end"] = end if end is not None else start + duration
    if "reason" not in values and "reason" not in errors:
        errors["reason"] = "a reason is required"
    if "scopes" not in values and "scopes" not in errors:
        errors["scopes"] = "at least one scope (metric glob) is required"
    flex_duration = values.pop("flex_duration", None)
    if values.get("flexible"):
        if flex_duration is None and "flex_duration" not in errors:
            errors["flex_duration"] = "a flexible downtime needs a duration"
        values["duration"] = flex_duration
    if errors:
        raise FieldErrors(errors)
    values.setdefault("timezone", default_zone)
    return Draft(**values)


def changes_from_fields(data: Mapping[str, Any], reader: Reader, current: Draft) -> dict[str, Any]:
    """The Draft fields an edit changes; ``duration`` counts from the (new) start."""
    errors: dict[str, str] = {}
    values = _read(data, reader, errors, partial=True)
    if errors:
        raise FieldErrors(errors)
    fixed = values.pop("duration", None)
    if "flex_duration" in values:
        values["duration"] = values.pop("flex_duration")
    if fixed is not None:
        if "end" in values:
            raise FieldErrors({"duration": "give an end or a duration, not both"})
        values["end"] = values.get("start", current.start) + fixed
    return values


def _read(
    data: Mapping[str, Any], reader: Reader, errors: dict[str, str], *, partial: bool
) -> dict[str, Any]:
    unknown = sorted(set(data) - set(FIELDS))
    if unknown:
        errors[unknown[0]] = "no such field"
    values: dict[str, Any] = {}
    given = {key: value for key, value in data.items() if value not in (None, "")}
    if not partial:
        given.setdefault("start", "now")
    readers = {
        "scopes": scopes_from_text,
        "start": reader.time,
        "end": reader.time,
        "until": reader.time,
        "duration": reader.duration,
        "flex_duration": reader.duration,
        "reason": _text,
        "kind": lambda v: Kind(v),
        "effect": lambda v: None if v == "default" else Effect(v),
        "rrule": _text,
        "timezone": _text,
        "flexible": _flag,
    }
    for key, value in given.items():
        if key not in readers:
            continue
        try:
            values[key] = readers[key](value)
        except (InvalidTime, InvalidDowntime, ValueError) as exc:
            errors[key] = getattr(exc, "message", None) or str(exc)
    return values


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError("expected text")
    return value.strip()


def _flag(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("1", "on", "true", "yes"):
        return True
    if isinstance(value, str) and value.lower() in ("", "0", "off", "false", "no"):
        return False
    raise ValueError("expected true or false")
