"""Refusals in the form the client reads: JSON under ``/api/``, plain text elsewhere."""

from __future__ import annotations

from flask import Response, jsonify, request


def refusal(status: int, message: str) -> Response:
    """An error answer with ``status``; API clients get ``{"error", "status"}``."""
    if request.path.startswith("/api/"):
        response = jsonify(error=message, status=status)
    else:
        response = Response(f"{status}: {message}\n", mimetype="text/plain")
    response.status_code = status
    return response
