"""The login page as a person in a browser uses it: a form, a session cookie, the role's
buttons on every page, a logout; and what an attacker would try against it."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from alarmd.alarmstate import AlarmState, Severity
from tests.fixtures_server import USERS, RexmonServer
from tests.web.auth.test_auth import authenticator
from tests.web.monitored import alarm_store, csrf_of, push_history, set_alarm, start_server
from web.services import get_services

BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}
METRIC = "host.node01.load.5m"


@pytest.fixture
def site(tmp_path: Path) -> RexmonServer:
    server = start_server(tmp_path / "server")
    yield server
    server.stop()
    get_services(server.app).close()


def browser() -> requests.Session:
    http = requests.Session()
    http.headers.update(BROWSER)
    return http


def log_in(server: RexmonServer, user: str, next_path: str = "/", password: str | None = None):
    http = browser()
    form = http.get(f"{server.url}/login", params={"next": next_path}, timeout=10)
    assert form.status_code == 200
    answer = http.post(
        f"{server.url}/login",
        data={
            "csrf_token": csrf_of(form.text),
            "next": next_path,
            "username": user,
            "password": USERS[user][0] if password is None else password,
        },
        allow_redirects=False,
        timeout=10,
    )
    return http, answer


def test_an_operator_logs_in_and_sees_the_role_and_its_buttons_on_every_page(
    site: RexmonServer,
) -> None:
    push_history(site, METRIC, [3.0, 12.0])
    store = alarm_store(site)
    set_alarm(
        store,
        "load-high",
        METRIC,
        AlarmState.FIRING,
        at=time.time() - 60,
        severity=Severity.CRITICAL,
        value=12.0,
    )
    anonymous = browser().get(f"{site.url}/alarms", timeout=10).text
    assert "Log in" in anonymous and 'class="ack"' not in anonymous
    http, answer = log_in(site, "olivia", "/alarms")
    assert answer.status_code == 303 and answer.headers["Location"] == "/alarms"
    for path in ("/", "/alarms", f"/metric/{METRIC}", "/downtimes"):
        page = http.get(site.url + path, timeout=10)
        assert page.status_code == 200, path
        assert "olivia (operator)" in page.text and "Log out" in page.text, path
    assert 'class="ack"' in http.get(f"{site.url}/alarms", timeout=10).text
    assert http.get(f"{site.url}/downtimes/new", timeout=10).status_code == 200
    store.engine.dispose()


def test_a_page_that_needs_a_login_sends_a_browser_to_the_form_and_a_script_gets_401(
    site: RexmonServer,
) -> None:
    sent = browser().get(
        f"{site.url}/downtimes/new?scope=host.*", allow_redirects=False, timeout=10
    )
    assert sent.status_code == 302
    assert sent.headers["Location"].startswith("/login?next=")
    assert "/downtimes/new?scope%3Dhost.*" in sent.headers["Location"]
    script = requests.get(f"{site.url}/downtimes/new", allow_redirects=False, timeout=10)
    assert script.status_code == 401 and "Basic" in script.headers["WWW-Authenticate"]
    api = browser().post(f"{site.url}/api/v1/downtimes", json={}, timeout=10)
    assert api.status_code == 401
    basic = requests.get(
        f"{site.url}/downtimes/new", auth=("olivia", USERS["olivia"][0]), timeout=10
    )
    assert basic.status_code == 200, "HTTP Basic stays for scripts"


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "evil.example",
        "/%0d%0aSet-Cookie:x=1",
        "\t//evil.example",
    ],
)
def test_next_goes_only_to_a_local_path(site: RexmonServer, target: str) -> None:
    _, answer = log_in(site, "olivia", target)
    assert answer.status_code == 303
    location = answer.headers["Location"]
    assert location.startswith("/") and not location.startswith(("//", "/\\")), location
    assert "evil.example" not in location or location.startswith("/%")


def test_a_wrong_password_is_refused_in_the_page_and_repeated_ones_are_rate_limited(
    site: RexmonServer,
) -> None:
    limit = get_services(site.app).config.web.auth.max_failures
    for _ in range(limit):
        _, answer = log_in(site, "olivia", password="wrong")
        assert answer.status_code == 401
        assert "Wrong user name or password" in answer.text
        assert "Set-Cookie" not in answer.headers or "user" not in answer.headers["Set-Cookie"]
    _, blocked = log_in(site, "olivia")  # the right password, but too late
    assert blocked.status_code == 429 and "Too many failed logins" in blocked.text


def test_the_form_needs_its_csrf_token_and_logout_needs_one_too(site: RexmonServer) -> None:
    http = browser()
    forged = http.post(
        f"{site.url}/login",
        data={"username": "olivia", "password": USERS["olivia"][0]},
        allow_redirects=False,
        timeout=10,
    )
    assert forged.status_code == 400
    http, _ = log_in(site, "olivia")
    assert http.post(f"{site.url}/logout", timeout=10).status_code == 400
    assert "olivia (operator)" in http.get(site.url + "/", timeout=10).text
    token = csrf_of(http.get(site.url + "/", timeout=10).text)
    out = http.post(f"{site.url}/logout", data={"csrf_token": token}, timeout=10)
    assert out.status_code == 200 and "olivia logged out" in out.text
    assert "Log in" in http.get(site.url + "/", timeout=10).text


def test_logging_in_starts_a_new_session_with_a_new_csrf_token(site: RexmonServer) -> None:
    http = browser()
    before = csrf_of(http.get(f"{site.url}/login", timeout=10).text)
    old_cookie = http.cookies.get("session")
    http.post(
        f"{site.url}/login",
        data={
            "csrf_token": before,
            "next": "/",
            "username": "olivia",
            "password": USERS["olivia"][0],
        },
        timeout=10,
    )
    assert http.cookies.get("session") != old_cookie
    after = csrf_of(http.get(f"{site.url}/downtimes", timeout=10).text)
    assert after != before


def test_a_session_ends_when_the_password_it_was_opened_with_changes(tmp_path: Path) -> None:
    first = authenticator(tmp_path)
    user = first.from_password("alice", "wonderland")
    assert user is not None
    fingerprint = first.password_fingerprint("alice")
    assert first.from_session("alice", fingerprint) is not None
    assert first.from_session("alice", "") is None
    assert first.from_session("nobody", fingerprint) is None
    changed = authenticator(tmp_path)  # a new htpasswd: new salts, so new hashes
    assert changed.from_session("alice", fingerprint) is None


def test_a_session_lasts_as_configured(make_rexmon_server: Callable[..., RexmonServer]) -> None:
    server = make_rexmon_server()
    assert server.app.permanent_session_lifetime.total_seconds() == 12 * 3600
