"""Error answers in the form the client reads, and the app's error handlers.

JSON for API paths (``/api/``) and for clients that ask for it (``Accept:
application/json``); an HTML page with the site's header and a way on (home, log in,
search) for browsers; plain text for everything else (curl, scripts), as before.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException

from web.services import get_services
from web.slowclients import SlowClient

DATABASE_RETRY_AFTER = 5  # seconds
TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    408: "Request timed out",
    413: "Request too large",
    429: "Too many attempts",
    500: "Something broke",
    503: "Temporarily unavailable",
}


def wants(path: str | None = None) -> str:
    """``"json"``, ``"html"`` or ``"text"``: how this request's client reads an error.

    HTML only when the client names ``text/html`` and ranks it no lower than JSON (a
    browser); ``*/*`` alone (curl, requests) keeps the plain text scripts already parse.
    """
    if (path or request.path).startswith("/api/"):
        return "json"
    accept = request.accept_mimetypes
    named = {kind for kind, quality in accept if quality > 0}
    if "text/html" in named and accept["text/html"] >= accept["application/json"]:
        return "html"
    if "application/json" in named:
        return "json"
    return "text"


def refusal(status: int, message: str) -> Response:
    """An error answer with ``status``; API clients get ``{"error", "status"}``."""
    form = wants()
    if form == "json":
        response = jsonify(error=message, status=status)
    elif form == "html":
        response = Response(_page(status, message), mimetype="text/html")
    else:
        response = Response(f"{status}: {message}\n", mimetype="text/plain")
    response.status_code = status
    return response


def init_app(app: Flask) -> None:
    """Register the handlers for HTTP errors, an unreachable database and slow clients."""
    app.register_error_handler(HTTPException, _http_error)
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


def _http_error(error: HTTPException) -> Any:
    """Werkzeug's errors (404, 405, the 500 of an unhandled exception) in the client's
    form; an abort() that already carries its answer (a refusal) passes unchanged."""
    if error.response is not None:
        return error.response
    status = error.code or 500
    message = (
        "the server hit an unexpected error; it has been logged"
        if status == 500
        else error.description or TITLES.get(status, "error")
    )
    if wants() == "text":
        return error  # scripts keep werkzeug's own answer
    response = refusal(status, message)
    allow = dict(error.get_headers()).get("Allow")
    if allow:
        response.headers["Allow"] = allow
    return response


def _page(status: int, message: str) -> str:
    """The HTML error page; if even the page cannot be drawn (the error came from the
    templates or the login machinery), a bare page that still names the error."""
    try:
        _settle_user()
        return render_template(
            "errors/page.html",
            status=status,
            title=TITLES.get(status, "Error"),
            message=message,
            here=request.full_path.rstrip("?"),
            now=int(get_services().clock()),
        )
    except Exception:  # noqa: BLE001 - the error page must not fail in turn
        current_app.logger.exception("could not render the %s page", status)
        return f"<!doctype html><title>{status}</title><h1>{status}</h1><p><a href='/'>Home</a>"


def _settle_user() -> None:
    """The header names the user; when identifying them is what failed (a wrong
    password, an unknown token), the page is drawn for an anonymous visitor."""
    if "user" in g:
        return
    from web.auth.guard import current_user

    try:
        current_user()
    except HTTPException:
        g.user = current_app.extensions["rexmon.auth"].anonymous()
