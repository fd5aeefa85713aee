"""Graph requests read from query strings into bounded, validated values.

Nothing from a request reaches rrdtool unless it passed through here: metric ids are
validated (:func:`rexmon.metric.validate_metric`), times go through the small grammar
of :func:`rexmon.timespec.parse_time` (``-1d``, ``now``, ISO 8601, UNIX seconds) in the
site zone, and every number is an integer within fixed bounds. A bad value raises
:class:`BadQuery` naming the parameter.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from rexmon.errors import InvalidMetricName, InvalidTime
from rexmon.metric import validate_metric
from rexmon.timespec import parse_time

MIN_TIME = 100_000_000  # the archive's earliest accepted time
MAX_SPAN = 20 * 366 * 86400
MIN_SPAN = 60
MAX_FUTURE = 366 * 86400
MAX_METRICS = 20
MAX_TEXT = 64
WIDTH = (64, 3000, 800)  # low, high, default
HEIGHT = (32, 1500, 240)
POINTS = (10, 5000, 800)
FORMATS = ("png", "svg", "csv", "json")
_INTEGER = re.compile(r"\d{1,6}\Z", re.ASCII)
_RELATIVE = re.compile(r"\s*(now|[+-])", re.ASCII | re.IGNORECASE)


class BadQuery(ValueError):
    """A query parameter that cannot be used; the message names it."""


@dataclass(frozen=True)
class TimeRange:
    """``[start, end]`` in UNIX seconds; ``relative`` when the end follows the clock."""

    start: int
    end: int
    relative: bool

    @property
    def span(self) -> int:
        return self.end - self.start


def parse_range(
    args: Mapping[str, str], now: float, zone: ZoneInfo, default_start: str = "-1d"
) -> TimeRange:
    """``start`` (default ``-1d``) and ``end`` (default ``now``) of a query.

    An end that follows the clock (``now``, ``-1h``) is moved up to the next multiple of
    about one pixel's worth of time, so the same URL names the same picture for a while
    and the browser's cached copy (by ETag) stays good until new data arrive.
    """
    start_text = _text(args, "start", default_start)
    end_text = _text(args, "end", "now")
    try:
        start = parse_time(start_text, now, zone)
    except InvalidTime as exc:
        raise BadQuery(f"start: {exc}") from None
    try:
        end = parse_time(end_text, now, zone)
    except InvalidTime as exc:
        raise BadQuery(f"end: {exc}") from None
    relative = bool(_RELATIVE.match(end_text))
    if start < MIN_TIME:
        raise BadQuery(f"start: {start_text!r} is before 1973")
    if end > now + MAX_FUTURE:
        raise BadQuery(f"end: {end_text!r} is more than a year ahead")
    if end - start < MIN_SPAN:
        raise BadQuery("end must be at least a minute after start")
    if end - start > MAX_SPAN:
        raise BadQuery("the range may span at most 20 years")
    if relative:
        span = end - start
        quantum = max(60, span // 800)
        end = -(-end // quantum) * quantum
        start = end - span
    return TimeRange(start, end, relative)


def parse_metrics(names: Sequence[str]) -> list[str]:
    """Validated metric ids, in order, without repeats (1 to :data:`MAX_METRICS`)."""
    if not names:
        raise BadQuery("m: name at least one metric (m=host.node01.cpu.user)")
    if len(names) > MAX_METRICS:
        raise BadQuery(f"m: at most {MAX_METRICS} metrics in one graph")
    found: list[str] = []
    for name in names:
        try:
            metric = validate_metric(name)
        except InvalidMetricName as exc:
            raise BadQuery(f"m: {exc}") from None
        if metric not in found:
            found.append(metric)
    return found


def parse_int(args: Mapping[str, str], name: str, bounds: tuple[int, int, int]) -> int:
    """An integer parameter within ``(low, high)``, ``default`` when absent."""
    low, high, default = bounds
    text = args.get(name)
    if text is None or text == "":
        return default
    if not _INTEGER.match(text):
        raise BadQuery(f"{name}: expected a whole number from {low} to {high}")
    value = int(text)
    if not low <= value <= high:
        raise BadQuery(f"{name}: {value} is outside {low}..{high}")
    return value


def parse_flag(args: Mapping[str, str], name: str) -> bool:
    text = (args.get(name) or "").lower()
    if text in ("", "0", "no", "false", "off", "lines"):
        return False
    if text in ("1", "yes", "true", "on"):
        return True
    raise BadQuery(f"{name}: expected 1 or 0")


def parse_format(text: str | None, default: str = "png") -> str:
    value = (text or default).lower()
    if value not in FORMATS:
        raise BadQuery(f"format: expected one of {', '.join(FORMATS)}")
    return value


def _text(args: Mapping[str, str], name: str, default: str) -> str:
    text = args.get(name) or default
    if len(text) > MAX_TEXT:
        raise BadQuery(f"{name}: at most {MAX_TEXT} characters")
    return text
