"""The JSON API for downtimes and metric names (``/api/v1/...``).

Reads need the viewer role, writes the operator role; writes must be JSON. Validation
errors answer 400 with ``{"errors": {field: message}}``, scope refusals 403.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request

from downtime.errors import DowntimeNotFound, InvalidDowntime, ScopeRefused
from downtime.fields import FieldErrors, Reader, changes_from_fields, draft_from_fields
from downtime.policy import touches
from rexmon.errors import InvalidMetricName
from rexmon.metric import validate_glob, validate_metric
from web.auth.guard import current_user, require
from web.auth.users import Role
from web.downtimes.as_json import audit_to_json, downtime_to_json
from web.errors import refusal
from web.services import actor_of, get_services

bp = Blueprint("downtimes_api", __name__, url_prefix="/api/v1")


@bp.get("/downtimes")
@require(Role.VIEWER)
def list_downtimes() -> Any:
    services = get_services()
    now = int(services.clock())
    store = services.downtimes_for(current_user())
    state = request.args.get("state", "all")
    try:
        found = store.find(state, at=now)
        scope = request.args.get("scope")
        if scope:
            glob = validate_glob(scope)  # refused even when nothing is there to filter
            found = [d for d in found if touches(d.scopes, glob)]
    except (InvalidDowntime, InvalidMetricName) as exc:
        return refusal(400, str(exc))
    zone = services.config.site.timezone
    return jsonify(downtimes=[downtime_to_json(d, now, zone) for d in found])


@bp.post("/downtimes")
@require(Role.OPERATOR)
def add_downtime() -> Any:
    services = get_services()
    now = services.clock()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return refusal(400, "expected a JSON object with the downtime's fields")
    zone = services.config.site.timezone
    user = current_user()
    try:
        draft = draft_from_fields(data, Reader(now, zone), zone.key)
        downtime = services.downtimes_for(user).add(draft, actor_of(user))
    except (InvalidDowntime, ScopeRefused) as exc:
        return _refusal(exc)
    response = jsonify(downtime_to_json(downtime, int(now), zone))
    response.status_code = 201
    response.headers["Location"] = f"/api/v1/downtimes/{downtime.id}"
    return response


@bp.get("/downtimes/<int:downtime_id>")
@require(Role.VIEWER)
def get_downtime(downtime_id: int) -> Any:
    services = get_services()
    store = services.downtimes_for(current_user())
    try:
        downtime = store.get(downtime_id)
    except DowntimeNotFound as exc:
        return refusal(404, str(exc))
    data = downtime_to_json(downtime, int(services.clock()), services.config.site.timezone)
    data["audit"] = [audit_to_json(entry) for entry in store.audit_trail(downtime_id)]
    return jsonify(data)


@bp.patch("/downtimes/<int:downtime_id>")
@require(Role.OPERATOR)
def edit_downtime(downtime_id: int) -> Any:
    services = get_services()
    now = services.clock()
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return refusal(400, "expected a JSON object with the fields to change")
    user = current_user()
    store = services.downtimes_for(user)
    zone = services.config.site.timezone
    try:
        action = data.pop("action", None)
        if action == "end":
            downtime = store.end(downtime_id, actor_of(user))
        elif action is not None:
            raise FieldErrors({"action": "the only action is 'end'"})
        else:
            current = store.get(downtime_id)
            changes = changes_from_fields(data, Reader(now, zone), current.draft())
            downtime = store.edit(downtime_id, actor_of(user), **changes)
    except DowntimeNotFound as exc:
        return refusal(404, str(exc))
    except (InvalidDowntime, ScopeRefused) as exc:
        return _refusal(exc)
    return jsonify(downtime_to_json(downtime, int(now), zone))


@bp.delete("/downtimes/<int:downtime_id>")
@require(Role.OPERATOR)
def cancel_downtime(downtime_id: int) -> Any:
    services = get_services()
    user = current_user()
    try:
        downtime = services.downtimes_for(user).cancel(downtime_id, actor_of(user))
    except DowntimeNotFound as exc:
        return refusal(404, str(exc))
    except (InvalidDowntime, ScopeRefused) as exc:
        return _refusal(exc)
    return jsonify(downtime_to_json(downtime, int(services.clock()), services.config.site.timezone))


@bp.get("/downtimes/active")
@require(Role.VIEWER)
def active_for_metric() -> Any:
    services = get_services()
    now = int(services.clock())
    try:
        metric = validate_metric(request.args.get("metric", ""))
    except InvalidMetricName as exc:
        return refusal(400, str(exc))
    covering = services.downtimes_for(current_user()).covering(metric, now)
    zone = services.config.site.timezone
    return jsonify(metric=metric, downtimes=[downtime_to_json(d, now, zone) for d in covering])


def _refusal(exc: InvalidDowntime | ScopeRefused) -> Response:
    if isinstance(exc, ScopeRefused):
        return refusal(403, str(exc))
    errors = exc.errors if isinstance(exc, FieldErrors) else {exc.field: exc.message}
    response = jsonify(error="invalid downtime", errors=errors, status=400)
    response.status_code = 400
    return response
