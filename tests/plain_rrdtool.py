"""Reading RRD files back with the plain ``rrdtool`` command, as a site admin would."""

from __future__ import annotations

import math
import subprocess
from pathlib import Path


def run_rrdtool(*args: str) -> str:
    return subprocess.run(["rrdtool", *args], check=True, capture_output=True, text=True).stdout


def fetch_values(path: Path, start: int, end: int, cf: str = "AVERAGE") -> dict[int, float | None]:
    """Time -> value (None = unknown) as ``rrdtool fetch`` prints them."""
    values: dict[int, float | None] = {}
    for line in run_rrdtool(
        "fetch", str(path), cf, "--start", str(start), "--end", str(end)
    ).splitlines():
        stamp, colon, rest = line.partition(":")
        if colon and stamp.strip().isdigit():
            number = float(rest.split()[0])
            values[int(stamp)] = None if math.isnan(number) else number
    return values


def known_values(path: Path, start: int, end: int) -> dict[int, float]:
    return {t: v for t, v in fetch_values(path, start, end).items() if v is not None}


def info_field(path: Path, key: str) -> str:
    for line in run_rrdtool("info", str(path)).splitlines():
        name, _, value = line.partition(" = ")
        if name == key:
            return value.strip().strip('"')
    raise KeyError(key)


def last_update(path: Path) -> int:
    return int(run_rrdtool("last", str(path)).strip())
