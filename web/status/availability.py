"""Availability report (page and API): the share of a period each metric's alarms were
OK, planned downtime excluded and unplanned downtime counted, rolled up per host and per
category (``<category>.<host>.<rest>``), worst first.

Time before a metric's first record is *unknown*, not up: a host added on Wednesday was
not available on Monday. The first record is the first stored (non-NaN) row in its RRD.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, jsonify, render_template, request

from alarmd.alarmstate import AlarmState
from alarmd.availability import Availability, Change, availability, merge_windows
from downtime.model import Kind
from rexmon.errors import InvalidMetricName, InvalidTime
from rexmon.metric import validate_glob
from rexmon.timespec import parse_time
from rrdarchive.archive import Archive
from rrdarchive.errors import ArchiveError
from web.auth.guard import current_user, require
from web.auth.users import Role
from web.services import get_services

bp = Blueprint("availability", __name__, template_folder="templates")
MAX_METRICS = 500
MAX_CHANGES = 100_000
# seconds looked back for a record before the period; the last is the longest retention
# the shipped schemas keep
LOOK_BACK = (2 * 86400, 90 * 86400, 10 * 366 * 86400)


class ReportRequest:
    """The scope and period asked for, validated."""

    def __init__(self, args: Any, now: float) -> None:
        zone = get_services().config.site.timezone
        self.scope = validate_glob(args.get("scope", "*"))
        self.start = parse_time(args.get("start", "-7d"), now, zone)
        self.end = parse_time(args.get("end", "now"), now, zone)
        if self.end <= self.start:
            raise InvalidTime("the end must be after the start")
        self.note = retention_note(self.start, now)


@dataclasses.dataclass(frozen=True)
class Rollup:
    """The summed seconds of a group of metrics (a host or a category)."""

    name: str
    metrics: int
    up_seconds: float
    down_seconds: float
    excluded_seconds: float
    unknown_seconds: float

    @property
    def ratio(self) -> float | None:
        counted = self.up_seconds + self.down_seconds
        return None if counted <= 0 else self.up_seconds / counted

    @property
    def unknown_share(self) -> float:
        total = self.up_seconds + self.down_seconds + self.excluded_seconds + self.unknown_seconds
        return 0.0 if total <= 0 else self.unknown_seconds / total


def retention_note(start: float, now: float) -> str | None:
    """alarmd deletes the history older than ``keep``: a period starting before that
    horizon would count the missing time as the alarms' current state, so it is said."""
    keep = get_services().config.alarmd.keep
    if start >= now - keep:
        return None
    return f"alarm history is kept for {keep / 86400:g} days: earlier data is missing"


def first_record(archive: Archive, metric: str, start: int, end: int) -> int | None:
    """When the metric was first recorded, as far as ``[start, end)`` needs it: ``start``
    if anything was stored before it, the first stored row inside, None if neither.

    Before ``start`` it looks back ever further (each span read from the finest tier
    that covers it, so a coarse tier's x-files factor does not hide a short start)."""
    try:
        inside = archive.fetch(metric, start, end)
        first = next(
            (t for t, v in zip(inside.times, inside.values, strict=True) if v is not None), None
        )
        if first is not None and first - inside.step <= start:
            return start
        for span in LOOK_BACK:
            before = archive.fetch(metric, start - span, start)
            if any(value is not None for value in before.values):
                return start
    except ArchiveError:
        return None  # no file (yet): nothing recorded
    return None if first is None else max(start, first - inside.step)


