"""The downtime pages: list, file, show, edit, end, cancel, and the iCalendar feed.

Every form posts back with a CSRF token; the author is always the logged-in user.
"Preview" re-renders the form with the resolved start and end and the metrics the
scopes match, without saving; ``/api/v1/downtimes/resolve`` gives the form's script the
same start and end as the person types. Cancelling asks for a confirmation first (a
second POST with ``confirm=yes``), so it works without JavaScript.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from downtime.display import shown_changes
from downtime.errors import DowntimeNotFound, InvalidDowntime, ScopeRefused
from downtime.fields import (
    FIELDS,
    FieldErrors,
    Reader,
    changes_from_fields,
)
from downtime.ics import render_ics
from downtime.model import Downtime
from downtime.policy import touches
from downtime.store import shown_state
from rexmon.errors import InvalidMetricName
from rexmon.metric import validate_glob, validate_metric_glob
from rexmon.timespec import TIME_HELP, format_duration, format_time
from web.auth.guard import current_user, require
from web.auth.users import Role
from web.downtimes.formcheck import Resolved, check_form, resolve_times, scope_errors
from web.services import actor_of, get_services

bp = Blueprint("downtimes", __name__, template_folder="templates")
STATES = ("active", "upcoming", "past", "all")
PREVIEW_LIMIT = 50
FORM_FIELDS = tuple(name for name in FIELDS if name != "timezone")  # site zone only


@bp.get("/downtimes")
@require(Role.VIEWER)
def index() -> Any:
    services = get_services()
    now = int(services.clock())
    state = request.args.get("state", "active")
    if state not in STATES:
        state = "active"
    scope = request.args.get("scope", "").strip()
    found = services.downtimes_for(current_user()).find(state, at=now)
    scope_error = None
    if scope:
        try:
            glob = validate_glob(scope)  # refused even when nothing is there to filter
            found = [d for d in found if touches(d.scopes, glob)]
        except InvalidMetricName as exc:
            scope_error = str(exc)
    return render_template(
        "downtimes/list.html",
        downtimes=found,
        state=state,
        states=STATES,
        scope=scope,
        scope_error=scope_error,
        now=now,
        state_of=_state_of,
    )


@bp.route("/downtimes/new", methods=["GET", "POST"])
@require(Role.OPERATOR)
def new() -> Any:
    if request.method == "GET":
        defaults = {
            "start": "now",
            "end": "",
            "duration": "",  # never pre-filled: it would contradict a typed end
            "kind": "planned",
            "scopes": request.args.get("scope", ""),
        }
        return _form(None, defaults, {})
    fields = _posted()
    services = get_services()
    now = services.clock()
    zone = services.config.site.timezone
    user = current_user()
    try:
        draft = check_form(fields, Reader(now, zone), zone.key)
        if request.form.get("action") == "preview":
            return _form(None, fields, {}, preview=True)
        downtime = services.downtimes_for(user).add(draft, actor_of(user))
    except (InvalidDowntime, ScopeRefused) as exc:
        return _form(None, fields, _field_errors(exc), status=400)
    _warn_if_unmatched(downtime.scopes)
    flash(f"Downtime {downtime.id} filed.", "info")
    return redirect(url_for("downtimes.show", downtime_id=downtime.id))


@bp.get("/downtimes/<int:downtime_id>")
@require(Role.VIEWER)
def show(downtime_id: int) -> Any:
    services = get_services()
    store = services.downtimes_for(current_user())
    downtime = _get(downtime_id)
    return render_template(
        "downtimes/show.html",
        downtime=downtime,
        audit=store.audit_trail(downtime_id),
        state=_state_of(downtime, int(services.clock())),
        shown_changes=functools.partial(shown_changes, zone=services.config.site.timezone),
    )


@bp.route("/downtimes/<int:downtime_id>/edit", methods=["GET", "POST"])
@require(Role.OPERATOR)
def edit(downtime_id: int) -> Any:
    downtime = _get(downtime_id)
    services = get_services()
    now = services.clock()
    zone = services.config.site.timezone
    if request.method == "GET":
        return _form(downtime, _fields_of(downtime), {})
    fields = _posted()
    user = current_user()
    reader = Reader(now, zone)
    if fields.get("duration") and fields.get("end") == _fields_of(downtime)["end"]:
        fields["end"] = ""  # a typed duration replaces the end the form was opened with
    try:
        errors = resolve_times(fields, reader).errors | scope_errors(fields.get("scopes", ""))
        if errors:
            raise FieldErrors(errors)
        changes = changes_from_fields(
            {k: v for k, v in fields.items() if k != "duration" or not fields.get("end")},
            reader,
            downtime.draft(),
        )
        if request.form.get("action") == "preview":
            return _form(downtime, fields, {}, preview=True)
        services.downtimes_for(user).edit(downtime_id, actor_of(user), **changes)
    except (InvalidDowntime, ScopeRefused) as exc:
        return _form(downtime, fields, _field_errors(exc), status=400)
    flash(f"Downtime {downtime_id} saved.", "info")
    return redirect(url_for("downtimes.show", downtime_id=downtime_id))


@bp.post("/downtimes/<int:downtime_id>/end")
@require(Role.OPERATOR)
def end(downtime_id: int) -> Any:
    return _act(downtime_id, "end", "ended")


@bp.route("/downtimes/<int:downtime_id>/cancel", methods=["GET", "POST"])
@require(Role.OPERATOR)
def cancel(downtime_id: int) -> Any:
    """Cancelling cannot be undone: the first step shows what would go, only a second
    POST with ``confirm=yes`` cancels."""
    if request.method == "POST" and request.form.get("confirm") == "yes":
        return _act(downtime_id, "cancel", "cancelled")
    downtime = _get(downtime_id)
    if downtime.cancelled:
        flash(f"Downtime {downtime_id} is already cancelled.", "info")
        return redirect(url_for("downtimes.show", downtime_id=downtime_id))
    state = _state_of(downtime, int(get_services().clock()))
    return render_template("downtimes/cancel.html", downtime=downtime, state=state)


@bp.get("/api/v1/downtimes/resolve")
@require(Role.VIEWER)
def resolve() -> Any:
    """What the form's start, end and duration mean, in the site zone, as one types."""
    services = get_services()
    zone = services.config.site.timezone
    fields = {
        name: request.args.get(name, "").strip()[:64] for name in ("start", "end", "duration")
    }
    return jsonify(_resolved_json(resolve_times(fields, Reader(services.clock(), zone))))


