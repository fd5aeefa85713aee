"""Graphite's plaintext protocol, pure: a byte stream cut into lines, each line read as
``metric value [timestamp]``.

No I/O here, and time is a parameter, so every rule is tested on bytes. What a line may
be follows carbon's own receiver where that is sane:

- the timestamp is optional; ``-1`` or missing means "now" (the receiver's clock, read
  once per chunk); a float timestamp is floored to the second;
- ``nan`` is an unknown value (stored as unknown, as ``U``); ``inf`` is refused;
- a tagged name (``a.b;tag=v``, Graphite 1.1) is refused: rexmon ids have no tags, and
  dropping them silently would merge distinct series into one;
- a name must be a rexmon metric id (see :mod:`rexmon.metric`); it is never rewritten,
  so what the agent sent is what the archive holds, or the line is refused;
- a line longer than the limit is refused whole (its bytes are skipped up to the next
  newline, without being kept in memory), and so is a line that is not UTF-8.

Every refusal is a :class:`Reason`, so the receiver counts lines by reason.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass

from rexmon.errors import InvalidMetricName
from rexmon.metric import validate_metric
from rexmon.sample import MAX_TIME, Sample

DEFAULT_MAX_LINE = 4096  # bytes; a metric id has at most 255 characters
NOW = -1


class Reason(enum.Enum):
    """Why a line was not stored. The value is the counter's name in the logs."""

    TOO_LONG = "too_long"
    NOT_UTF8 = "not_utf8"
    FIELDS = "fields"  # not 2 or 3 fields
    TAGGED = "tagged"
    NAME = "name"  # not a rexmon metric id
    VALUE = "value"
    TIME = "time"
    FORBIDDEN = "forbidden"  # the source network may not write this metric
    NEW_METRIC_LIMIT = "new_metric_limit"
    ARCHIVE = "archive"  # the archive refused the sample (out of order, too old, ...)
    RETRY = "archive_busy"  # refused for a passing reason (disk full, busy file)
    UNAVAILABLE = "archive_unavailable"  # the archive could not be written at all
    CUT_AT_CLOSE = "cut_at_close"  # a last line without newline when the connection ended


@dataclass(frozen=True, slots=True)
class Refused:
    """A line that is not stored, why, and a short echo of it for the log."""

    reason: Reason
    detail: str


Line = bytes | Refused  # what the splitter yields: a complete line, or a refusal


class LineSplitter:
    """Cuts a TCP stream into lines across reads; bounded memory whatever arrives.

    ``feed`` returns the complete lines of the chunk (without the newline; ``\\r\\n``
    works too). The unfinished tail is kept for the next chunk, at most ``max_line``
    bytes: past that the line is refused as too long and its rest skipped."""

    def __init__(self, max_line: int = DEFAULT_MAX_LINE) -> None:
        self.max_line = max_line
        self._tail = b""
        self._skipping = False  # inside a line already refused as too long

    def feed(self, chunk: bytes) -> list[Line]:
        lines: list[Line] = []
        start = 0
        while True:
            end = chunk.find(b"\n", start)
            if end < 0:
                break
            if self._skipping:
                self._skipping = False
            else:
                line = self._tail + chunk[start:end] if self._tail else chunk[start:end]
                lines.append(line if len(line) <= self.max_line else _too_long(len(line)))
            self._tail = b""
            start = end + 1
        if not self._skipping and start < len(chunk):
            self._tail += chunk[start:]
            if len(self._tail) > self.max_line:
                lines.append(_too_long(len(self._tail)))
                self._tail = b""
                self._skipping = True
        return lines

    def close(self) -> Refused | None:
        """The end of the stream: a last line without its newline is refused, not stored
        (the sender may have been cut in the middle of it)."""
        tail, self._tail = self._tail, b""
        if tail.strip():
            return Refused(Reason.CUT_AT_CLOSE, _echo(tail))
        return None


def _too_long(size: int) -> Refused:
    return Refused(Reason.TOO_LONG, f"line of more than {size - 1} bytes")


def parse_line(line: bytes, now: int) -> Sample | Refused | None:
    """One line as a sample, a refusal, or None for a blank line."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return Refused(Reason.NOT_UTF8, _echo(line))
    fields = text.split()
    if not fields:
        return None
    if len(fields) not in (2, 3):
        return Refused(Reason.FIELDS, f"expected 'metric value [timestamp]': {_echo(line)}")
    name = fields[0]
    if ";" in name:
        return Refused(Reason.TAGGED, f"tagged names are not supported: {_echo(line)}")
    try:
        metric = validate_metric(name)
    except InvalidMetricName as exc:
        return Refused(Reason.NAME, str(exc))
    value = parse_value(fields[1])
    if isinstance(value, Refused):
        return value
    when = parse_timestamp(fields[2], now) if len(fields) == 3 else now
    if isinstance(when, Refused):
        return when
    return Sample(metric, when, value)


def parse_value(text: str) -> float | None | Refused:
    """A finite number, or None for ``nan`` (unknown)."""
    try:
        number = float(text)
    except ValueError:
        return Refused(Reason.VALUE, f"value must be a number, got {text[:40]!r}")
    if math.isnan(number):
        return None
    if math.isinf(number):
        return Refused(Reason.VALUE, f"value must be finite, got {text[:40]!r}")
    return number


def parse_timestamp(text: str, now: int) -> int | Refused:
    """Seconds since the epoch, floored; ``-1`` is ``now``."""
    try:
        number = float(text)
    except ValueError:
        return Refused(Reason.TIME, f"timestamp must be a number, got {text[:40]!r}")
    if number == NOW:
        return now
    if not math.isfinite(number) or number <= 0 or number > MAX_TIME:
        return Refused(Reason.TIME, f"timestamp out of range: {text[:40]!r}")
    return math.floor(number)


def _echo(line: bytes) -> str:
    """The start of a line for a log message, safe to print whatever it holds."""
    return repr(line[:80])[2:-1] + ("..." if len(line) > 80 else "")
