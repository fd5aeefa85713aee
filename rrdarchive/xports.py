"""Reading many metrics with one ``rrdtool xport``: the argument lists and the reading of
the answer, for :meth:`Archive.fetch_many` and :meth:`Archive.combine` (the Graphite API
reads hundreds of files per request; one xport costs a fraction of a fetch each).

Arguments are built from validated paths (``escape_path``) and a positive step only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from operator import itemgetter
from pathlib import Path
from typing import Any

from rrdarchive.graph import escape_path
from rrdarchive.rrd import finite, positive, time_range

COMBINE = {"sum": "ADDNAN", "average": "ADDNAN", "max": "MAXNAN", "min": "MINNAN"}
_FIRST = itemgetter(0)


def _head(paths: Sequence[Path], start: int, end: int, step: int) -> tuple[list[str], list[str]]:
    if not paths:
        raise ValueError("reading several metrics needs at least one")
    wanted = positive("step", step)
    rows = (end - start) // wanted + 2
    args = [*time_range(start, end), "--step", str(wanted), "--maxrows", str(rows), "--"]
    names = [f"m{number}" for number in range(len(paths))]
    for name, path in zip(names, paths, strict=True):
        args.append(f"DEF:{name}={escape_path(path)}:value:AVERAGE")
    return args, names


def many_args(paths: Sequence[Path], start: int, end: int, step: int) -> list[str]:
    """One DEF and one XPORT per file."""
    args, names = _head(paths, start, end, step)
    return args + [f"XPORT:{name}" for name in names]


def combine_args(paths: Sequence[Path], how: str, start: int, end: int, step: int) -> list[str]:
    """One XPORT: the ``how`` of the known values at each time (a CDEF of ``ADDNAN``,
    ``MAXNAN`` or ``MINNAN``; ``average`` divides by how many are known)."""
    if how not in COMBINE:
        raise ValueError(f"combine needs one of {', '.join(COMBINE)}")
    args, names = _head(paths, start, end, step)
    operator = COMBINE[how]
    total = ",".join([names[0], *(f"{name},{operator}" for name in names[1:])])
    if how == "average":
        known = ",".join([f"{names[0]},UN,0,1,IF", *(f"{name},UN,0,1,IF,+" for name in names[1:])])
        return args + [f"CDEF:s={total}", f"CDEF:c={known}", "CDEF:r=s,c,/", "XPORT:r"]
    return args + [f"CDEF:r={total}", "XPORT:r"]


def columns(result: dict[str, Any], count: int) -> tuple[int, int, list[tuple[float | None, ...]]]:
    """``(first time, step, one column of values per XPORT)`` of an xport answer."""
    meta = result["meta"]
    step = int(meta["step"])
    data = list(zip(*result["data"], strict=True)) or [() for _ in range(count)]
    return int(meta["start"]) + step, step, [finite_values(column) for column in data]


def finite_column(rows: Sequence[tuple[Any, ...]]) -> tuple[float | None, ...]:
    """The first value of each row, unknown (None) unless finite."""
    return finite_values(tuple(map(_FIRST, rows)))


def finite_values(values: tuple[Any, ...]) -> tuple[float | None, ...]:
    """The binding gives floats and None; the sum of the known ones is finite only if
    each is, so the common case runs no Python code per value (the hot path of every
    Graphite render)."""
    if math.isfinite(sum(filter(None, values))):  # filter(None) drops None (and zeros)
        return values
    return tuple(finite(value) for value in values)
