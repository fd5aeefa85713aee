from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import requests

from downtime.store import DowntimeStore
from rexmon.database import open_database
from tests.fixtures_server import USERS, RexmonServer
from web.limitstore import migrate_limits


def session(user: str | None = None) -> requests.Session:
    http = requests.Session()
    if user:
        http.auth = (user, USERS[user][0])
    return http


def api(server: RexmonServer, user: str | None = None) -> tuple[requests.Session, str]:
    return session(user), f"{server.url}/api/v1/downtimes"


def csrf_of(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the form carries a CSRF token"
    return match.group(1)


def test_the_api_files_lists_edits_ends_and_cancels_downtimes(rexmon_server: RexmonServer) -> None:
    http, url = api(rexmon_server, "olivia")
    filed = http.post(
        url,
        json={
            "scopes": ["host.node01_*.*"],
            "start": "-1m",
            "duration": "4h",
            "reason": "kernel update",
        },
        timeout=10,
    )
    assert filed.status_code == 201, filed.text
    downtime = filed.json()
    assert downtime["author"] == "olivia"
    assert downtime["state"] == "active"
    assert downtime["end"] - downtime["start"] == 4 * 3600
    assert downtime["effect"] == "mute"
    assert filed.headers["Location"] == f"/api/v1/downtimes/{downtime['id']}"

    listed = http.get(url, params={"state": "active"}, timeout=10).json()["downtimes"]
    assert [d["id"] for d in listed] == [downtime["id"]]
    active = http.get(f"{url}/active", params={"metric": "host.node01_x.cpu.user"}, timeout=10)
    assert [d["id"] for d in active.json()["downtimes"]] == [downtime["id"]]
    other = http.get(f"{url}/active", params={"metric": "host.node02_x.cpu.user"}, timeout=10)
    assert other.json()["downtimes"] == []

    edited = http.patch(f"{url}/{downtime['id']}", json={"reason": "kernel + firmware"}, timeout=10)
    assert edited.status_code == 200 and edited.json()["reason"] == "kernel + firmware"
    ended = http.patch(f"{url}/{downtime['id']}", json={"action": "end"}, timeout=10)
    assert ended.status_code == 200 and ended.json()["ended"] is not None
    shown = http.get(f"{url}/{downtime['id']}", timeout=10).json()
    assert [entry["action"] for entry in shown["audit"]] == ["add", "edit", "end"]
    assert all(entry["actor"] == "olivia" for entry in shown["audit"])

    later = http.post(
        url,
        json={
            "scopes": "svc.*",
            "start": "+1d",
            "end": "+2d",
            "reason": "move",
            "kind": "unplanned",
        },
        timeout=10,
    ).json()
    assert later["state"] == "upcoming" and later["effect"] == "label"
    assert http.delete(f"{url}/{later['id']}", timeout=10).json()["state"] == "cancelled"
    assert http.get(f"{url}/999", timeout=10).status_code == 404


def test_the_pages_and_the_api_take_the_time_from_the_apps_clock(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    later = time.time() + 30 * 86400
    server = make_rexmon_server(clock=lambda: later)
    http, url = api(server, "olivia")
    filed = http.post(
        url,
        json={"scopes": ["host.node01.*"], "start": "-1m", "duration": "1h", "reason": "x"},
        timeout=10,
    )
    assert filed.status_code == 201, filed.text
    downtime = filed.json()
    assert abs(downtime["start"] - (later - 60)) < 5, "-1m is read against the app's clock"
    assert downtime["state"] == "active"
    page = http.get(f"{server.url}/downtimes/{downtime['id']}", timeout=10)
    assert page.status_code == 200
    assert "active" in page.text.lower()


def test_the_api_names_each_bad_field(rexmon_server: RexmonServer) -> None:
    http, url = api(rexmon_server, "olivia")
    refused = http.post(url, json={"scopes": [], "start": "yesterdayish", "reason": ""}, timeout=10)
    assert refused.status_code == 400
    errors = refused.json()["errors"]
    assert set(errors) >= {"start", "reason"} or set(errors) >= {"scopes"}
    backwards = http.post(
        url, json={"scopes": ["a.*"], "start": "+2h", "end": "+1h", "reason": "x"}, timeout=10
    )
    assert backwards.status_code == 400
    assert backwards.json()["errors"] == {"end": "the end must be after the start"}
    unknown = http.post(
        url,
        json={"scopes": ["a.*"], "duration": "1h", "reason": "x", "author": "mallory"},
        timeout=10,
    )
    assert unknown.status_code == 400 and unknown.json()["errors"] == {"author": "no such field"}


def test_writes_need_an_operator_and_a_scope_the_operator_may_use(
    rexmon_server: RexmonServer,
) -> None:
    body = {"scopes": ["host.*"], "duration": "1h", "reason": "x"}
    anonymous, url = api(rexmon_server)
    assert anonymous.get(url, timeout=10).status_code == 200
    denied = anonymous.post(url, json=body, timeout=10)
    assert denied.status_code == 401
    assert denied.headers["WWW-Authenticate"].startswith("Basic")
    viewer, _ = api(rexmon_server, "victor")
    assert viewer.post(url, json=body, timeout=10).status_code == 403
    dana, _ = api(rexmon_server, "dana")
    outside = dana.post(url, json=body, timeout=10)
    assert outside.status_code == 403 and "dcache" in outside.text or "scope" in outside.text
    inside = dana.post(url, json={**body, "scopes": ["dcache.pool1.*"]}, timeout=10)
    assert inside.status_code == 201
    wrong_password = requests.post(url, json=body, auth=("olivia", "nope"), timeout=10)
    assert wrong_password.status_code == 401
    not_json = session("olivia").post(url, data={"scopes": "a.*"}, timeout=10)
    assert not_json.status_code == 415


def test_repeated_wrong_passwords_are_rate_limited(rexmon_server: RexmonServer) -> None:
    url = f"{rexmon_server.url}/api/v1/downtimes"
    codes = [
        requests.get(url, auth=("olivia", f"guess{i}"), timeout=10).status_code for i in range(12)
    ]
    assert codes[:10] == [401] * 10
    assert codes[10:] == [429, 429]
    assert requests.get(url, auth=("olivia", "olivia-pw"), timeout=10).status_code == 429


def test_anonymous_viewing_can_be_switched_off(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_rexmon_server(anonymous="none")
    assert requests.get(f"{server.url}/downtimes", timeout=10).status_code == 401
    assert session("victor").get(f"{server.url}/downtimes", timeout=10).status_code == 200


def test_the_form_files_a_downtime_with_csrf_and_escapes_what_people_wrote(
    rexmon_server: RexmonServer,
) -> None:
    http = session("olivia")
    form = http.get(f"{rexmon_server.url}/downtimes/new", timeout=10)
    assert form.status_code == 200
    token = csrf_of(form.text)
    evil = "<script>alert(1)</script>"
    fields = {
        "scopes": "host.node01_*.*",
        "start": "now",
        "duration": "2h",
        "reason": f"disk swap {evil}",
        "kind": "planned",
        "csrf_token": token,
    }
    no_token = http.post(
        f"{rexmon_server.url}/downtimes/new",
        data={k: v for k, v in fields.items() if k != "csrf_token"},
        timeout=10,
    )
    assert no_token.status_code == 400 and "CSRF" in no_token.text
    forged = http.post(
        f"{rexmon_server.url}/downtimes/new", data={**fields, "csrf_token": "forged"}, timeout=10
    )
    assert forged.status_code == 400
    saved = http.post(
        f"{rexmon_server.url}/downtimes/new", data=fields, timeout=10, allow_redirects=False
    )
    assert saved.status_code == 302
    page = http.get(rexmon_server.url + saved.headers["Location"], timeout=10).text
    assert evil not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "matches no metric" in page
    listing = http.get(f"{rexmon_server.url}/downtimes", timeout=10).text
    assert evil not in listing and "host.node01_*.*" in listing


def test_the_form_shows_errors_next_to_the_fields_and_previews_matches(
    rexmon_server: RexmonServer,
) -> None:
    now = int(time.time())
    requests.post(
        f"{rexmon_server.url}/api/v1/samples",
        json={"samples": [{"metric": "host.node01_x.cpu.user", "time": now, "value": 1}]},
        headers={"Authorization": f"Bearer {rexmon_server.token}"},
        timeout=10,
    )
    http = session("olivia")
    token = csrf_of(http.get(f"{rexmon_server.url}/downtimes/new", timeout=10).text)
    bad = http.post(
        f"{rexmon_server.url}/downtimes/new",
        timeout=10,
        data={"scopes": "", "start": "+2h", "end": "+1h", "reason": "", "csrf_token": token},
    )
    assert bad.status_code == 400
    assert 'id="scopes-error"' in bad.text and 'id="reason-error"' in bad.text
    backwards = http.post(
        f"{rexmon_server.url}/downtimes/new",
        timeout=10,
        data={"scopes": "host.*", "start": "+2h", "end": "+1h", "reason": "r", "csrf_token": token},
    )
    assert 'id="end-error"' in backwards.text and "end must be after" in backwards.text
    preview = http.post(
        f"{rexmon_server.url}/downtimes/new",
        timeout=10,
        data={
            "scopes": "host.node01_*",
            "duration": "1h",
            "reason": "r",
            "csrf_token": token,
            "action": "preview",
        },
    )
    assert preview.status_code == 200
    assert "host.node01_x.cpu.user" in preview.text
    assert session("olivia").get(f"{rexmon_server.url}/api/v1/downtimes", timeout=10).json() == {
        "downtimes": []
    }


def test_end_and_cancel_buttons_and_the_ics_feed(rexmon_server: RexmonServer) -> None:
    http, url = api(rexmon_server, "olivia")
    downtime = http.post(
        url, json={"scopes": ["svc.*"], "start": "-1m", "duration": "1h", "reason": "x"}, timeout=10
    ).json()
    page = http.get(f"{rexmon_server.url}/downtimes/{downtime['id']}", timeout=10)
    token = csrf_of(page.text)
    ended = http.post(
        f"{rexmon_server.url}/downtimes/{downtime['id']}/end",
        data={"csrf_token": token},
        timeout=10,
    )
    assert ended.status_code == 200 and "ended" in ended.text
    asked = http.post(
        f"{rexmon_server.url}/downtimes/{downtime['id']}/cancel",
        data={"csrf_token": token},
        timeout=10,
    )
    assert asked.status_code == 200 and "cannot be undone" in asked.text
    assert http.get(f"{url}/{downtime['id']}", timeout=10).json()["cancelled"] is None
    cancelled = http.post(
        f"{rexmon_server.url}/downtimes/{downtime['id']}/cancel",
        data={"csrf_token": token, "confirm": "yes"},
        timeout=10,
    )
    assert "cancelled" in cancelled.text
    assert http.get(f"{url}/{downtime['id']}", timeout=10).json()["cancelled"] is not None
    viewer = session("victor")
    refused = viewer.post(
        f"{rexmon_server.url}/downtimes/{downtime['id']}/cancel",
        data={"csrf_token": token, "confirm": "yes"},
        timeout=10,
    )
    assert refused.status_code in (400, 403)
    feed = http.get(f"{rexmon_server.url}/downtimes.ics", timeout=10)
    assert feed.headers["Content-Type"].startswith("text/calendar")
    assert feed.text.startswith("BEGIN:VCALENDAR")


def test_an_open_flexible_window_waits_for_a_problem_on_the_pages_and_in_the_api(
    rexmon_server: RexmonServer,
) -> None:
    http, url = api(rexmon_server, "olivia")
    filed = http.post(
        url,
        json={
            "scopes": ["host.node01_*.*"],
            "start": "-1m",
            "end": "+30m",
            "flexible": True,
            "flex_duration": "20m",
            "reason": "firmware, only if it breaks",
        },
        timeout=10,
    )
    assert filed.status_code == 201, filed.text
    assert filed.json()["waiting_for_problem"] is True
    page = http.get(f"{rexmon_server.url}/downtimes?state=upcoming", timeout=10).text
    assert "window open, waiting for a problem" in page


def test_the_history_on_the_page_shows_times_not_unix_seconds(rexmon_server: RexmonServer) -> None:
    http, url = api(rexmon_server, "olivia")
    filed = http.post(
        url, json={"scopes": ["a.*"], "start": "+1h", "duration": "1h", "reason": "r"}, timeout=10
    ).json()
    moved = http.patch(f"{url}/{filed['id']}", json={"start": "+2h", "end": "+3h"}, timeout=10)
    assert moved.status_code == 200, moved.text
    page = http.get(f"{rexmon_server.url}/downtimes/{filed['id']}", timeout=10).text
    history = page.split('<h2 id="history">History')[1]
    assert "(times in UTC)" in history
    assert "<code>start</code>: " in history
    assert not re.search(r"\b1[0-9]{9}\b", history), history


def test_an_ambiguous_scope_glob_is_refused_with_400_and_the_reason(
    rexmon_server: RexmonServer,
) -> None:
    dana, url = api(rexmon_server, "dana")
    body = {"scopes": ["[z-a!]" * 7 + "*"], "duration": "1h", "reason": "x"}
    refused = dana.post(url, json=body, timeout=10)
    assert refused.status_code == 400, refused.text
    assert "range z-a" in refused.json()["errors"]["scopes"]
    listed = dana.get(url, params={"scope": "[]-[!]*"}, timeout=10)
    assert listed.status_code == 400 and "class" in listed.text


@contextmanager
def immutable(path: Path) -> Iterator[None]:
    """Read-only even for root (tests run as root, which ignores chmod): ``chattr +i``."""
    subprocess.run(["chattr", "+i", str(path)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", str(path)], check=True)


def test_writes_recover_without_a_restart_once_a_read_only_database_is_writable_again(
    rexmon_server: RexmonServer,
) -> None:
    database = rexmon_server.config_path.parent / "rexmon.db"
    setup = open_database(f"sqlite:///{database}")
    DowntimeStore(setup).migrate()
    migrate_limits(setup)  # what the server does when it opens the database
    setup.dispose()
    http, url = api(rexmon_server, "olivia")
    body = {"scopes": ["host.node01.*"], "duration": "1h", "reason": "disk swap"}
    with immutable(database):
        # the worker opens the file while it is read-only: SQLite opens it read-only.
        # (Anonymous: a password check records the attempt first, and fails closed.)
        assert requests.get(url, timeout=10).status_code == 200
        assert http.get(url, timeout=10).status_code == 503
        refused = http.post(url, json=body, timeout=10)
        assert refused.status_code == 503, refused.text
        assert refused.headers["Retry-After"]
    filed = http.post(url, json=body, timeout=10)
    assert filed.status_code == 201, filed.text
    assert [d["id"] for d in http.get(url, timeout=10).json()["downtimes"]] == [filed.json()["id"]]


def test_the_ics_uids_come_from_the_sites_url_not_the_host_header(
    rexmon_server: RexmonServer,
) -> None:
    http, url = api(rexmon_server, "olivia")
    http.post(url, json={"scopes": ["a.*"], "duration": "1h", "reason": "r"}, timeout=10)
    feeds = [
        http.get(f"{rexmon_server.url}/downtimes.ics", headers={"Host": host}, timeout=10).text
        for host in ("rexmon.example.org", "10.1.2.3:8080")
    ]
    uids = [[line for line in feed.splitlines() if line.startswith("UID:")] for feed in feeds]
    assert uids[0] == uids[1] and len(uids[0]) == 1
    assert uids[0][0].endswith("@127.0.0.1")  # the fixture's site.base_url