@bp.get("/downtimes.ics")
@require(Role.VIEWER)
def ics() -> Response:
    store = get_services().downtimes_for(current_user())
    body = render_ics(store.find("all"), domain=_uid_domain())
    return Response(
        body,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'inline; filename="downtimes.ics"'},
    )


def _act(downtime_id: int, action: str, done: str) -> Any:
    user = current_user()
    store = get_services().downtimes_for(user)
    _get(downtime_id)
    try:
        getattr(store, action)(downtime_id, actor_of(user))
        flash(f"Downtime {downtime_id} {done}.", "info")
    except (InvalidDowntime, ScopeRefused) as exc:
        flash(f"Downtime {downtime_id} not {done}: {exc}", "error")
    return redirect(url_for("downtimes.show", downtime_id=downtime_id))


def _resolved_json(resolved: Resolved) -> dict[str, Any]:
    zone = get_services().config.site.timezone
    return {
        "start": resolved.start,
        "end": resolved.end,
        "start_text": _shown(resolved.start),
        "end_text": _shown(resolved.end),
        "length": format_duration(resolved.end - resolved.start)
        if resolved.start is not None and resolved.end is not None and resolved.end > resolved.start
        else "",
        "zone": zone.key,
        "errors": resolved.errors,
    }


def _shown(seconds: int | None) -> str:
    if seconds is None:
        return ""
    zone = get_services().config.site.timezone
    return datetime.fromtimestamp(seconds, zone).strftime("%a %Y-%m-%d %H:%M %Z")


def _get(downtime_id: int) -> Downtime:
    try:
        return get_services().downtimes_for(current_user()).get(downtime_id)
    except DowntimeNotFound:
        abort(404)


def _posted() -> dict[str, str]:
    fields = {key: request.form.get(key, "").strip() for key in FORM_FIELDS}
    fields["flexible"] = "on" if request.form.get("flexible") else ""
    return fields


def _form(
    downtime: Downtime | None,
    fields: dict[str, str],
    errors: dict[str, str],
    *,
    preview: bool = False,
    status: int = 200,
) -> Any:
    matches = _matches(fields.get("scopes", ""))
    services = get_services()
    times = resolve_times(fields, Reader(services.clock(), services.config.site.timezone))
    body = render_template(
        "downtimes/form.html",
        downtime=downtime,
        fields=fields,
        errors=errors,
        matches=matches,
        preview=preview,
        time_help=TIME_HELP,
        limit=PREVIEW_LIMIT,
        resolved=_resolved_json(times) if request.method == "POST" else None,
    )
    return body, status


def _matches(scopes_text: str) -> dict[str, tuple[list[str], int]] | None:
    """For each valid scope: the first metrics it matches and how many there are."""
    scopes = [s.strip() for s in scopes_text.replace(",", "\n").splitlines() if s.strip()]
    if not scopes:
        return None
    archive = get_services().archive
    found = {}
    for scope in scopes[:20]:
        try:
            names = archive.list_metrics(validate_metric_glob(scope))
        except InvalidMetricName:
            continue
        found[scope] = (names[:PREVIEW_LIMIT], len(names))
    return found


def _warn_if_unmatched(scopes: tuple[str, ...]) -> None:
    archive = get_services().archive
    for scope in scopes:
        if not archive.list_metrics(scope):
            flash(f"Scope {scope!r} matches no metric in the archive (yet).", "warning")


def _field_errors(exc: InvalidDowntime | ScopeRefused) -> dict[str, str]:
    if isinstance(exc, ScopeRefused):
        return {"scopes": str(exc)}
    if isinstance(exc, FieldErrors):
        return exc.errors
    return {exc.field: exc.message}


def _fields_of(downtime: Downtime) -> dict[str, str]:
    zone = get_services().config.site.timezone
    return {
        "scopes": "\n".join(downtime.scopes),
        "start": format_time(downtime.start, zone),
        "end": format_time(downtime.end, zone),
        "duration": "",
        "reason": downtime.reason,
        "kind": downtime.kind.value,
        "effect": downtime.effect.value,
        "rrule": downtime.rrule or "",
        "until": format_time(downtime.until, zone) if downtime.until else "",
        "flexible": "on" if downtime.flexible else "",
        "flex_duration": format_duration(downtime.duration) if downtime.duration else "",
    }


def _state_of(downtime: Downtime, now: int) -> str:
    return shown_state(downtime, now)


def _uid_domain() -> str:
    """The domain of the feed's UIDs: ``site.base_url``'s host, so that a downtime keeps
    one UID whatever name a client used to reach the server (never the Host header)."""
    host = urlsplit(get_services().config.site.base_url or "").hostname
    return host or "rexmon"
