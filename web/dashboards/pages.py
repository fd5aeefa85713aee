"""What one dashboard page shows: chosen variable values, each panel's metrics, the ranking.

A request names variable values (checked against the values the archive lists, so a
value never reaches a glob unless a file has it) and a range; each panel's globs are
filled in and listed, and a ``top`` panel ranks its metrics by their max or last value in
the range, keeping ``top`` of them and summing the rest as "other".
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from web.dashboards.loader import (
    VARIABLE,
    Dashboard,
    DashboardFile,
    Panel,
    concrete_glob,
    load_dashboards,
)
from web.graphs.query import BadQuery, TimeRange
from web.services import Services

MAX_PANEL_METRICS = 200  # more than this in one panel are left out (the page says so)
RANK_POINTS = 400
LISTING_SECONDS = 15.0  # a new metric shows on dashboards this long after its first sample
MAX_LISTINGS = 1000


@dataclass(frozen=True)
class ShownPanel:
    index: int
    panel: Panel
    title: str
    metrics: tuple[str, ...]  # in drawing order (ranked for "top")
    rest: int  # the last ``rest`` metrics are summed as "other"
    left_out: int  # metrics beyond MAX_PANEL_METRICS

    @property
    def graph_mode(self) -> str:
        return "lines" if self.panel.mode == "top" else self.panel.mode


_loaded: dict[tuple[Path, float], DashboardFile] = {}


def dashboards_of(services: Services) -> DashboardFile:
    """The site's dashboards file (read again when it changes); none without a file."""
    path = services.config.web.dashboards_file
    if path is None or not path.exists():
        return DashboardFile({}, {})
    key = (path, path.stat().st_mtime)
    if key not in _loaded:
        _loaded.clear()
        _loaded[key] = load_dashboards(path)
    return _loaded[key]


def chosen_values(
    dashboard: Dashboard, args: Mapping[str, str], known: Mapping[str, list[str]]
) -> dict[str, str]:
    """Each variable's value: the one asked for (it must be in ``known``) or the first."""
    values: dict[str, str] = {}
    for name in dashboard.variables:
        options = known.get(name, [])
        asked = args.get(name)
        if asked:
            if asked not in options:
                raise BadQuery(
                    f"{name}: {asked!r} is not a value of {{{name}}} found in the archive"
                    f" (there are {len(options)}; pick one from the list)"
                )
            values[name] = asked
        elif options:
            values[name] = options[0]
    return values


def panel_metrics(services: Services, panel: Panel, values: Mapping[str, str]) -> list[str]:
    """The metrics a panel's globs match with ``values`` filled in (none while a variable
    of the glob has no value), sorted, without repeats."""
    found: dict[str, None] = {}
    for glob in panel.metrics:
        if any(not values.get(name) for name in VARIABLE.findall(glob)):
            continue
        found.update(dict.fromkeys(listed(services, concrete_glob(glob, values))))
    return sorted(found)


_listings: dict[tuple[Path, str], tuple[float, list[str]]] = {}


def listed(services: Services, glob: str) -> list[str]:
    """The archive's metrics matching ``glob``, a listing reused for LISTING_SECONDS: a
    page and its panels list the same globs, and a walk of a big archive takes a while."""
    key = (services.config.archive.root, glob)
    now = time.monotonic()
    cached = _listings.get(key)
    if cached is None or now - cached[0] > LISTING_SECONDS:
        if len(_listings) > MAX_LISTINGS:
            _listings.clear()
        cached = (now, services.archive.list_metrics(glob))
        _listings[key] = cached
    return cached[1]


def show_panel(
    services: Services, index: int, panel: Panel, values: Mapping[str, str], span: TimeRange
) -> ShownPanel:
    metrics = panel_metrics(services, panel, values)
    left_out = max(0, len(metrics) - MAX_PANEL_METRICS)
    metrics = metrics[:MAX_PANEL_METRICS]
    rest = 0
    if panel.mode == "top" and metrics:
        metrics = rank(services, metrics, panel.by, span)
        rest = max(0, len(metrics) - panel.top)
    title = concrete_glob(panel.title, values)
    return ShownPanel(index, panel, title, tuple(metrics), rest, left_out)


def rank(services: Services, metrics: list[str], by: str, span: TimeRange) -> list[str]:
    """``metrics`` by their largest (``by="max"``) or last known value in the range,
    largest first; a metric with no value in the range comes last."""
    step = max(1, span.span // RANK_POINTS)
    series = services.archive.fetch_many(metrics, span.start, span.end, step)

    def score(values: tuple[float | None, ...]) -> float:
        known = [value for value in values if value is not None and math.isfinite(value)]
        if not known:
            return -math.inf
        return max(known) if by == "max" else known[-1]

    scores = {metric: score(one.values) for metric, one in zip(metrics, series, strict=True)}
    return sorted(metrics, key=lambda metric: (-scores[metric], metric))
