"""The status page ``/`` and ``GET /api/v1/status?scope=GLOB``.

The page groups metrics source → host → metric with the worst status rolled up, counts on
top, the last value and its age, a search box and problems first. It is complete without
JavaScript; with it, ``status.js`` refreshes the figures from the JSON endpoint every 30 s
without reloading the page.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, jsonify, render_template, request

from alarmd.alarmstate import AlarmState
from alarmd.record import AlarmRecord
from downtime.store import DowntimeStore
from rexmon.errors import InvalidMetricName
from rexmon.metric import validate_glob
from rrdarchive.errors import ArchiveError
from web.alarms.as_json import record_to_json
from web.auth.guard import require
from web.auth.users import Role
from web.services import get_services
from web.status.tree import Group, MetricStatus, Status, build_tree, counts, metric_status

bp = Blueprint("status", __name__, template_folder="templates")
MAX_METRICS = 2000
MAX_QUERY = 255
REFRESH_SECONDS = 30
_SHOWN_ALARMS = (AlarmState.FIRING, AlarmState.STALE, AlarmState.PENDING, AlarmState.SILENCED)


class BadSearch(ValueError):
    pass


@dataclass(frozen=True)
class Overview:
    """The metrics in view and their tree."""

    scope: str
    text: str
    problems_only: bool
    metrics: list[MetricStatus]
    tree: list[Group]
    total: int  # metrics matching, before the display limit
    records: list[AlarmRecord]
    now: float

    @property
    def worst(self) -> Status:
        return max((m.status for m in self.metrics), key=lambda s: s.rank, default=Status.OK)


@bp.get("/")
@require(Role.VIEWER)
def index() -> Any:
    query = request.args.get("q", "")[:MAX_QUERY].strip()
    problems_only = bool(request.args.get("problems"))
    try:
        view = overview(*_search(query), problems_only, get_services().clock())
    except BadSearch as exc:
        return render_template(
            "status/index.html", view=None, query=query, error=str(exc), problems_only=problems_only
        ), 400
    return render_template(
        "status/index.html",
        view=view,
        query=query,
        error=None,
        problems_only=problems_only,
        counts=counts(view.metrics),
        limit=MAX_METRICS,
        refresh=_refresh_seconds(request.args.get("refresh", "")),
    )


@bp.get("/api/v1/status")
@require(Role.VIEWER)
def status_json() -> Any:
    """The worst status in ``scope`` and the alarms behind it (``detail=1``: every metric
    and group, for the page's refresh)."""
    scope = request.args.get("scope", "*")
    query = request.args.get("q", "")[:MAX_QUERY].strip()
    try:
        glob, text = _search(query)  # the page's search box, as on the page
        if glob == "*":
            glob = validate_glob(scope)
        view = overview(glob, text, bool(request.args.get("problems")), get_services().clock())
    except (InvalidMetricName, BadSearch) as exc:
        response = jsonify(error=str(exc), status=400)
        response.status_code = 400
        return response
    alarms = [r for r in view.records if r.shown_state in _SHOWN_ALARMS]
    alarms.sort(key=lambda r: (-_alarm_rank(r), r.rule, r.metric))
    data: dict[str, Any] = {
        "scope": view.scope,
        "state": view.worst.value,
        "rating": _rating(view.metrics),
        "counts": counts(view.metrics),
        "metrics_total": view.total,
        "truncated": view.total > len(view.metrics) and not view.problems_only,
        "alarms": [record_to_json(r, view.now) for r in alarms],
        "generated": int(view.now),
    }
    if request.args.get("detail"):
        data["metrics"] = {m.metric: _metric_json(m) for m in view.metrics}
        data["groups"] = {g.path: _group_json(g) for g in _walk(view.tree)}
    return jsonify(data)


def overview(scope: str, text: str, problems_only: bool, now: float) -> Overview:
    """Status of the metrics matching ``scope`` (a glob) and containing ``text``."""
    services = get_services()
    archive = services.archive
    names = archive.list_metrics(scope)
    if text:
        names = [name for name in names if text.lower() in name.lower()]
    total = len(names)
    names = names[:MAX_METRICS]
    records = services.alarm_store.records(metric_glob=scope)
    by_metric: dict[str, list[AlarmRecord]] = defaultdict(list)
    for record in records:
        by_metric[record.metric].append(record)
    covering = (
        DowntimeStore(services.engine).index(int(now), int(now) + 1).covering_many(names, int(now))
    )
    schemas = services.config.archive.schemas
    metrics = []
    for name in names:
        try:
            last = archive.last(name)
        except ArchiveError:
            last = None
        item = metric_status(
            name,
            by_metric.get(name, []),
            covering.get(name, []),
            last,
            now,
            schemas.schema_for(name).step,
        )
        if not problems_only or item.status.rank >= Status.STALE.rank:
            metrics.append(item)
    shown = {m.metric for m in metrics}
    return Overview(
        scope,
        text,
        problems_only,
        metrics,
        build_tree(metrics),
        total,
        [r for r in records if r.metric in shown],
        now,
    )


def _refresh_seconds(text: str) -> int:
    """The page's refresh interval: ``refresh=N`` seconds (1..3600), default 30."""
    if text.isdigit() and 1 <= int(text) <= 3600:
        return int(text)
    return REFRESH_SECONDS


def _search(query: str) -> tuple[str, str]:
    """A search with wildcards is a glob (scope); anything else a substring (text)."""
    if not query:
        return "*", ""
    if any(ch in query for ch in "*?["):
        try:
            return validate_glob(query), ""
        except InvalidMetricName as exc:
            raise BadSearch(str(exc)) from None
    if not all(ch.isalnum() or ch in "._-" for ch in query):
        raise BadSearch("search with letters, digits, '.', '_', '-' or a glob such as host.n*")
    return "*", query


def _alarm_rank(record: AlarmRecord) -> int:
    severity = record.severity.rank if record.severity else 0
    return record.shown_state.rank * 10 + severity


def _rating(metrics: list[MetricStatus]) -> float | None:
    known = [m.rating for m in metrics if m.rating is not None]
    return round(sum(known) / len(known), 3) if known else None


def _metric_json(item: MetricStatus) -> dict[str, Any]:
    return {
        "status": item.status.value,
        "rating": item.rating,
        "last_time": item.last_time,
        "last_value": item.last_value,
    }


def _group_json(group: Group) -> dict[str, Any]:
    return {"status": group.status.value, "rating": group.rating, "count": group.count}


def _walk(groups: list[Group]) -> list[Group]:
    found = []
    for group in groups:
        found.append(group)
        found.extend(_walk(group.groups))
    return found
