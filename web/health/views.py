"""``/healthz``: is this process able to serve and store (for load balancers and systemd)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from web.services import get_services

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    root = get_services().config.archive.root
    ok = root.is_dir()
    response = jsonify(status="ok" if ok else "archive root missing")
    response.status_code = 200 if ok else 503
    return response
