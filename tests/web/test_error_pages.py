"""The 401/403/404/500 pages a browser sees, the JSON an API client sees, the favicon."""

from __future__ import annotations

import requests
from flask import Flask

from tests.fixtures_server import USERS, RexmonServer

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_a_browser_gets_a_404_page_with_the_sites_header_a_search_and_a_way_home(
    rexmon_server: RexmonServer,
) -> None:
    page = requests.get(f"{rexmon_server.url}/no/such/page", headers=BROWSER, timeout=10)
    assert page.status_code == 404
    assert page.headers["Content-Type"].startswith("text/html")
    assert '<header class="top">' in page.text and "Not found" in page.text
    assert 'name="q"' in page.text and 'href="/"' in page.text


def test_a_json_client_gets_json_errors_on_pages_and_under_api(rexmon_server: RexmonServer) -> None:
    json_client = {"Accept": "application/json"}
    page = requests.get(f"{rexmon_server.url}/no/such/page", headers=json_client, timeout=10)
    assert page.status_code == 404 and page.json()["status"] == 404
    api = requests.get(f"{rexmon_server.url}/api/v1/nothing", headers=BROWSER, timeout=10)
    assert api.status_code == 404 and api.json()["status"] == 404
    refused = requests.post(
        f"{rexmon_server.url}/api/v1/downtimes",
        json={},
        headers=json_client,
        auth=("victor", USERS["victor"][0]),
        timeout=10,
    )
    assert refused.status_code == 403 and "needs operator" in refused.json()["error"]


def test_a_script_still_gets_plain_text_refusals(rexmon_server: RexmonServer) -> None:
    refused = requests.get(
        f"{rexmon_server.url}/downtimes/new", auth=("victor", USERS["victor"][0]), timeout=10
    )
    assert refused.status_code == 403
    assert refused.headers["Content-Type"].startswith("text/plain")
    assert refused.text.startswith("403: victor is viewer")


def test_a_403_page_offers_logging_in_as_someone_else_and_comes_back(
    rexmon_server: RexmonServer,
) -> None:
    page = requests.get(
        f"{rexmon_server.url}/downtimes/new",
        headers=BROWSER,
        auth=("victor", USERS["victor"][0]),
        timeout=10,
    )
    assert page.status_code == 403 and "Not allowed" in page.text
    assert "Victor is viewer; this needs operator" in page.text
    assert "/login?next=/downtimes/new" in page.text
    assert "victor (viewer)" in page.text  # the header still names who is logged in


def test_a_wrong_password_gets_a_401_page_drawn_for_an_anonymous_visitor(
    rexmon_server: RexmonServer,
) -> None:
    page = requests.get(
        f"{rexmon_server.url}/alarms", headers=BROWSER, auth=("victor", "wrong"), timeout=10
    )
    assert page.status_code == 401 and "WWW-Authenticate" in page.headers
    assert "Please log in" in page.text and "/login?next=/alarms" in page.text
    assert "anonymous" in page.text


def test_an_unexpected_error_gets_a_500_page_without_the_traceback(
    rexmon_server: RexmonServer,
) -> None:
    app: Flask = rexmon_server.app
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def broken() -> str:
        raise RuntimeError("secret internals")

    app.add_url_rule("/test-broken", "test_broken", broken)
    page = requests.get(f"{rexmon_server.url}/test-broken", headers=BROWSER, timeout=10)
    assert page.status_code == 500 and "Something broke" in page.text
    assert "secret internals" not in page.text and '<header class="top">' in page.text
    as_json = requests.get(
        f"{rexmon_server.url}/test-broken", headers={"Accept": "application/json"}, timeout=10
    )
    assert as_json.status_code == 500 and as_json.json()["status"] == 500


def test_the_favicon_is_an_svg_also_at_favicon_ico(rexmon_server: RexmonServer) -> None:
    for path in ("/favicon.ico", "/static/favicon.svg"):
        icon = requests.get(f"{rexmon_server.url}{path}", timeout=10)
        assert icon.status_code == 200, path
        assert icon.headers["Content-Type"].startswith("image/svg+xml")
        assert icon.content.startswith(b"<svg")
