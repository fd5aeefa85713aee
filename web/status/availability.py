"""Availability report (page and API): the share of a period each metric's alarms were
OK, planned downtime excluded and unplanned downtime counted."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify, render_template, request

from alarmd.alarmstate import AlarmState
from alarmd.availability import Availability, Change, availability, merge_windows
from downtime.model import Kind
from rexmon.errors import InvalidMetricName, InvalidTime
from rexmon.metric import validate_glob
from rexmon.timespec import parse_time
from web.auth.guard import current_user, require
from web.auth.users import Role
from web.services import get_services

bp = Blueprint("availability", __name__, template_folder="templates")
MAX_METRICS = 500
MAX_CHANGES = 100_000


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


def retention_note(start: float, now: float) -> str | None:
    """alarmd deletes the history older than ``keep``: a period starting before that
    horizon would count the missing time as the alarms' current state, so it is said."""
    keep = get_services().config.alarmd.keep
    if start >= now - keep:
        return None
    return f"alarm history is kept for {keep / 86400:g} days: earlier data is missing"


def report(scope: str, start: int, end: int) -> tuple[list[Availability], int]:
    """Availability per metric of ``scope`` (at most MAX_METRICS) and how many matched."""
    services = get_services()
    metrics = services.archive.list_metrics(scope)
    index = services.downtimes_for(current_user()).index(start, end)
    store = services.alarm_store
    results = []
    for metric in metrics[:MAX_METRICS]:
        planned = merge_windows(
            [
                (w.start, w.end)
                for w in index.overlapping([metric], start, end)
                if w.downtime.kind is Kind.PLANNED
            ],
            start,
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
        results.append(availability(metric, start, end, initial, changes, planned))
    return results, len(metrics)


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
        results=results,
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
        metrics=[
            {
                "metric": r.metric,
                "availability": r.ratio,
                "up_seconds": r.up_seconds,
                "down_seconds": r.down_seconds,
                "planned_downtime_seconds": r.excluded_seconds,
                "unknown_seconds": r.unknown_seconds,
            }
            for r in results
        ],
    )
