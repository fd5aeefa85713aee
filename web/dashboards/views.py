"""The dashboards blueprint: the list of dashboards and one dashboard's page of graphs.

- ``GET /dashboards``: the dashboards by category.
- ``GET /d/<name>?<variable>=<value>&from=&to=``: one dashboard; a drop-down per variable
  (a plain GET form), every panel a PNG from ``GET /d/<name>/<index>.png`` (``.svg``) with the same
  query, then the downtimes and alarm changes of the page's metrics in the range.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, Response, abort, render_template, request, url_for

from downtime.store import DowntimeStore
from rexmon.timespec import format_time
from rrdarchive.errors import ArchiveError
from web.auth.guard import require
from web.auth.users import Role
from web.dashboards.batch import group_table
from web.dashboards.loader import Dashboard, concrete_glob, variable_values
from web.dashboards.pages import ShownPanel, chosen_values, dashboards_of, show_panel
from web.display import shown_time
from web.errors import refusal
from web.graphs.draw import draw, shown_for
from web.graphs.overlays import collect_overlays, downtime_bands, transitions
from web.graphs.query import BadQuery, TimeRange, parse_int, parse_range
from web.graphs.views import PRESETS, SVG_POLICY
from web.services import Services, get_services

bp = Blueprint("dashboards", __name__, template_folder="templates")
PAGE_WIDTH = 1000
HEIGHT = (32, 1500, 200)
MAX_CHANGES = 100
MAX_LINKED = 20  # /graph?m= takes at most this many
MIMETYPES = {"png": "image/png", "svg": "image/svg+xml"}


@dataclass(frozen=True)
class Request:
    """One validated dashboard request."""

    dashboard: Dashboard
    values: dict[str, str]
    known: dict[str, list[str]]
    range: TimeRange
    args: dict[str, str]  # the query to repeat in links: the values, from, to


@bp.get("/dashboards")
@require(Role.VIEWER)
def index() -> Any:
    categories: dict[str, list[Dashboard]] = {}
    for dashboard in dashboards_of(get_services()).dashboards.values():
        categories.setdefault(dashboard.category, []).append(dashboard)
    return render_template("dashboards/index.html", categories=sorted(categories.items()))


@bp.get("/d/<name>")
@require(Role.VIEWER)
def page(name: str) -> Any:
    services = get_services()
    asked = _request(services, name)
    span = asked.range
    rows: list[list[tuple[ShownPanel, str]]] = []
    index = 0
    for row in asked.dashboard.rows:
        shown_row = []
        width = PAGE_WIDTH // len(row) - 90
        for panel in row:
            shown = show_panel(services, index, panel, asked.values, span)
            query: dict[str, Any] = {"name": name, "index": index, "kind": "png", "width": width}
            query.update(asked.args)
            url = url_for("dashboards.panel_png", **query)
            shown_row.append((shown, url))
            index += 1
        rows.append(shown_row)
    panels = [shown for row in rows for shown, _ in row]
    metrics = sorted({metric for shown in panels for metric in shown.metrics})
    zone = services.config.site.timezone
    return render_template(
        "dashboards/page.html",
        dashboard=asked.dashboard,
        title=concrete_glob(asked.dashboard.title, asked.values),
        description=concrete_glob(asked.dashboard.description, asked.values),
        known=asked.known,
        values=asked.values,
        args=asked.args,
        rows=rows,
        graph_links={shown.index: _graph_link(shown, span) for shown in panels},
        series_links={shown.index: _series_link(shown) for shown in panels},
        units={shown.index: shown_for(shown.metrics) for shown in panels},
        presets=PRESETS,
        from_field=shown_time(asked.args.get("from", "-1d"), zone),
        to_field=shown_time(asked.args.get("to", "now"), zone),
        start_iso=format_time(span.start, zone),
        end_iso=format_time(span.end, zone),
        downtimes=downtime_bands(DowntimeStore(services.engine), metrics, span.start, span.end)
        if metrics
        else (),
        changes=_changes(services, metrics, span),
        extra=_extra(services, asked),
    )


@bp.get("/d/<name>/<int:index>.<kind>")
@require(Role.VIEWER)
def panel_png(name: str, index: int, kind: str = "png") -> Any:
    if kind not in MIMETYPES:
        return refusal(404, "a panel is /d/<name>/<index>.png or .svg")
    services = get_services()
    asked = _request(services, name)
    panels = asked.dashboard.panels
    if index >= len(panels):
        return refusal(404, f"dashboard {name!r} has {len(panels)} panels")
    try:
        width = parse_int(request.args, "width", (64, 3000, 800))
        height = parse_int(request.args, "height", HEIGHT)
    except BadQuery as exc:
        return refusal(400, str(exc))
    shown = show_panel(services, index, panels[index], asked.values, asked.range)
    if not shown.metrics:
        return refusal(404, f"no metric in the archive matches panel {shown.title!r}")
    span = asked.range
    overlays = collect_overlays(
        shown.metrics,
        span.start,
        span.end,
        DowntimeStore(services.engine),
        services.alarm_rules,
        services.alarm_store,
    )
    updates = [(services.archive.last(metric) or (span.end, None))[0] for metric in shown.metrics]
    try:
        image = draw(
            services,
            shown.metrics,
            span,
            overlays,
            updates,
            kind=kind,
            width=width,
            height=height,
            title=shown.title,
            mode=shown.graph_mode,
            rest=shown.rest,
        )
    except ArchiveError as exc:
        return refusal(500, f"the archive could not answer: {exc.message}")
    response = Response(image, mimetype=MIMETYPES[kind])
    if kind == "svg":
        response.headers["Content-Security-Policy"] = SVG_POLICY
    response.headers["Cache-Control"] = "private, max-age=0, must-revalidate"
    return response


def _request(services: Services, name: str) -> Request:
    """The dashboard (404 if unknown), its variable values (400 if not in the archive)
    and the range (400 if unreadable) of this request."""
    dashboard = dashboards_of(services).dashboards.get(name)
    if dashboard is None:
        abort(refusal(404, f"no dashboard {name!r}"))
    known = variable_values(dashboard, services.config.archive.root)
    try:
        values = chosen_values(dashboard, request.args, known)
        times = {k: v for k, v in (("start", request.args.get("from")),
                                   ("end", request.args.get("to"))) if v}  # fmt: skip
        span = parse_range(times, services.clock(), services.config.site.timezone)
    except BadQuery as exc:
        abort(refusal(400, str(exc)))
    args = dict(values)
    args.update({key: request.args[key] for key in ("from", "to") if request.args.get(key)})
    return Request(dashboard, values, known, span, args)


def _graph_link(shown: ShownPanel, span: TimeRange) -> str | None:
    if not shown.metrics or len(shown.metrics) > MAX_LINKED:
        return None
    stack = "1" if shown.panel.mode == "stacked" else "0"
    return url_for(
        "graphs.graph_of_several",
        m=list(shown.metrics),
        start=str(span.start),
        end=str(span.end),
        stack=stack,
    )


def _series_link(shown: ShownPanel) -> str | None:
    """The JSON series the interactive chart of a panel reads (none past MAX_LINKED)."""
    if not shown.metrics or len(shown.metrics) > MAX_LINKED:
        return None
    return url_for("graphs.graph_of_several", m=list(shown.metrics), format="json")


def _changes(services: Services, metrics: list[str], span: TimeRange) -> list[Any]:
    return transitions(services.alarm_store, metrics, span.start, span.end + 1, MAX_CHANGES)[
        :MAX_CHANGES
    ]


def _extra(services: Services, asked: Request) -> Mapping[str, Any]:
    """What a page shows besides graphs (the batch pages' table of groups)."""
    names = dashboards_of(services).groups
    return {"groups": group_table(services, asked.dashboard, asked.values, names)}
