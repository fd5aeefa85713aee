"""How much disk a schema's RRD takes, measured by rrdtool itself: a file is created with
the schema's arguments in a scratch directory and its size read, so the figure is the
one ``ls -l`` will show, header and all, whatever the rrdtool version's layout."""

from __future__ import annotations

import tempfile
from pathlib import Path

import rrdtool

from rexmon.sample import DsType
from rrdarchive.schemas import Schema

UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def file_bytes(schema: Schema) -> int:
    """The size of a new RRD of ``schema`` (a GAUGE file: every DS type is the same size)."""
    with tempfile.TemporaryDirectory(prefix="rexmon-size-") as scratch:
        path = Path(scratch) / "probe.rrd"
        rrdtool.create(str(path), "--start", "0", *schema.create_args(DsType.GAUGE))
        return path.stat().st_size


def format_bytes(size: float) -> str:
    """``1.37 MB``, ``13.7 GB``: decimal units, as disks are sold and ``df -H`` shows."""
    for unit in UNITS:
        if size < 1000 or unit == UNITS[-1]:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.3g} {unit}"
        size /= 1000
    raise AssertionError("unreachable")
