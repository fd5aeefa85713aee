"""A parser for what Prometheus exporters emit: text format 0.0.4 and OpenMetrics 1.0.

Pure: ``parse_text(text)`` returns the samples with their family's type and reports each
line it cannot read, keeping the rest. It reads:

- quoted UTF-8 names (Prometheus 3): ``{"http.server.duration", "service.name"="x"} 1``,
  and ``# TYPE "http.server.duration" gauge``;
- escaped label values (``\\\\``, ``\\"``, ``\\n``); ``NaN``, ``+Inf``, ``-Inf``;
- timestamps: integer milliseconds in the text format, float seconds in OpenMetrics
  (a text ending in ``# EOF``, or ``openmetrics=True`` from the Content-Type);
- OpenMetrics exemplars after `` # `` (dropped), ``# UNIT`` (kept on the samples),
  ``_created`` series (kept here; the source skips ``*_created`` by default).

Why not ``prometheus_client``'s parsers: both raise on the first line they dislike, so
one odd line loses the whole scrape, and the OpenMetrics one also refuses texts real
exporters send (a missing ``# EOF``, timestamps on some samples of a family only). The
tests check this parser against them on the recorded outputs they do accept.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ESCAPES = {"\\": "\\", '"': '"', "n": "\n"}
_MS_TIMESTAMP = re.compile(r"-?\d+\Z")
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created", "_info", "_gcount", "_gsum")
EOF = "# EOF"


@dataclass(frozen=True)
class PromSample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float
    family_type: str
    time: float | None = None  # seconds, when the exporter gave a timestamp
    unit: str = ""


def _quoted(text: str, start: int) -> tuple[str, int]:
    """The string starting at the ``"`` at ``start`` (unescaped), and the index after it."""
    out: list[str] = []
    position = start + 1
    while position < len(text):
        char = text[position]
        if char == '"':
            return "".join(out), position + 1
        if char == "\\" and position + 1 < len(text):
            following = text[position + 1]
            out.append(_ESCAPES.get(following, "\\" + following))
            position += 2
            continue
        out.append(char)
        position += 1
    raise ValueError("a quoted string is not closed")


