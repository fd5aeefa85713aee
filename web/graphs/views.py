"""The graphs blueprint: PNG/SVG graphs, JSON and CSV series, the interactive metric page.

- ``GET /graph/<metric>.png`` (``.svg``, ``.csv``) and ``GET /graph?m=A&m=B&format=png``
  (``stack=1`` for stacked areas): ``start``, ``end``, ``width``, ``height``.
- ``GET /api/v1/series/<metric>?start&end&points`` (``format=csv`` for CSV).
- ``GET /metric/<metric>``: the uPlot chart, with the PNG as its no-JavaScript fallback.

Every picture carries an ETag made from its inputs, the files' last update and the
overlays (downtimes, thresholds, alarm marks); ``If-None-Match`` answers 304 unrendered.
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, jsonify, redirect, render_template, request, url_for

from downtime.store import DowntimeStore
from rexmon.errors import InvalidMetricName
from rexmon.metric import validate_glob
from rexmon.timespec import format_time
from rrdarchive.errors import ArchiveError
from web.auth.guard import require
from web.auth.users import Role
from web.display import shown_time
from web.errors import refusal
from web.graphs.draw import draw
from web.graphs.latest import latest_value
from web.graphs.overlays import Overlays, collect_overlays
from web.graphs.query import (
    HEIGHT,
    POINTS,
    WIDTH,
    BadQuery,
    TimeRange,
    parse_flag,
    parse_format,
    parse_int,
    parse_metrics,
    parse_range,
)
from web.graphs.units import shown_as, unit_of
from web.services import Services, get_services

bp = Blueprint("graphs", __name__, template_folder="templates")
CACHE_CONTROL = "private, max-age=0, must-revalidate"
MAX_METRICS_LISTED = 1000
PICTURE_VERSION = "2"  # bump when the drawing changes, so cached pictures are not reused
PRESETS = (
    ("1h", "-1h"),
    ("6h", "-6h"),
    ("1d", "-1d"),
    ("1w", "-1w"),
    ("1m", "-30d"),
    ("1y", "-1y"),
)
MIMETYPES = {"png": "image/png", "svg": "image/svg+xml", "csv": "text/csv", "json": None}
# an SVG opened on its own must not run anything, whatever text it shows
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'"


@dataclass(frozen=True)
class Picture:
    """What one graph or series request shows, all validated."""

    metrics: list[str]
    range: TimeRange
    overlays: Overlays
    lasts: list[tuple[int, float | None]]


@bp.get("/graph/<name>")
@require(Role.VIEWER)
def graph_of_one(name: str) -> Any:
    metric, dot, extension = name.rpartition(".")
    if not dot or extension not in ("png", "svg", "csv"):
        return refusal(404, "graphs are /graph/<metric>.png, .svg or .csv")
    return _answer([metric], extension)


@bp.get("/graph")
@require(Role.VIEWER)
def graph_of_several() -> Any:
    try:
        image_format = parse_format(request.args.get("format"))
    except BadQuery as exc:
        return refusal(400, str(exc))
    return _answer(request.args.getlist("m"), image_format)


@bp.get("/api/v1/series/<metric>")
@require(Role.VIEWER)
def series(metric: str) -> Any:
    try:
        wanted = parse_format(request.args.get("format"), default="json")
    except BadQuery as exc:
        return refusal(400, str(exc))
    if wanted not in ("json", "csv"):
        return refusal(400, "format: expected json or csv")
    return _answer([metric], wanted)


@bp.get("/api/v1/metrics")
@require(Role.VIEWER)
def list_metrics() -> Any:
    """Metric ids matching ``glob`` (at most 1000, with ``truncated``)."""
    try:
        glob = validate_glob(request.args.get("glob", "*"))
    except InvalidMetricName as exc:
        return refusal(400, str(exc))
    names = get_services().archive.list_metrics(glob)
    return jsonify(
        metrics=names[:MAX_METRICS_LISTED],
        count=len(names),
        truncated=len(names) > MAX_METRICS_LISTED,
    )


@bp.get("/metric/<metric>")
@require(Role.VIEWER)
def metric_page(metric: str) -> Any:
    services = get_services()
    if _a_check_not_a_metric(services, metric):  # a check rule's alarm links here too
        return redirect(url_for("checks.check_page", name=metric))
    try:
        picture = _prepare(services, [metric])
    except BadQuery as exc:
        return refusal(400, str(exc))
    args: dict[str, Any] = {k: request.args[k] for k in ("start", "end") if request.args.get(k)}
    zone = services.config.site.timezone
    records = services.alarm_store.records(metric_glob=picture.metrics[0])
    history = services.alarm_store.history(metric=picture.metrics[0], limit=20)
    return render_template(
        "graphs/metric.html",
        metric=picture.metrics[0],
        picture=picture,
        unit=unit_of(picture.metrics[0]),
        shown=shown_as(picture.metrics[0]),
        args=args,
        start_text=args.get("start", "-1d"),
        end_text=args.get("end", "now"),
        start_field=shown_time(args.get("start", "-1d"), zone),
        end_field=shown_time(args.get("end", "now"), zone),
        presets=PRESETS,
        png_url=url_for("graphs.graph_of_one", name=f"{metric}.png", **args),
        svg_url=url_for("graphs.graph_of_one", name=f"{metric}.svg", **args),
        csv_url=url_for("graphs.graph_of_one", name=f"{metric}.csv", **args),
        series_url=url_for("graphs.series", metric=metric),
        records=records,
        history=history,
        checks=services.alarm_store.checks.of_metric(picture.metrics[0]),
        now=services.clock(),
        start_iso=format_time(picture.range.start, zone),
        end_iso=format_time(picture.range.end, zone),
    )


def _answer(names: list[str], kind: str) -> Any:
    services = get_services()
    try:
        picture = _prepare(services, names)
        width = parse_int(request.args, "width", WIDTH)
        height = parse_int(request.args, "height", HEIGHT)
        stack = parse_flag(request.args, "stack")
        points = parse_int(request.args, "points", POINTS)
    except BadQuery as exc:
        return refusal(400, str(exc))
    image = kind in ("png", "svg")
    tag = _etag(kind, picture, (width, height, stack) if image else (points,))
    if tag in request.if_none_match:
        return _cached(Response(status=304), tag)
    try:
        if image:
            response = Response(
                _draw(services, picture, kind, width, height, stack), mimetype=MIMETYPES[kind]
            )
            if kind == "svg":
                response.headers["Content-Security-Policy"] = SVG_POLICY
        else:
            start, end = picture.range.start, picture.range.end
            data = services.archive.xport(picture.metrics, start, end, points)
            response = _csv(picture, data) if kind == "csv" else _json(picture, data)
    except ArchiveError as exc:
        return refusal(500, f"the archive could not answer: {exc.message}")
    response.headers["X-Content-Type-Options"] = "nosniff"
    return _cached(response, tag)


def _a_check_not_a_metric(services: Services, name: str) -> bool:
    try:
        return (
            not services.archive.exists(name) and services.alarm_store.checks.get(name) is not None
        )
    except InvalidMetricName:
        return False


def _prepare(services: Services, names: list[str]) -> Picture:
    """Validate the request's metrics and range; 404 for a metric with no data file."""
    metrics = parse_metrics(names)
    zone = services.config.site.timezone
    time_range = parse_range(request.args, get_services().clock(), zone)
    lasts = []
    for metric in metrics:
        last = services.archive.last(metric)
        if last is None:
            abort(refusal(404, f"no metric {metric!r} in the archive"))
        lasts.append(last)
    overlays = collect_overlays(
        metrics,
        time_range.start,
        time_range.end,
        DowntimeStore(services.engine),
        services.alarm_rules,
        services.alarm_store,
    )
    return Picture(metrics, time_range, overlays, lasts)


