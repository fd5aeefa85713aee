"""The alarms page ``/alarms`` and acknowledgements (form and ``POST /api/v1/alarms/ack``).

The page lists firing (and stale), pending, silenced, acknowledged and flapping alarms
with links to their graphs, the recent alarm history and the notification log. Operators
acknowledge a firing or stale alarm with a comment and an optional end; an operator
limited to some scopes may acknowledge only alarms of metrics inside them, as for
downtimes. Reads need the viewer role.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from flask import Blueprint, flash, jsonify, redirect, render_template, request, url_for

from alarmd.errors import NotAcknowledgeable
from alarmd.record import AlarmRecord
from downtime.display import next_window
from downtime.errors import ScopeRefused
from downtime.model import Downtime
from rexmon.errors import InvalidMetricName, InvalidTime
from rexmon.metric import validate_metric
from rexmon.timespec import TIME_HELP, parse_time
from web.alarms.as_json import notification_to_json, record_to_json, transition_to_json
from web.alarms.listing import STATES, filter_from, host_of, sections_of
from web.auth.guard import current_user, require
from web.auth.users import Role
from web.auth.views import local_path
from web.services import actor_of, get_services

bp = Blueprint("alarms", __name__, template_folder="templates")
MAX_COMMENT = 500
MAX_ACK = 366 * 86400
HISTORY_LIMIT = 100
REFRESH_SECONDS = 30
_RULE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\[\]-]{0,127}\Z", re.ASCII)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class AckError(Exception):
    """An acknowledgement that cannot be filed: HTTP status, field and message."""

    def __init__(self, status: int, field: str, message: str) -> None:
        super().__init__(message)
        self.status, self.field, self.message = status, field, message


@bp.get("/alarms")
@require(Role.VIEWER)
def index() -> Any:
    services = get_services()
    now = services.clock()
    store = services.alarm_store
    records = store.records()
    chosen = filter_from(request.args)
    shown = [r for r in records if chosen.keeps(r, now)]
    history = [
        row
        for row in store.history(limit=HISTORY_LIMIT)
        if (not chosen.rule or row.rule == chosen.rule)
        and (chosen.host_match is None or chosen.host_match(f"x.{host_of(row.metric)}"))
    ]
    return render_template(
        "alarms/index.html",
        sections=sections_of(shown, now),
        covering=_covering(shown, now),
        chosen=chosen,
        states=STATES,
        rules=sorted({r.rule for r in records} | ({chosen.rule} if chosen.rule else set())),
        total=len(records),
        history=history,
        notifications=store.outbox.log(limit=HISTORY_LIMIT),
        now=now,
        refresh=REFRESH_SECONDS,
        covered_until=covered_until,
        time_help=TIME_HELP,
    )


@bp.get("/api/v1/alarms")
@require(Role.VIEWER)
def list_json() -> Any:
    services = get_services()
    store, now = services.alarm_store, services.clock()
    chosen = filter_from(request.args)
    shown = [r for r in store.records() if chosen.keeps(r, now)]
    sections = sections_of(shown, now)
    covering = _covering(shown, now)
    return jsonify(
        {
            name: [
                record_to_json(r, now)
                | {"downtimes": [downtime_summary(d, now) for d in covering.get(r.metric, [])]}
                for r in records
            ]
            for name, records in sections.items()
        }
        | {
            "history": [transition_to_json(row) for row in store.history(limit=HISTORY_LIMIT)],
            "notifications": [
                notification_to_json(row) for row in store.outbox.log(limit=HISTORY_LIMIT)
            ],
        }
    )


@bp.post("/alarms/ack")
@require(Role.OPERATOR)
def ack_form() -> Any:
    try:
        record = acknowledge(request.form)
    except AckError as exc:
        flash(f"Not acknowledged: {exc.message}", "error")
    else:
        flash(f"Acknowledged {record.rule} on {record.metric}.", "info")
    back = request.form.get("next")  # the page the form was on (status, host): local only
    return redirect(local_path(back) if back else url_for("alarms.index"))


@bp.post("/api/v1/alarms/ack")
@require(Role.OPERATOR)
def ack_json() -> Any:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        return _error(400, "body", "expected a JSON object: rule, metric, comment, until")
    try:
        record = acknowledge({k: v if isinstance(v, str) else "" for k, v in data.items()})
    except AckError as exc:
        return _error(exc.status, exc.field, exc.message)
    return jsonify(record_to_json(record, get_services().clock()))


def acknowledge(fields: Mapping[str, str]) -> AlarmRecord:
    """Validate the fields and file the acknowledgement as the current user."""
    services = get_services()
    now = services.clock()
    user = current_user()
    rule = (fields.get("rule") or "").strip()
    if not _RULE.match(rule):
        raise AckError(400, "rule", "not a rule name")
    try:
        metric = validate_metric((fields.get("metric") or "").strip())
    except InvalidMetricName as exc:
        raise AckError(400, "metric", str(exc)) from None
    comment = _CONTROL.sub(" ", fields.get("comment") or "").strip()
    if len(comment) > MAX_COMMENT:
        raise AckError(400, "comment", f"at most {MAX_COMMENT} characters")
    until = _until(fields.get("until") or "", now)
    policy = services.config.web.auth.scopes
    if policy is not None and user.role < Role.ADMIN:
        try:
            policy.check(actor_of(user), metric)
        except ScopeRefused as exc:
            raise AckError(403, "metric", str(exc)) from None
    try:
        return services.alarm_store.acknowledge(rule, metric, user.name, comment, until, now)
    except LookupError as exc:
        raise AckError(404, "rule", str(exc).strip("'\"")) from None
    except NotAcknowledgeable as exc:
        raise AckError(409, "state", str(exc)) from None


def _until(text: str, now: float) -> float | None:
    if not text.strip():
        return None
    if len(text) > 64:
        raise AckError(400, "until", "at most 64 characters")
    try:
        until = parse_time(text, now, get_services().config.site.timezone)
    except InvalidTime as exc:
        raise AckError(400, "until", str(exc)) from None
    if until <= now:
        raise AckError(400, "until", "must be in the future")
    if until > now + MAX_ACK:
        raise AckError(400, "until", "at most a year ahead")
    return float(until)


def _covering(records: list[AlarmRecord], now: float) -> dict[str, list[Downtime]]:
    """The downtimes in effect now for each listed alarm's metric (one index for all)."""
    at = int(now)
    store = get_services().downtimes_for(current_user())
    return store.index(at, at + 1).covering_many({r.metric for r in records}, at)


def downtime_summary(downtime: Downtime, now: float) -> dict[str, Any]:
    return {
        "id": downtime.id,
        "kind": downtime.kind.value,
        "reason": downtime.reason,
        "until": covered_until(downtime, now),
    }


def covered_until(downtime: Downtime, now: float) -> int:
    """When the downtime's current window ends (a recurring one's, not the series')."""
    window = next_window(downtime, int(now))
    end = window[1] if window is not None else downtime.end
    return min(end, downtime.ended) if downtime.ended else end


def _error(status: int, field: str, message: str) -> Any:
    response = jsonify(error=message, errors={field: message}, status=status)
    response.status_code = status
    return response