def _skip(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t":
        position += 1
    return position


def _label_set(text: str, position: int) -> tuple[str | None, list[tuple[str, str]], int]:
    """From the ``{`` at ``position``: (a quoted metric name in it, the labels, the index
    after the ``}``)."""
    name: str | None = None
    labels: list[tuple[str, str]] = []
    position += 1
    while True:
        position = _skip(text, position)
        if position >= len(text):
            raise ValueError("the label set is not closed")
        if text[position] == "}":
            return name, labels, position + 1
        if text[position] == '"':
            key, position = _quoted(text, position)
            quoted = True
        else:
            match = _LABEL_NAME.match(text, position)
            if not match:
                raise ValueError(f"cannot read a label name at {text[position:][:20]!r}")
            key, position, quoted = match.group(0), match.end(), False
        position = _skip(text, position)
        if quoted and not labels and name is None and text[position : position + 1] in (",", "}"):
            name = key  # {"my.metric", ...}: the name itself
        else:
            if text[position : position + 1] != "=":
                raise ValueError(f"expected '=' after label {key!r}")
            position = _skip(text, position + 1)
            if text[position : position + 1] != '"':
                raise ValueError(f"the value of label {key!r} is not quoted")
            value, position = _quoted(text, position)
            labels.append((key, value))
            position = _skip(text, position)
        if text[position : position + 1] == ",":
            position += 1
        elif text[position : position + 1] != "}":
            raise ValueError(f"expected ',' or '}}' after label {key!r}")


def parse_value(text: str) -> float:
    lowered = text.lower()
    if lowered in ("+inf", "inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    return float(text)


def _timestamp(text: str, openmetrics: bool) -> float:
    if openmetrics:
        value = float(text)
    elif _MS_TIMESTAMP.match(text):
        value = int(text) / 1000
    else:
        raise ValueError(f"timestamp {text[:30]!r} is not integer milliseconds")
    if not math.isfinite(value):
        raise ValueError(f"timestamp {text[:30]!r} is not finite")
    return value


def parse_sample_line(
    line: str, openmetrics: bool
) -> tuple[str, tuple[tuple[str, str], ...], float, float | None]:
    """(name, labels, value, time in seconds or None) of one sample line."""
    name: str | None = None
    position = 0
    if line.startswith('"'):
        name, position = _quoted(line, 0)
    else:
        match = _NAME.match(line)
        if match:
            name, position = match.group(0), match.end()
    labels: list[tuple[str, str]] = []
    brace = _skip(line, position)
    if line[brace : brace + 1] == "{":
        inner, labels, position = _label_set(line, brace)
        if inner is not None:
            if name is not None:
                raise ValueError("the metric has two names")
            name = inner
    if not name:
        raise ValueError("no metric name")
    rest = line[position:]
    if rest and rest[0] not in " \t":
        raise ValueError(f"unexpected {rest[:20]!r} after the name")
    sample, _, _exemplar = rest.partition(" # ")
    fields = sample.split()
    if not 1 <= len(fields) <= 2:
        raise ValueError("expected a value and at most a timestamp")
    value = parse_value(fields[0])
    time = _timestamp(fields[1], openmetrics) if len(fields) == 2 else None
    return name, tuple(labels), value, time


def family_of(name: str, families: dict[str, str]) -> str | None:
    """The declared family of a sample name (``x_total`` belongs to family ``x``)."""
    if name in families:
        return name
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in families:
            return name[: -len(suffix)]
    return None


def _metadata(line: str) -> tuple[str, str, str] | None:
    """(keyword, family, rest) of a ``# TYPE``/``# UNIT``/``# HELP`` line, else None."""
    parts = line[1:].lstrip().split(None, 1)
    if len(parts) != 2 or parts[0] not in ("TYPE", "UNIT", "HELP"):
        return None
    body = parts[1]
    if body.startswith('"'):
        family, position = _quoted(body, 0)
        rest = body[position:]
    else:
        family, _, rest = body.partition(" ")
    return parts[0], family, rest.strip()


def parse_text(text: str, openmetrics: bool | None = None) -> tuple[list[PromSample], list[str]]:
    """The samples of an exposition and a message per line that cannot be read.
    ``openmetrics`` None: decided by a final ``# EOF`` line."""
    lines = text.splitlines()
    if openmetrics is None:
        stripped = [line.strip() for line in lines if line.strip()]
        openmetrics = bool(stripped) and stripped[-1] == EOF
    samples: list[PromSample] = []
    errors: list[str] = []
    types: dict[str, str] = {}
    units: dict[str, str] = {}
    ended = False
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if not line:
            continue
        if ended:
            errors.append(f"line {number}: text after '# EOF' ignored")
            break
        if line.startswith("#"):
            if line == EOF:
                ended = True
                continue
            try:
                meta = _metadata(line)
            except ValueError as exc:
                errors.append(f"line {number}: {exc}")
                continue
            if meta and meta[0] == "TYPE":
                types[meta[1]] = meta[2]
            elif meta and meta[0] == "UNIT":
                units[meta[1]] = meta[2]
            continue
        try:
            name, labels, value, time = parse_sample_line(line, openmetrics)
        except ValueError as exc:
            errors.append(f"line {number}: {exc} in {line[:60]!r}")
            continue
        family = family_of(name, types) or family_of(name, units)
        kind = types.get(family, "untyped") if family else "untyped"
        unit = units.get(family, "") if family else ""
        samples.append(PromSample(name, labels, value, kind, time, unit))
    return samples, errors


def parse_labels(text: str) -> tuple[tuple[str, str], ...]:
    """The labels of a label set's inside (``a="1",b="2"``)."""
    _name, labels, _end = _label_set("{" + text + "}", 0)
    return tuple(labels)
