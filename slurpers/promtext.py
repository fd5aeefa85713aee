"""A parser for the Prometheus text exposition format (version 0.0.4).

Pure: ``parse_text(text)`` returns the samples with their family's type and reports each
line it cannot read. Timestamps in the exposition are ignored (the run's time is used).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_SAMPLE = re.compile(rf"({_NAME})\s*(?:\{{(.*)\}})?\s+(\S+)(?:\s+(-?\d+))?\s*\Z")
_LABEL = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(,|\Z)')
_ESCAPES = {"\\\\": "\\", '\\"': '"', "\\n": "\n"}
SUFFIXES = ("_bucket", "_count", "_sum", "_total", "_created", "_info")


@dataclass(frozen=True)
class PromSample:
    name: str
    labels: tuple[tuple[str, str], ...]
    value: float
    family_type: str


def _unescape(text: str) -> str:
    return re.sub(r"\\[\\\"n]", lambda m: _ESCAPES[m.group(0)], text)


def parse_labels(text: str) -> tuple[tuple[str, str], ...]:
    labels: list[tuple[str, str]] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _LABEL.match(text, position)
        if not match:
            raise ValueError(f"cannot read labels {text[:60]!r}")
        labels.append((match.group(1), _unescape(match.group(2))))
        position = match.end()
    return tuple(labels)


def parse_value(text: str) -> float:
    lowered = text.lower()
    if lowered in ("+inf", "inf"):
        return math.inf
    if lowered == "-inf":
        return -math.inf
    return float(text)


def family_of(name: str, types: dict[str, str]) -> str:
    """The declared type for a sample name (``x_total`` belongs to family ``x``)."""
    if name in types:
        return types[name]
    for suffix in SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in types:
            return types[name[: -len(suffix)]]
    return "untyped"


def parse_text(text: str) -> tuple[list[PromSample], list[str]]:
    samples: list[PromSample] = []
    errors: list[str] = []
    types: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("#"):
            fields = line.split(None, 3)
            if len(fields) >= 4 and fields[1] == "TYPE":
                types[fields[2]] = fields[3].strip()
            continue
        match = _SAMPLE.match(line)
        if not match:
            errors.append(f"line {number}: cannot read {line[:60]!r}")
            continue
        name, label_text, value_text, _timestamp = match.groups()
        try:
            labels = parse_labels(label_text or "")
            value = parse_value(value_text)
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
            continue
        samples.append(PromSample(name, labels, value, family_of(name, types)))
    return samples, errors
