"""Error answers in the form the client reads: JSON under ``/api/``, plain text or
Flask's HTML pages elsewhere; the app's error handlers live here."""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, jsonify, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from web.slowclients import SlowClient

DATABASE_RETRY_AFTER = 5  # seconds


def refusal(status: int, message: str) -> Response:
    """An error answer with ``status``; API clients get ``{"error", "status"}``."""
    if request.path.startswith("/api/"):
        response = jsonify(error=message, status=status)
    else:
        response = Response(f"{status}: {message}\n", mimetype="text/plain")
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    """Register the handlers for HTTP errors, an unreachable database and slow clients."""
    app.register_error_handler(HTTPException, _json_error_for_api)
    app.register_error_handler(OperationalError, _database_unavailable)
    app.register_error_handler(SlowClient, _slow_client)


def _database_unavailable(error: OperationalError) -> Response:
    """A locked SQLite file or a PostgreSQL restart passes: 503 with Retry-After and a
    plain reason, not a 500 traceback; the driver's message (paths, hosts) goes to the log."""
    current_app.logger.warning("database unavailable: %s", error.orig)
    response = refusal(503, "the database is busy or unreachable; try again in a moment")
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def _slow_client(error: SlowClient) -> Response:
    """The body stopped arriving (web.slowclients closed the socket): nothing of it is
    used; the answer goes nowhere, but it is logged as 408, not as a traceback."""
    return refusal(408, "the request body did not arrive in time")


def _json_error_for_api(error: HTTPException) -> Any:
    """API clients get JSON errors; pages keep Flask's HTML ones."""
    if request.path.startswith("/api/"):
        response = jsonify(error=error.description, status=error.code)
        response.status_code = error.code or 500
        return response
    return error
