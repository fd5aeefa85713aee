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

from alarmd.alarmstate import AlarmState
from alarmd.errors import NotAcknowledgeable
from alarmd.record import AlarmRecord
from downtime.errors import ScopeRefused
from rexmon.errors import InvalidMetricName, InvalidTime
from rexmon.metric import validate_metric
from rexmon.timespec import TIME_HELP, parse_time
from web.alarms.as_json import notification_to_json, record_to_json, transition_to_json
from web.auth.guard import current_user, require
from web.auth.users import Role
from web.services import actor_of, get_services

bp = Blueprint("alarms", __name__, template_folder="templates")
MAX_COMMENT = 500
MAX_ACK = 366 * 86400
HISTORY_LIMIT = 100
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
    sections = sections_of(store.records(), now)
    return render_template(
        "alarms/index.html",
        sections=sections,
        history=store.history(limit=HISTORY_LIMIT),
        notifications=store.outbox.log(limit=HISTORY_LIMIT),
        now=now,
        time_help=TIME_HELP,
    )


@bp.get("/api/v1/alarms")
@require(Role.VIEWER)
def list_json() -> Any:
    services = get_services()
    store, now = services.alarm_store, services.clock()
    sections = sections_of(store.records(), now)
    return jsonify(
        {name: [record_to_json(r, now) for r in records] for name, records in sections.items()}
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
    return redirect(url_for("alarms.index"))


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


def sections_of(records: list[AlarmRecord], now: float) -> dict[str, list[AlarmRecord]]:
    """Firing (and stale), pending, silenced, acknowledged and flapping alarms; an alarm
    shows in one of the first four and, when flapping, also under flapping."""
    sections: dict[str, list[AlarmRecord]] = {
        "firing": [],
        "pending": [],
        "silenced": [],
        "acknowledged": [],
        "flapping": [],
    }
    for record in records:
        shown = record.shown_state
        acked = record.ack is not None and record.ack.active(now) and record.state.is_problem
        if shown is AlarmState.SILENCED:
            sections["silenced"].append(record)
        elif acked:
            sections["acknowledged"].append(record)
        elif shown in (AlarmState.FIRING, AlarmState.STALE):
            sections["firing"].append(record)
        elif shown is AlarmState.PENDING:
            sections["pending"].append(record)
        if record.flapping:
            sections["flapping"].append(record)
    sections["firing"].sort(key=lambda r: (-(r.severity.rank if r.severity else 3), r.since))
    return sections


def _error(status: int, field: str, message: str) -> Any:
    response = jsonify(error=message, errors={field: message}, status=status)
    response.status_code = status
    return response
