"""Check results over HTTP: ``POST /api/v1/checks`` takes them from slurpers and from any
NSCA/NRDP-style sender; ``GET /api/v1/checks?scope=GLOB`` and ``GET /api/v1/checks/NAME``
(with its state history) read them back, and ``/checks/NAME`` shows one to people (the
plugin's text escaped like every text on the pages).

The body is JSON ``{"checks": [...]}`` (see :mod:`rexmon.checkresult`), optionally gzip.
Authentication, size limits and token scoping are those of ``/api/v1/samples``: a token
limited to metric globs may submit only checks whose name they match. The answer has
the same shape -- ``{"accepted": N, "rejected": [{"index", "metric", "error"}]}`` -- and
a bad check is rejected alone. A result is stored (newest wins, a replay changes nothing)
before the answer is sent; 503 when the database cannot take it, so the sender keeps it.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import sqlalchemy.exc
from flask import Blueprint, Response, abort, jsonify, render_template, request

from alarmd.checkstore import CheckChange, StoredCheck
from rexmon.checkresult import (
    MAX_LONG_OUTPUT_BYTES,
    MAX_OUTPUT_BYTES,
    CheckResult,
    bounded,
    check_from_json,
)
from rexmon.errors import InvalidCheckResult, InvalidMetricName
from rexmon.metric import validate_glob, validate_metric
from rexmon.rejection import Rejection
from web.auth.guard import require
from web.auth.tokens import Token
from web.auth.users import Role
from web.errors import refusal
from web.ingest.batch import BatchTooLarge, MalformedBatch
from web.ingest.views import answer_of, read_request
from web.services import get_services

bp = Blueprint("checks", __name__, template_folder="templates")
log = logging.getLogger(__name__)


@bp.post("/api/v1/checks")
def post_checks() -> Any:
    services = get_services()
    limit = services.config.web.max_samples
    read = read_request(services, lambda body: _checks_list(body, limit))
    if isinstance(read, Response):
        return read
    token, items = read
    results, rejected, forbidden = _validated(items, token)
    if items and forbidden == len(items):
        return refusal(403, rejected[0].error)
    try:
        services.alarm_store.checks.submit(results, services.clock())
    except sqlalchemy.exc.SQLAlchemyError as exc:
        log.error("checks: database unavailable, refusing %d results: %s", len(results), exc)
        response = refusal(503, "database unavailable, retry later")
        response.headers["Retry-After"] = "30"
        return response
    return jsonify(answer_of(len(results), rejected))


@bp.get("/api/v1/checks")
@require(Role.VIEWER)
def list_checks() -> Any:
    """The newest result of every check matching ``scope`` (a glob, default all)."""
    services = get_services()
    try:
        scope = validate_glob(request.args.get("scope", "*"))
    except InvalidMetricName as exc:
        return refusal(400, f"scope: {exc}")
    now = services.clock()
    checks = services.alarm_store.checks.current(scope)
    return jsonify(scope=scope, checks=[check_to_json(check, now) for check in checks])


@bp.get("/api/v1/checks/<path:name>")
@require(Role.VIEWER)
def show_check(name: str) -> Any:
    """One check's newest result and its state changes, newest first."""
    services = get_services()
    try:
        name = validate_metric(name)
    except InvalidMetricName as exc:
        return refusal(400, f"check name: {exc}")
    check = services.alarm_store.checks.get(name)
    if check is None:
        return refusal(404, f"no check {name!r} has sent a result")
    history = services.alarm_store.checks.history(name)
    return jsonify(
        {**check_to_json(check, services.clock()), "history": [change_to_json(c) for c in history]}
    )


@bp.get("/checks/<path:name>")
@require(Role.VIEWER)
def check_page(name: str) -> Any:
    services = get_services()
    try:
        name = validate_metric(name)
    except InvalidMetricName:
        abort(404)
    check = services.alarm_store.checks.get(name)
    if check is None:
        abort(404)
    return render_template(
        "checks/show.html",
        check=check,
        history=services.alarm_store.checks.history(name),
        now=services.clock(),
    )


def check_to_json(check: StoredCheck, now: float) -> dict[str, Any]:
    return {
        **check.result.to_json(),
        "since": check.since,
        "received": check.received,
        "age": max(0, int(now - check.result.time)),
    }


def change_to_json(change: CheckChange) -> dict[str, Any]:
    return {
        "at": change.at,
        "from": None if change.before is None else change.before.name,
        "to": change.after.name,
        "output": change.output,
    }


def _checks_list(body: bytes, limit: int) -> list[Any]:
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MalformedBatch(f"body is not JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("checks"), list):
        raise MalformedBatch('expected a JSON object {"checks": [...]}')
    unknown = set(document) - {"checks"}
    if unknown:
        raise MalformedBatch(f"unknown top-level field(s): {', '.join(sorted(unknown))}")
    items: list[Any] = document["checks"]
    if len(items) > limit:
        raise BatchTooLarge(f"{len(items)} check results in one request, at most {limit} allowed")
    return items


def _texts_bounded(item: Any) -> Any:
    """A sender's over-long plugin text is cut (with ``…``) rather than the result lost:
    its state matters more than the end of its text."""
    if not isinstance(item, dict):
        return item
    limits = (("output", MAX_OUTPUT_BYTES), ("long_output", MAX_LONG_OUTPUT_BYTES))
    return {
        **item,
        **{k: bounded(item[k], n) for k, n in limits if isinstance(item.get(k), str)},
    }


def _validated(items: list[Any], token: Token) -> tuple[list[CheckResult], list[Rejection], int]:
    """The valid results the token may send, the rejections, how many the token forbade."""
    results, rejected = [], []
    forbidden = 0
    for index, item in enumerate(items):
        name = item.get("check") if isinstance(item, dict) else None
        shown = name if isinstance(name, str) and len(name) <= 255 else None
        try:
            result = check_from_json(_texts_bounded(item))
        except InvalidCheckResult as exc:
            rejected.append(Rejection(index, shown, f"check result {index}: {exc}"))
            continue
        if not token.allows(result.check):
            allowed = ", ".join(token.metrics)
            rejected.append(
                Rejection(index, shown, f"token {token.name!r} may write only {allowed}")
            )
            forbidden += 1
            continue
        results.append(result)
    return results, rejected, forbidden
