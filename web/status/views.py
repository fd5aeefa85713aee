"""The status page ``/``, ``GET /api/v1/status?scope=GLOB`` and the host page.

The page is a flat problem list (worst first) above an overview of categories, each with
its hosts as small tiles coloured by their worst state. Everything is counted on the
server from one cached :class:`web.status.snapshot.Snapshot`, so the page lists every
metric of a 100k-metric site with no cap. It is complete without JavaScript; with it,
``status.js`` reloads the live part of the page every 30 s.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from flask import Blueprint, abort, jsonify, render_template, request, url_for

from alarmd.alarmstate import AlarmState
from alarmd.record import AlarmRecord
from rexmon.errors import InvalidMetricName
from rexmon.metric import is_component, validate_glob
from web.alarms.as_json import record_to_json
from web.auth.guard import require
from web.auth.users import Role
from web.services import get_services
from web.status import hostpage, snapshot
from web.status.problems import problem_rows
from web.status.tiles import tiles_html
from web.status.tree import (
    RATING_TEXT,
    Group,
    MetricStatus,
    problem_order,
    summarize,
)

bp = Blueprint("status", __name__, template_folder="templates")
bp.record_once(lambda state: snapshot.init_app(state.app))
MAX_QUERY = 255
REFRESH_SECONDS = 30
PROBLEM_ROWS = 200  # the list shows this many; the overview and counts have no cap
_SHOWN_ALARMS = (AlarmState.FIRING, AlarmState.STALE, AlarmState.PENDING, AlarmState.SILENCED)


class BadSearch(ValueError):
    pass


@bp.get("/")
@require(Role.VIEWER)
def index() -> Any:
    query = request.args.get("q", "")[:MAX_QUERY].strip()
    problems_only = bool(request.args.get("problems"))
    refresh = _refresh_seconds(request.args.get("refresh", ""))
    try:
        glob, text = _search(query)
    except BadSearch as exc:
        return render_template(
            "status/index.html", view=None, query=query, error=str(exc), problems_only=problems_only
        ), 400
    shot = snapshot.current_snapshot()
    shown = shot.select(glob, text)
    everything = len(shown) == len(shot.metrics)
    problems = list(shot.problems) if everything else problem_order(shown)
    summary = shot.summary if everything else summarize(shown)
    services = get_services()
    groups = _shown_groups(shot, shown, everything, problems_only)
    return render_template(
        "status/index.html",
        view=shot,
        query=query,
        error=None,
        problems_only=problems_only,
        worst=summary.worst,
        counts=summary.counts,
        total=summary.total,
        problems=problem_rows(problems[:PROBLEM_ROWS], services.alarm_rules, services.archive),
        problems_total=len(problems),
        failing_checks=services.alarm_store.checks.problems(PROBLEM_ROWS),
        groups=groups,
        rating_text=RATING_TEXT,
        refresh=refresh,
        now=shot.now,
        tiles=lambda hosts: tiles_html(hosts, _host_url()),
    )


@bp.get("/hosts/<host>")
@require(Role.VIEWER)
def host_page(host: str) -> Any:
    if not is_component(host):
        abort(404)
    shot = snapshot.current_snapshot()
    items = shot.host(host)
    if not items:
        abort(404)
    return render_template(
        "status/host.html",
        **hostpage.host_context(host, items, shot.now),
        rating_text=RATING_TEXT,
        refresh=_refresh_seconds(request.args.get("refresh", "")),
        now=shot.now,
    )


@bp.get("/api/v1/status")
@require(Role.VIEWER)
def status_json() -> Any:
    """The worst status in ``scope`` and the alarms behind it; ``problems`` (worst first)
    and the per-category ``overview``; ``detail=1`` adds every metric and group."""
    scope = request.args.get("scope", "*")
    query = request.args.get("q", "")[:MAX_QUERY].strip()
    try:
        glob, text = _search(query)  # the page's search box, as on the page
        if glob == "*":
            glob = validate_glob(scope)
    except (InvalidMetricName, BadSearch) as exc:
        response = jsonify(error=str(exc), status=400)
        response.status_code = 400
        return response
    shot = snapshot.current_snapshot()
    shown = shot.select(glob, text)
    if request.args.get("problems"):
        shown = [m for m in shown if m.status.is_problem]
    everything = len(shown) == len(shot.metrics)
    problems = list(shot.problems) if everything else problem_order(shown)
    summary = shot.summary if everything else summarize(shown)
    records = [r for m in shown if m.alarms for r in m.alarms if r.shown_state in _SHOWN_ALARMS]
    records.sort(key=lambda r: (-_alarm_rank(r), r.rule, r.metric))
    groups = list(shot.groups) if everything else _visible(shot.groups, shown)
    data: dict[str, Any] = {
        "scope": glob,
        "state": summary.worst.value,
        "rating": summary.rating,
        "counts": summary.counts,
        "metrics_total": summary.total,
        "truncated": False,
        "alarms": [record_to_json(r, shot.now) for r in records],
        "problems": [_problem_json(m) for m in problems[:PROBLEM_ROWS]],
        "problems_total": len(problems),
        "overview": [_group_json(g) for g in groups],
        "generated": int(shot.now),
    }
    if request.args.get("detail"):
        data["metrics"] = {m.metric: _metric_json(m) for m in shown}
        data["groups"] = {
            g.path: _group_json(g, hosts=False) for c in groups for g in (c, *c.hosts)
        }
    return jsonify(data)


def _shown_groups(
    shot: snapshot.Snapshot, shown: list[MetricStatus], everything: bool, problems_only: bool
) -> list[Group]:
    """The categories and host tiles the page shows: rated from all their metrics (a
    search never changes a rating), listed when a shown metric is in them."""
    groups = list(shot.groups) if everything else _visible(shot.groups, shown)
    if problems_only:
        groups = [replace(g, hosts=[h for h in g.hosts if h.status.is_problem]) for g in groups]
        groups = [g for g in groups if g.hosts]
    return groups


def _visible(groups: Sequence[Group], shown: list[MetricStatus]) -> list[Group]:
    """Copies of ``groups`` keeping the host tiles that hold a metric of ``shown``."""
    hosts = {".".join(m.metric.split(".", 2)[:2]) for m in shown}
    found = []
    for group in groups:
        kept = [h for h in group.hosts if h.path in hosts]
        if kept:
            found.append(replace(group, hosts=kept))
    return found


def _host_url() -> str:
    """A host page's address with ``{host}`` where the name goes."""
    return url_for("status.host_page", host="HOST").replace("HOST", "{host}")


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


def _metric_json(item: MetricStatus) -> dict[str, Any]:
    return {"status": item.status.value, "rating": item.rating, "last_time": item.last_time}


def _problem_json(item: MetricStatus) -> dict[str, Any]:
    return {
        "metric": item.metric,
        "status": item.status.value,
        "host": item.host,
        "last_time": item.last_time,
        "alarms": [f"{r.rule}:{r.shown_state.value}" for r in item.alarms],
        "downtimes": [d.id for d in item.downtimes],
    }


def _group_json(group: Group, hosts: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": group.name,
        "path": group.path,
        "status": group.status.value,
        "rating": group.rating,
        "count": group.count,
        "counts": {s.value: n for s, n in group.counts.items()},
    }
    if hosts and group.hosts:
        data["hosts"] = [_group_json(h) for h in group.hosts]
    return data
