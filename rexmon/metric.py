"""Metric ids: validation, the mapping to RRD paths, globs, and name sanitising.

A metric id is a dotted path such as ``host.node01_fnal_gov.cpu.user``. Each component is
``[A-Za-z0-9_][A-Za-z0-9_-]{0,63}``; 2 to 10 components; at most 255 characters. Only ids
that pass :func:`validate_metric` are ever turned into paths, so no input can escape the
archive root or start an rrdtool option.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from rexmon.errors import InvalidMetricName

# globs live in rexmon.globs; these two are re-exported for the many callers
from rexmon.globs import can_match_dotted
from rexmon.globs import glob_matcher as glob_matcher
from rexmon.globs import validate_glob as validate_glob

MAX_METRIC_LENGTH = 255
MIN_COMPONENTS = 2
MAX_COMPONENTS = 10
MAX_COMPONENT_LENGTH = 64
RRD_SUFFIX = ".rrd"

_COMPONENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}\Z", re.ASCII)
_METRIC = re.compile(
    r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}(?:\.[A-Za-z0-9_][A-Za-z0-9_-]{0,63}){1,9}\Z", re.ASCII
)
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+", re.ASCII)


def validate_metric(name: object) -> str:
    """Return ``name`` if it is a valid metric id, else raise :class:`InvalidMetricName`."""
    if not isinstance(name, str):
        raise InvalidMetricName(f"metric name must be a string, got {type(name).__name__}")
    return _validated(name)


@functools.lru_cache(maxsize=1 << 13)
def _validated(name: str) -> str:
    """The checks of :func:`validate_metric`. Valid names are remembered, since the same
    metrics arrive in every batch (refusals raise and are not cached). Bounded: names are
    user input; 8192 entries of at most 255 characters (~450 bytes each with the cache's
    own bookkeeping) stay under 4 MB, and a miss costs one regex match (under 1 us)."""
    if len(name) <= MAX_METRIC_LENGTH and _METRIC.match(name):
        return name
    return _refusal(name)


def _refusal(name: str) -> str:
    """Raise the precise reason why ``name`` is not a metric id."""
    if not name:
        raise InvalidMetricName("metric name is empty")
    if len(name) > MAX_METRIC_LENGTH:
        raise InvalidMetricName(
            f"metric name is {len(name)} characters long, at most {MAX_METRIC_LENGTH} allowed"
        )
    parts = name.split(".")
    if not MIN_COMPONENTS <= len(parts) <= MAX_COMPONENTS:
        raise InvalidMetricName(
            f"metric name {name!r} has {len(parts)} components,"
            f" {MIN_COMPONENTS} to {MAX_COMPONENTS} allowed"
        )
    for position, part in enumerate(parts, start=1):
        if not _COMPONENT.match(part):
            raise InvalidMetricName(
                f"metric name {name!r}: component {position} {part!r} must match"
                " [A-Za-z0-9_][A-Za-z0-9_-]{0,63}"
            )
    return name


def is_component(text: str) -> bool:
    """Whether ``text`` is one valid component of a metric id."""
    return _COMPONENT.match(text) is not None


def metric_path(root: Path, name: str) -> Path:
    """The RRD file of a metric: ``a.b.c`` -> ``<root>/a/b/c.rrd``."""
    # one string parsed once: several times faster than joinpath, and a validated id
    # has no "/", ".." or empty component to be careful about
    return Path(os.path.join(root, validate_metric(name).replace(".", "/") + RRD_SUFFIX))


def metric_from_path(root: Path, path: Path) -> str | None:
    """The metric id of an RRD file under ``root``, or None if it is not one of ours."""
    try:
        relative = path.relative_to(root)
    except ValueError:
        return None
    if relative.suffix != RRD_SUFFIX:
        return None
    name = ".".join(relative.with_suffix("").parts)
    try:
        return validate_metric(name)
    except InvalidMetricName:
        return None


def sanitize_component(text: str) -> str:
    """Turn free text (a host name, a label value) into one valid metric component.

    Every run of characters outside ``[A-Za-z0-9_-]`` (dots included) becomes ``_``, a
    leading ``-`` becomes ``_``, and the result is cut to 64 characters. Slurpers use this
    for every name part they did not write themselves, so names agree across sources.
    """
    cleaned = _UNSAFE.sub("_", text.strip())
    if not cleaned:
        return "_"
    if cleaned.startswith("-"):
        cleaned = "_" + cleaned[1:]
    return cleaned[:MAX_COMPONENT_LENGTH]


def join_metric(*parts: str) -> str:
    """Build a metric id from parts that are each sanitised, then validate the whole."""
    return validate_metric(".".join(sanitize_component(part) for part in parts))


def validate_metric_glob(pattern: object) -> str:
    """Like :func:`validate_glob`, and the glob must be able to match some metric id: a
    rule or a schema with ``host..cpu``, ``-x.*`` or eleven components would silently
    never apply."""
    glob = validate_glob(pattern)
    if not can_match_dotted(glob, MIN_COMPONENTS, MAX_COMPONENTS, MAX_COMPONENT_LENGTH):
        raise InvalidMetricName(
            f"metric glob {glob!r} can never match a metric id ({MIN_COMPONENTS} to"
            f" {MAX_COMPONENTS} dot-separated components, each [A-Za-z0-9_][A-Za-z0-9_-]{{0,63}})"
        )
    return glob


def glob_prefix(pattern: str) -> str:
    """The literal leading components of a glob (``host.n01.*`` -> ``host.n01``).

    Listing metrics walks only the directory of this prefix, which keeps it fast on
    archives with 100k files.
    """
    literal: list[str] = []
    for part in validate_glob(pattern).split("."):
        if any(ch in part for ch in "*?[]"):
            break
        literal.append(part)
    return ".".join(literal)
