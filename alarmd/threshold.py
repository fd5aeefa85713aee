"""Threshold conditions parsed once into value objects (nagiosplugin style).

A condition is an optional window function followed by a test::

    > 90                  last value above 90
    avg(5m) >= 90         average over the last 5 minutes
    rate(10m) > 1000      per-second increase of a counter over 10 minutes
    min(15m) outside 10..20
    max(5m) 80            Nagios range: alert when outside 0..80
    @10:20                Nagios range: alert when inside 10..20

Functions: ``last`` (default), ``avg``, ``min``, ``max``, ``rate`` (each of the last four
takes a duration). Comparisons: ``>``, ``>=``, ``<``, ``<=``, ``==``, ``outside A..B``.
Nagios ranges ``[@]start:end`` follow the Nagios plugin guidelines: a bare ``N`` means
``0:N``, ``N:`` means ``N:+inf``, ``~`` is -inf, and the condition holds (alerts) when
the value is OUTSIDE ``start..end`` (inclusive ends), or INSIDE with a leading ``@``.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from rexmon.timespec import format_duration, parse_duration

FUNCTIONS = ("last", "avg", "min", "max", "rate")
HELP = (
    "expected a condition like '> 90', 'avg(5m) >= 90', 'rate(10m) > 5',"
    " 'outside 10..20' or a Nagios range like '~:80', '10:20', '@10:20'"
)

_OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    ">": operator.gt,
    "<": operator.lt,
}
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_FUNCTION = re.compile(r"\s*([a-z]+)\s*(?:\(\s*([^)]*?)\s*\))?\s*(.*)\Z", re.ASCII | re.DOTALL)
_COMPARISON = re.compile(rf"(>=|<=|==|>|<)\s*({_NUMBER})\Z", re.ASCII)
_OUTSIDE = re.compile(rf"outside\s+({_NUMBER})\s*\.\.\s*({_NUMBER})\Z", re.ASCII)
_NAGIOS = re.compile(rf"(@?)(?:(~|{_NUMBER})?:)?({_NUMBER})?\Z", re.ASCII)


@dataclass(frozen=True)
class Function:
    """What is compared: the last value, or a function over a time window."""

    name: str = "last"
    window: int = 0

    def __str__(self) -> str:
        if self.name == "last":
            return "last"
        return f"{self.name}({format_duration(self.window)})"


@dataclass(frozen=True)
class Comparison:
    """``value OP threshold``."""

    op: str
    threshold: float

    def holds(self, value: float) -> bool:
        return _OPERATORS[self.op](value, self.threshold)

    def __str__(self) -> str:
        return f"{self.op} {_number(self.threshold)}"


@dataclass(frozen=True)
class Range:
    """A Nagios range; ``holds`` is True when the value is an alert."""

    start: float = 0.0
    end: float = math.inf
    inside: bool = False
    spelled_outside: bool = field(default=False, compare=False)

    def holds(self, value: float) -> bool:
        within = self.start <= value <= self.end
        return within if self.inside else not within

    def __str__(self) -> str:
        if self.spelled_outside:
            return f"outside {_number(self.start)}..{_number(self.end)}"
        start = "~" if self.start == -math.inf else _number(self.start)
        end = "" if self.end == math.inf else _number(self.end)
        return f"{'@' if self.inside else ''}{start}:{end}"


@dataclass(frozen=True)
class Condition:
    """A function and a test; ``holds(value)`` says whether the condition is met."""

    function: Function
    test: Comparison | Range
    negated: bool = False

    def holds(self, value: float) -> bool:
        return self.test.holds(value) != self.negated

    def negation(self) -> Condition:
        """The opposite condition (the default clear condition)."""
        return Condition(self.function, self.test, not self.negated)

    def __str__(self) -> str:
        text = f"{self.function} {self.test}" if self.function.name != "last" else str(self.test)
        return f"not ({text})" if self.negated else text


def parse_condition(text: str) -> Condition:
    """Parse a condition; raises ValueError with a helpful message."""
    function = Function()
    rest = text.strip()
    match = _FUNCTION.match(rest)
    if match and match.group(1) != "outside":
        name, argument, rest = match.group(1), match.group(2), match.group(3).strip()
        if name not in FUNCTIONS:
            raise ValueError(f"{HELP}, got {text!r}")
        if name == "last":
            if argument:
                raise ValueError("last takes no window: write 'last > 90' or '> 90'")
        elif argument is None or not argument:
            raise ValueError(f"{name} needs a window, e.g. '{name}(5m)'")
        else:
            window = parse_duration(argument)
            if window <= 0:
                raise ValueError(f"{name} needs a window longer than 0s")
            function = Function(name, window)
    return Condition(function, _parse_test(rest, text))


def _parse_test(rest: str, text: str) -> Comparison | Range:
    if match := _COMPARISON.match(rest):
        return Comparison(match.group(1), _finite(match.group(2), text))
    if match := _OUTSIDE.match(rest):
        low, high = _finite(match.group(1), text), _finite(match.group(2), text)
        if low > high:
            raise ValueError(f"range {low}..{high} is empty in {text!r}")
        return Range(low, high, spelled_outside=True)
    if rest and (match := _NAGIOS.match(rest)) and (match.group(2) or match.group(3)):
        inside, start_text, end_text = match.groups()
        start = -math.inf if start_text == "~" else float(start_text or 0)
        end = math.inf if end_text is None else _finite(end_text, text)
        if ":" not in rest and start_text is None:
            start = 0.0
        if start > end:
            raise ValueError(f"Nagios range {rest!r} has start > end")
        return Range(start, end, inside == "@")
    raise ValueError(f"{HELP}, got {text!r}")


def _finite(number: str, text: str) -> float:
    value = float(number)
    if not math.isfinite(value):
        raise ValueError(f"threshold {number!r} is not a finite number in {text!r}")
    return value


def _number(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)
