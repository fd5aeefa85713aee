"""Listing the metrics of an archive that match a glob, fast on archives of 100k files.

Only the directory of the glob's literal prefix is walked (``host.n01.*`` walks
``<root>/host/n01``), with ``os.scandir``, whose entries know whether they are
directories without a ``stat`` per file. This module does not import rrdtool.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from rrdarchive.errors import InvalidMetricName
from rrdarchive.metric import RRD_SUFFIX, glob_matcher, glob_prefix, metric_path

_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}\Z", re.ASCII)


def list_metrics(root: Path, glob: str = "*") -> list[str]:
    """Sorted metric ids under ``root`` whose RRD file exists and that match ``glob``."""
    matches = glob_matcher(glob)
    prefix = glob_prefix(glob)
    found: list[str] = []
    if prefix == glob:  # no wildcard: one file or none
        try:
            return [glob] if metric_path(root, glob).is_file() else []
        except InvalidMetricName:
            return []
    parts = prefix.split(".") if prefix else []
    _walk(root.joinpath(*parts), parts, matches, found)
    return sorted(found)


def _walk(
    directory: Path, parts: list[str], matches: Callable[[str], bool], found: list[str]
) -> None:
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        name = entry.name
        if entry.is_dir(follow_symlinks=False):
            if _COMPONENT.match(name) and len(parts) < 9:
                _walk(Path(entry.path), [*parts, name], matches, found)
        elif name.endswith(RRD_SUFFIX) and _COMPONENT.match(name[: -len(RRD_SUFFIX)]):
            metric = ".".join([*parts, name[: -len(RRD_SUFFIX)]])
            if len(parts) >= 1 and len(metric) <= 255 and matches(metric):
                found.append(metric)
