"""The batch pages' table: each accounting group's current job counts and its share of
the cluster's running jobs, with the experiment the ``groups:`` map names.

A dashboard gets the table when one of its globs reads ``batch.<cluster>.groups.…`` (the
``batch`` source's metrics, docs/dashboards.md). "Current" is the source's last run: the
``batch`` source sends every ``jobs.<state>`` each run, zeros included, but a group's
state only while it has jobs in it, so a group metric last updated before the cluster's
``jobs.running`` counts as 0.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from rexmon.errors import InvalidMetricName
from web.dashboards.loader import Dashboard, concrete_glob
from web.services import Services

_GROUPS = re.compile(r"batch\.([^.]+)\.groups\.")


@dataclass
class GroupRow:
    group: str
    experiment: str
    counts: dict[str, float] = field(default_factory=dict)
    share: float | None = None  # of the cluster's running jobs, 0..1

    @property
    def running(self) -> float:
        return self.counts.get("running", 0.0)


@dataclass(frozen=True)
class GroupTable:
    cluster: str
    states: tuple[str, ...]
    rows: tuple[GroupRow, ...]
    running: float | None  # the cluster's running jobs
    at: int | None  # the source's last run


def group_table(
    services: Services, dashboard: Dashboard, values: Mapping[str, str], names: Mapping[str, str]
) -> GroupTable | None:
    """The table of the cluster the dashboard's ``batch.<cluster>.groups`` glob names
    (with ``values`` filled in), None when it has none or the cluster is not chosen."""
    cluster = None
    for panel in dashboard.panels:
        for glob in panel.metrics:
            match = _GROUPS.match(concrete_glob(glob, values))
            if match and "*" not in match.group(1) and "{" not in match.group(1):
                cluster = match.group(1)
    if cluster is None:
        return None
    archive = services.archive
    prefix = f"batch.{cluster}"
    try:
        reference = archive.last(f"{prefix}.jobs.running")
        metrics = archive.list_metrics(f"{prefix}.groups.*.*")
    except InvalidMetricName:
        return None
    at = reference[0] if reference else None
    rows: dict[str, GroupRow] = {}
    states: set[str] = set()
    for metric in metrics:
        group, state = metric.split(".")[-2:]
        last = archive.last(metric)
        row = rows.setdefault(group, GroupRow(group, names.get(group, "")))
        current = last is not None and last[1] is not None and (at is None or last[0] >= at)
        row.counts[state] = last[1] if current and last and last[1] is not None else 0.0
        states.add(state)
    running = reference[1] if reference else None
    for row in rows.values():
        if running:
            row.share = row.running / running
    ordered = sorted(rows.values(), key=lambda row: (-row.running, row.group))
    shown_states = tuple(sorted(states, key=lambda state: (state != "running", state)))
    return GroupTable(cluster, shown_states, tuple(ordered), running, at)
