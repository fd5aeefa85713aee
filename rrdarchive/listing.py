"""Listing the metrics of an archive that match a glob, fast on archives of 100k files.

Only the directory of the glob's literal prefix is walked (``host.n01.*`` walks
``<root>/host/n01``), and below it only directories that can hold a match: for
``host.n01*`` the walk of ``<root>/host`` enters ``n01``, ``n010``, ... and skips the
rest. ``os.scandir`` entries know whether they are directories without a ``stat`` per
file. This module does not import rrdtool.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from rexmon.errors import InvalidMetricName
from rexmon.metric import (
    MAX_COMPONENTS,
    MAX_METRIC_LENGTH,
    RRD_SUFFIX,
    glob_matcher,
    glob_prefix,
    is_component,
    metric_path,
)


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
    literal = re.split(r"[*?\[]", glob, maxsplit=1)[0]  # every match starts with this
    _walk(root.joinpath(*parts), parts, literal, matches, found)
    return sorted(found)


def globs_matching_nothing(root: Path, globs: Iterable[str]) -> list[str]:
    """Those of ``globs`` that match no metric with a file under ``root``: check-config
    warns of them (a typo, or metrics that have not arrived yet)."""
    return [glob for glob in globs if not list_metrics(root, glob)]


def _walk(
    directory: Path,
    parts: list[str],
    literal: str,
    matches: Callable[[str], bool],
    found: list[str],
) -> None:
    try:
        entries = list(os.scandir(directory))
    except (FileNotFoundError, NotADirectoryError):
        return
    for entry in entries:
        name = entry.name
        if entry.is_dir(follow_symlinks=False):
            below = ".".join([*parts, name, ""])  # what every metric in it starts with
            if (
                is_component(name)
                and len(parts) < MAX_COMPONENTS - 1
                and (below.startswith(literal) or literal.startswith(below))
            ):
                _walk(Path(entry.path), [*parts, name], literal, matches, found)
        elif name.endswith(RRD_SUFFIX) and is_component(name[: -len(RRD_SUFFIX)]):
            metric = ".".join([*parts, name[: -len(RRD_SUFFIX)]])
            if len(parts) >= 1 and len(metric) <= MAX_METRIC_LENGTH and matches(metric):
                found.append(metric)


def list_children(
    root: Path, parts: list[str], only: str | None = None
) -> tuple[list[str], list[str]]:
    """The names below the node ``parts`` (a metric id's first components): the
    directories that can hold metrics, and the metrics that end there (``.rrd`` files;
    none at the top level, where no metric id ends). Both sorted; a missing node has none.
    Graphite's ``metrics/find`` walks the archive with this, one level at a time.
    ``only``: just that name, looked up by two stats instead of a listing (a path's
    literal last component: ``host.*.cpu.user`` asks this of every host)."""
    if not all(is_component(part) for part in parts) or len(parts) >= MAX_COMPONENTS:
        return [], []
    if only is not None:
        if not is_component(only):
            return [], []
        node = root.joinpath(*parts, only)
        branch = len(parts) < MAX_COMPONENTS - 1 and _is_real_dir(node)
        leaf = bool(parts) and node.with_name(only + RRD_SUFFIX).is_file()
        return [only] if branch else [], [only] if leaf else []
    try:
        entries = list(os.scandir(root.joinpath(*parts)))
    except (FileNotFoundError, NotADirectoryError):
        return [], []
    branches: list[str] = []
    leaves: list[str] = []
    for entry in entries:
        name = entry.name
        if entry.is_dir(follow_symlinks=False):
            if is_component(name) and len(parts) < MAX_COMPONENTS - 1:
                branches.append(name)
        elif parts and name.endswith(RRD_SUFFIX) and is_component(name[: -len(RRD_SUFFIX)]):
            leaves.append(name[: -len(RRD_SUFFIX)])
    return sorted(branches), sorted(leaves)


def _is_real_dir(path: Path) -> bool:
    """A directory, not a symlink to one (as the listing's ``is_dir(follow_symlinks=False)``)."""
    try:
        return stat.S_ISDIR(path.lstat().st_mode)
    except OSError:
        return False


def scan_metrics(root: Path) -> Iterator[tuple[str, int]]:
    """(metric id, mtime) of every RRD file below ``root``: a stat per file, no rrdtool
    (the status page's snapshot of a whole site: 100k files in well under a second)."""
    pending: list[tuple[str, list[str]]] = [(str(root), [])]
    while pending:
        directory, parts = pending.pop()
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                if is_component(name):
                    pending.append((entry.path, [*parts, name]))
            elif parts and name.endswith(RRD_SUFFIX) and is_component(name[: -len(RRD_SUFFIX)]):
                try:
                    mtime = int(entry.stat(follow_symlinks=False).st_mtime)
                except FileNotFoundError:
                    continue
                yield ".".join([*parts, name[: -len(RRD_SUFFIX)]]), mtime
