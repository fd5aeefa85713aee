"""The unit of a metric, read from its name: metric names say their base unit.

``host.n1.net.eth0_rx_bytes_total`` is a counter of bytes, drawn as ``bytes/s``;
``host.n1.disk.root.used_ratio`` is a ratio; ``batch.jobs.wait_seconds`` is seconds.
"""

from __future__ import annotations

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
