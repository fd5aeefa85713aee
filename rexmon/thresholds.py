"""Nagios threshold ranges and the limits of one measured value (warn, crit, min, max).

The syntax is the one of the Nagios plugin guidelines, which every plugin and Icinga use,
so a site's tuned thresholds keep their meaning:

==========  =====================================
``10``      alert if the value is < 0 or > 10
``10:``     alert if < 10
``~:10``    alert if > 10
``10:20``   alert if < 10 or > 20
``@10:20``  alert if 10 <= value <= 20 (inside)
==========  =====================================

A range is parsed once into a :class:`Range` value; :meth:`Range.alerts` is the only
place that decides. Munin's ``warning``/``critical`` (``max``, ``min:``, ``:max``,
``min:max``, alert outside) become the same type through :func:`parse_munin_range`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from rexmon.errors import InvalidThreshold

MAX_RANGE_TEXT = 64


@dataclass(frozen=True)
class Range:
    """``start``..``end`` (inclusive; infinite ends allowed); alert outside it, or inside
    it when ``inside`` (the ``@`` form)."""

    start: float = 0.0
    end: float = math.inf
    inside: bool = False

    def __post_init__(self) -> None:
        if math.isnan(self.start) or math.isnan(self.end):
            raise InvalidThreshold("a range end must be a number, not NaN")
        if self.start > self.end:
            raise InvalidThreshold(f"range start {self.start:g} is above its end {self.end:g}")

    def alerts(self, value: float) -> bool:
        """Whether ``value`` is in the alerting part of the range."""
        within = self.start <= value <= self.end
        return within if self.inside else not within

    def scaled(self, factor: float) -> Range:
        """The same range in other units (``factor`` > 0), e.g. percent -> ratio."""
        return Range(self.start * factor, self.end * factor, self.inside)

    def to_text(self) -> str:
        """The Nagios form, which :func:`parse_range` reads back to an equal range."""
        start = "~" if self.start == -math.inf else _number(self.start)
        end = "" if self.end == math.inf else _number(self.end)
        prefix = "@" if self.inside else ""
        if start == "0" and end and not self.inside:
            return end
        return f"{prefix}{start}:{end}"


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def _parse_number(text: str, whole: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidThreshold(f"range {whole!r}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidThreshold(f"range {whole!r}: use '~' or nothing for an open end")
    return value


def parse_range(text: str) -> Range:
    """A Nagios range (see the module docstring); raises :class:`InvalidThreshold`."""
    whole = text.strip()
    if not whole or len(whole) > MAX_RANGE_TEXT:
        raise InvalidThreshold(f"expected a range like '10', '10:20' or '@10:20', got {text!r}")
    inside = whole.startswith("@")
    body = whole[1:] if inside else whole
    if ":" not in body:
        return Range(0.0, _parse_number(body, whole), inside)
    low, _, high = body.partition(":")
    if low == "~":
        start = -math.inf
    elif low == "":
        start = 0.0  # ':10' is not in the guidelines; plugins that print it mean 0..10
    else:
        start = _parse_number(low, whole)
    end = math.inf if high == "" else _parse_number(high, whole)
    return Range(start, end, inside)


def parse_munin_range(text: str) -> Range:
    """Munin's ``warning``/``critical``: ``max``, ``min:``, ``:max`` or ``min:max``; the
    value is fine inside, so a plain ``92`` means "above 92" (no lower bound, unlike
    Nagios' ``92`` which also alerts below 0)."""
    whole = text.strip()
    if not whole or len(whole) > MAX_RANGE_TEXT:
        raise InvalidThreshold(f"expected 'max', 'min:', ':max' or 'min:max', got {text!r}")
    if ":" not in whole:
        return Range(-math.inf, _parse_number(whole, whole))
    low, _, high = whole.partition(":")
    start = -math.inf if low == "" else _parse_number(low, whole)
    end = math.inf if high == "" else _parse_number(high, whole)
    return Range(start, end)


@dataclass(frozen=True)
class Limits:
    """What a plugin says about one value besides the value: its warning and critical
    ranges and its possible minimum and maximum (all in the value's units)."""

    warn: Range | None = None
    crit: Range | None = None
    min: float | None = None
    max: float | None = None

    def __bool__(self) -> bool:
        return any(item is not None for item in (self.warn, self.crit, self.min, self.max))

    def scaled(self, factor: float) -> Limits:
        return Limits(
            None if self.warn is None else self.warn.scaled(factor),
            None if self.crit is None else self.crit.scaled(factor),
            None if self.min is None else self.min * factor,
            None if self.max is None else self.max * factor,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "warn": None if self.warn is None else self.warn.to_text(),
            "crit": None if self.crit is None else self.crit.to_text(),
            "min": self.min,
            "max": self.max,
        }


def limits_from_json(obj: dict[str, Any], where: str) -> Limits:
    """The ``warn``/``crit``/``min``/``max`` keys of a JSON object (others are ignored:
    the caller checks for unknown keys); ``where`` names the object in errors."""
    ranges: list[Range | None] = []
    for key in ("warn", "crit"):
        text = obj.get(key)
        if text is None:
            ranges.append(None)
        elif not isinstance(text, str):
            raise InvalidThreshold(f"{where}.{key}: expected a range text or null")
        else:
            try:
                ranges.append(parse_range(text))
            except InvalidThreshold as exc:
                raise InvalidThreshold(f"{where}.{key}: {exc}") from None
    bounds: list[float | None] = []
    for key in ("min", "max"):
        value = obj.get(key)
        if value is not None and (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidThreshold(f"{where}.{key}: expected a finite number or null")
        bounds.append(None if value is None else float(value))
    return Limits(ranges[0], ranges[1], bounds[0], bounds[1])
