"""The site icon: ``/static/favicon.svg`` for pages that link it, and ``/favicon.ico``
for the browsers, bookmark tools and crawlers that ask the root without reading a page
(answered with the same SVG, so there is one icon to keep)."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, send_from_directory

bp = Blueprint("favicon", __name__)
MAX_AGE = 7 * 86400  # seconds; the icon changes with releases only


@bp.get("/favicon.ico")
def favicon() -> Response:
    assert current_app.static_folder is not None
    response = send_from_directory(
        current_app.static_folder, "favicon.svg", mimetype="image/svg+xml", max_age=MAX_AGE
    )
    return response