def report(scope: str, start: int, end: int) -> tuple[list[Availability], int]:
    """Availability per metric of ``scope`` (at most MAX_METRICS) and how many matched."""
    services = get_services()
    metrics = services.archive.list_metrics(scope)
    index = services.downtimes_for(current_user()).index(start, end)
    store = services.alarm_store
    results = []
    for metric in metrics[:MAX_METRICS]:
        known = first_record(services.archive, metric, start, end)
        if known is None:
            results.append(Availability(metric, 0.0, 0.0, 0.0, float(end - start)))
            continue
        planned = merge_windows(
            [
                (w.start, w.end)
                for w in index.overlapping([metric], start, end)
                if w.downtime.kind is Kind.PLANNED
            ],
            known,
            end,
        )
        inside = list(
            reversed(store.history(metric=metric, start=start, end=end, limit=MAX_CHANGES))
        )
        initial: dict[str, AlarmState] = {}
        for row in store.history(metric=metric, end=start, limit=200):
            initial.setdefault(row.rule, row.to_state)
        for row in inside:
            initial.setdefault(row.rule, row.from_state)
        for record in store.records(metric_glob=metric):
            initial.setdefault(record.rule, record.state)
        changes = [Change(row.rule, row.at, row.to_state) for row in inside]
        counted = availability(metric, known, end, initial, changes, planned)
        results.append(
            dataclasses.replace(counted, unknown_seconds=counted.unknown_seconds + known - start)
        )
    return results, len(metrics)


def rollups(results: Iterable[Availability], level: int) -> list[Rollup]:
    """Sums per metric-id component ``level`` (0 category, 1 host), worst first: lowest
    availability first, groups with no information last, then by name."""
    groups: dict[str, list[Availability]] = {}
    for result in results:
        parts = result.metric.split(".")
        name = ".".join(parts[: level + 1])
        groups.setdefault(name, []).append(result)
    found = [
        Rollup(
            name,
            len(members),
            sum(m.up_seconds for m in members),
            sum(m.down_seconds for m in members),
            sum(m.excluded_seconds for m in members),
            sum(m.unknown_seconds for m in members),
        )
        for name, members in groups.items()
    ]
    return sorted(found, key=lambda r: (r.ratio is None, r.ratio or 0.0, r.name))


def worst_first(results: Iterable[Availability]) -> list[Availability]:
    return sorted(results, key=lambda r: (r.ratio is None, r.ratio or 0.0, r.metric))


def overall(results: list[Availability]) -> float | None:
    up = sum(r.up_seconds for r in results)
    counted = up + sum(r.down_seconds for r in results)
    return None if counted <= 0 else up / counted


@bp.get("/availability")
@require(Role.VIEWER)
def page() -> Any:
    error = None
    note = None
    results: list[Availability] = []
    matched = 0
    try:
        asked = ReportRequest(request.args, get_services().clock())
        results, matched = report(asked.scope, asked.start, asked.end)
        note = asked.note
    except (InvalidMetricName, InvalidTime) as exc:
        error = str(exc)
    return render_template(
        "status/availability.html",
        results=worst_first(results),
        categories=rollups(results, 0),
        hosts=rollups(results, 1),
        matched=matched,
        limit=MAX_METRICS,
        overall=overall(results),
        error=error,
        note=note,
        args=request.args,
    ), (400 if error else 200)


@bp.get("/api/v1/availability")
@require(Role.VIEWER)
def api() -> Any:
    try:
        asked = ReportRequest(request.args, get_services().clock())
    except (InvalidMetricName, InvalidTime) as exc:
        response = jsonify(error=str(exc), status=400)
        response.status_code = 400
        return response
    results, matched = report(asked.scope, asked.start, asked.end)
    return jsonify(
        scope=asked.scope,
        start=asked.start,
        end=asked.end,
        matched=matched,
        truncated=matched > MAX_METRICS,
        note=asked.note,
        availability=overall(results),
        metrics=[_seconds_json(r, metric=r.metric) for r in worst_first(results)],
        categories=[
            _seconds_json(r, category=r.name, metrics=r.metrics) for r in rollups(results, 0)
        ],
        hosts=[_seconds_json(r, host=r.name, metrics=r.metrics) for r in rollups(results, 1)],
    )


def _seconds_json(r: Availability | Rollup, **names: Any) -> dict[str, Any]:
    return names | {
        "availability": r.ratio,
        "up_seconds": r.up_seconds,
        "down_seconds": r.down_seconds,
        "planned_downtime_seconds": r.excluded_seconds,
        "unknown_seconds": r.unknown_seconds,
    }