def _draw(
    services: Services, picture: Picture, kind: str, width: int, height: int, stack: bool
) -> bytes:
    return draw(
        services,
        picture.metrics,
        picture.range,
        picture.overlays,
        [when for when, _ in picture.lasts],
        kind=kind,
        width=width,
        height=height,
        title=title_of(picture.metrics),
        mode="stacked" if stack else "lines",
    )


def title_of(metrics: list[str]) -> str:
    if len(metrics) == 1:
        return metrics[0]
    parts = [metric.split(".") for metric in metrics]
    common: list[str] = []
    for words in zip(*parts, strict=False):
        if len(set(words)) != 1:
            break
        common.append(words[0])
    return f"{'.'.join(common) or 'metrics'} ({len(metrics)} metrics)"


def _json(picture: Picture, data: dict[str, Any]) -> Response:
    metric = picture.metrics[0]
    return jsonify(
        metric=metric,
        metrics=picture.metrics,
        unit=unit_of(metric),
        start=data["start"],
        end=data["end"],
        step=data["step"],
        timestamps=data["timestamps"],
        values=data["series"][metric],
        series=data["series"],
        last_update=picture.lasts[0][0],
        last_value=latest_value(get_services().archive, metric, picture.lasts[0][0]),
        **picture.overlays.to_json(),
    )


def _csv(picture: Picture, data: dict[str, Any]) -> Response:
    zone = get_services().config.site.timezone
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["timestamp", "time", *picture.metrics])
    for index, stamp in enumerate(data["timestamps"]):
        values = [data["series"][metric][index] for metric in picture.metrics]
        writer.writerow(
            [stamp, format_time(stamp, zone), *("" if v is None else repr(v) for v in values)]
        )
    name = picture.metrics[0] if len(picture.metrics) == 1 else "metrics"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


def _etag(kind: str, picture: Picture, extra: tuple[object, ...]) -> str:
    inputs = (
        PICTURE_VERSION,
        kind,
        picture.metrics,
        picture.range.start,
        picture.range.end,
        extra,
        picture.lasts,
        picture.overlays.fingerprint(),
    )
    return hashlib.sha256(repr(inputs).encode()).hexdigest()[:40]


def _cached(response: Response, tag: str) -> Response:
    response.set_etag(tag)
    response.headers["Cache-Control"] = CACHE_CONTROL
    return response
