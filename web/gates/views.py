"""``GET /api/v1/gates`` and ``GET /api/v1/gates/<name>``: 200 when ready, 503 when not, so
that ``curl -f`` or a workflow engine can wait on a gate."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from rrdarchive.errors import ArchiveError
from web.auth.guard import require
from web.auth.users import Role
from web.errors import refusal
from web.gates.check import GateState, check
from web.services import get_services
from web.status.snapshot import current_snapshot

bp = Blueprint("gates", __name__)


@bp.get("/api/v1/gates")
@require(Role.VIEWER)
def list_gates() -> Any:
    return jsonify(gates=[state.to_json() for state in _states()])


@bp.get("/api/v1/gates/<name>")
@require(Role.VIEWER)
def one_gate(name: str) -> Any:
    found = [state for state in _states(name) if state.gate.name == name]
    if not found:
        return refusal(404, "no such gate (GET /api/v1/gates lists them)")
    answer = jsonify(found[0].to_json())
    answer.status_code = 200 if found[0].ready else 503
    return answer


def _states(only: str | None = None) -> list[GateState]:
    services = get_services()
    gates = [g for g in services.config.gates if only is None or g.name == only]
    if not gates:
        return []
    snapshot = current_snapshot()
    archive = services.archive

    def last_value(metric: str) -> float | None:
        try:
            known = archive.last(metric)
        except ArchiveError:
            return None
        return None if known is None else known[1]

    return [check(gate, snapshot, last_value) for gate in gates]
