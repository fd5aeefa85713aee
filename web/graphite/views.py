"""The ``/graphite`` blueprint: the endpoints Grafana's Graphite data source calls.

``render`` and ``metrics/find`` (and ``metrics/expand``) take GET or form POST; they
change nothing, so the POST needs no CSRF token (:func:`web.guard.read_only`). Every
endpoint needs the viewer role: anonymous where the site gives anonymous visitors that
role, else HTTP Basic or a bearer API token (``web.auth.api_tokens``).
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Blueprint, Response, jsonify, request

from downtime.store import DowntimeStore
from rexmon.collector import collector_paused
from rrdarchive.archive import Archive, Series
from rrdarchive.errors import ArchiveError
from web.auth.guard import read_only, require
from web.auth.users import Role
from web.errors import refusal
from web.graphite import events, render
from web.graphite.errors import GraphiteError, TooMuchWork
from web.graphite.evaluate import Budget, Combine, Fetch
from web.graphite.find import expand_metrics, find_nodes
from web.graphite.functions import FUNCTIONS
from web.graphite.series import TimeSeries
from web.graphite.timeparse import parse_graphite_time
from web.services import get_services

bp = Blueprint("graphite", __name__, url_prefix="/graphite")
GRAPHITE_VERSION = "1.1.10"  # the graphite-web whose API this follows (Grafana asks)
MAX_FIND = 100_000


def archive_fetch(archive: Archive) -> Fetch:
    """The evaluator's way to read a path: expand it over the archive's tree, then read
    each metric at the finest tier that covers the range (through rrdcached when
    configured, so data still in its cache are seen), charging ``budget``. Several
    metrics of one schema are read by one ``rrdtool xport`` at the step a fetch of the
    first picks; any other case (or an answer at another step) fetches each."""

    def fetch(pattern: str, start: int, end: int, budget: Budget) -> list[TimeSeries]:
        metrics = expand_metrics(archive.children, pattern, render.MAX_SERIES)
        budget.charge(len(metrics), 0)
        if not metrics:
            return []
        reads = _read_together(archive, metrics, start, end, budget)
        if reads is None:
            reads = []
            for metric in metrics:
                read = archive.fetch(metric, start, end)
                budget.charge(0, len(read.values))
                reads.append(read)
        return [
            TimeSeries(metric, read.start, read.step, list(read.values), pattern)
            for metric, read in zip(metrics, reads, strict=True)
        ]

    return fetch


def _read_together(
    archive: Archive, metrics: list[str], start: int, end: int, budget: Budget
) -> list[Series] | None:
    schemas = {id(archive.config.schemas.schema_for(metric)) for metric in metrics}
    if len(metrics) < 2 or len(schemas) > 1:
        return None
    first = archive.fetch(metrics[0], start, end)
    points = len(first.values)
    budget.charge(0, points * len(metrics))
    last = first.start + first.step * (points - 1)
    try:
        rest = archive.fetch_many(metrics[1:], start, max(last, start + 1), first.step)
    except ArchiveError:
        rest = []
    if not rest or any(r.step != first.step or r.start != first.start for r in rest):
        budget.charge(0, -points * len(metrics))  # read again, one by one
        return None
    padding = (None,) * points
    return [first, *(Series(r.start, r.step, (r.values + padding)[:points]) for r in rest)]


def archive_combine(archive: Archive) -> Combine:
    """sumSeries and its kin over plain paths in one ``rrdtool xport`` (a CDEF over every
    file) instead of a fetch of each: for metrics of one schema, at the step a fetch of
    the first picks. Anything else (mixed schemas, an answer at another step, an xport
    rrdtool refuses) answers None, and the evaluator reads each series as usual."""

    def combine(
        patterns: list[str], how: str, start: int, end: int, budget: Budget
    ) -> list[TimeSeries] | None:
        matched = [(p, expand_metrics(archive.children, p, render.MAX_SERIES)) for p in patterns]
        metrics = [metric for _, found in matched for metric in found]
        if not metrics:
            return []
        schemas = {id(archive.config.schemas.schema_for(metric)) for metric in metrics}
        if len(metrics) < 2 or len(schemas) > 1:
            return None
        first = archive.fetch(metrics[0], start, end)
        points = len(first.values)
        budget.charge(len(metrics), points * len(metrics))
        last = first.start + first.step * (points - 1)
        try:
            result = archive.combine(metrics, how, start, max(last, start + 1), first.step)
        except ArchiveError:
            result = None
        if result is None or result.step != first.step or result.start != first.start:
            budget.charge(-len(metrics), -points * len(metrics))  # read again, one by one
            return None
        values = list(result.values[:points]) + [None] * (points - len(result.values))
        paths = ",".join(dict.fromkeys(pattern for pattern, found in matched if found))
        return [TimeSeries(paths, first.start, first.step, values, paths)]

    return combine


@bp.route("/render", methods=["GET", "POST"])
@read_only
@require(Role.VIEWER)
def render_view() -> Any:
    services = get_services()
    zone = services.config.site.timezone
    # an answer is a tuple per point (100 series x 1 day: 144k): no collector scans meanwhile
    with collector_paused():
        try:
            wanted = render.read_request(
                request.values, request.values.getlist("target"), int(services.clock()), zone
            )
            archive = services.archive
            found = render.render(wanted, archive_fetch(archive), archive_combine(archive))
        except GraphiteError as exc:
            return refusal(400, str(exc))
        except ArchiveError as exc:
            return refusal(500, f"the archive could not answer: {exc.message}")
        if wanted.format == "csv":
            return Response(render.to_csv(found, wanted, zone), mimetype="text/csv")
        # orjson: formatting the floats is most of a large answer's time (15x json's speed)
        body = orjson.dumps(render.to_json(found, wanted))
    return Response(body, mimetype="application/json")


@bp.route("/metrics/find", methods=["GET", "POST"])
@read_only
@require(Role.VIEWER)
def find_view() -> Any:
    query = request.values.get("query", "")
    try:
        nodes = find_nodes(get_services().archive.children, query, MAX_FIND)
    except GraphiteError as exc:
        return refusal(400, str(exc))
    return jsonify([node.to_json() for node in nodes])


@bp.route("/metrics/expand", methods=["GET", "POST"])
@read_only
@require(Role.VIEWER)
def expand_view() -> Any:
    queries = request.values.getlist("query")
    leaves_only = request.values.get("leavesOnly", "0") in ("1", "true")
    grouped = request.values.get("groupByExpr", "0") in ("1", "true")
    children = get_services().archive.children
    results: dict[str, list[str]] = {}
    try:
        for query in queries:
            nodes = find_nodes(children, query, MAX_FIND)
            results[query] = sorted({n.path for n in nodes if n.leaf or not leaves_only})
    except GraphiteError as exc:
        return refusal(400, str(exc))
    if grouped:
        return jsonify(results=results)
    return jsonify(results=sorted({path for paths in results.values() for path in paths}))


@bp.get("/functions")
@require(Role.VIEWER)
def functions_view() -> Any:
    return jsonify({name: function.to_json() for name, function in FUNCTIONS.items()})


@bp.get("/functions/<name>")
@require(Role.VIEWER)
def function_view(name: str) -> Any:
    function = FUNCTIONS.get(name)
    if function is None:
        return refusal(404, f"no function {name!r}")
    return jsonify(function.to_json())


@bp.get("/version")
@require(Role.VIEWER)
def version_view() -> Any:
    return Response(GRAPHITE_VERSION, mimetype="text/plain")


@bp.route("/tags", methods=["GET", "POST"])
@bp.route("/tags/<path:rest>", methods=["GET", "POST"])
@read_only
@require(Role.VIEWER)
def tags_view(rest: str = "") -> Any:
    """rexmon's metrics carry no tags: every tag query answers an empty set."""
    return jsonify([])


@bp.get("/events/get_data")
@require(Role.VIEWER)
def events_view() -> Any:
    services = get_services()
    zone = services.config.site.timezone
    now = int(get_services().clock())
    try:
        start = parse_graphite_time(request.args.get("from", "-1d"), now, zone, "from")
        end = parse_graphite_time(request.args.get("until", "now"), now, zone, "until")
        if end < start:
            raise GraphiteError("until must not be before from")
        if end - start > 400 * 86400:
            raise TooMuchWork("events: ask for at most 400 days at once")
    except GraphiteError as exc:
        return refusal(400, str(exc))
    found = events.downtime_events(DowntimeStore(services.engine), start, end, zone)
    found += events.alarm_events(services.alarm_store, start, end)
    tags = (request.args.get("tags") or "").split()
    chosen = events.select(found, tags, union=request.args.get("set") == "union")
    return jsonify([event.to_json(number) for number, event in enumerate(chosen, start=1)])
