"""The unit of a metric, read from its name: metric names say their base unit.

``host.n1.net.eth0_rx_bytes_total`` is a counter of bytes, drawn as ``bytes/s``;
``host.n1.disk.root.used_ratio`` is a ratio; ``batch.jobs.wait_seconds`` is seconds.

A ratio (0..1) is shown as percent (0-100 %): :func:`shown_as` gives the label and factor.
"""

from __future__ import annotations

from dataclasses import dataclass

UNITS = (
    "bytes",
    "bits",
    "seconds",
    "ratio",
    "percent",
    "celsius",
    "volts",
    "amperes",
    "watts",
    "joules",
    "hertz",
    "meters",
    "grams",
    "packets",
    "requests",
    "errors",
    "jobs",
    "files",
)


def unit_of(metric: str) -> str:
    """The unit the graph of ``metric`` shows, or ``""`` when its name does not say."""
    last = metric.rsplit(".", 1)[-1]
    words = last.split("_")
    per_second = len(words) > 1 and words[-1] == "total"
    if per_second:
        words = words[:-1]
    if not words or words[-1] not in UNITS:
        return "per second" if per_second else ""
    unit = words[-1]
    return f"{unit}/s" if per_second else unit


@dataclass(frozen=True)
class Shown:
    """How a metric's values are shown: the axis label and the factor applied to values."""

    unit: str
    scale: float = 1.0


def shown_as(metric: str) -> Shown:
    """Ratios as ``%`` (times 100), every other unit as it is."""
    unit = unit_of(metric)
    if unit == "ratio":
        return Shown("%", 100.0)
    return Shown(unit)
