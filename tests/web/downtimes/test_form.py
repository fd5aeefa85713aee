"""The downtime form as an operator uses it: one pass of errors, end or duration,
broken globs refused, the resolved times, and a confirmation before cancelling."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from tests.fixtures_server import RexmonServer
from tests.web.downtimes.test_downtimes import api, csrf_of, session

# 2026-03-17 10:00 in Zurich (CET, +01:00)
NOW = int(datetime(2026, 3, 17, 10, 0, tzinfo=ZoneInfo("Europe/Zurich")).timestamp())


def zurich(config: dict[str, Any], _directory: object) -> None:
    config["site"] = {"timezone": "Europe/Zurich", "name": "test site"}


def make_zurich(make_rexmon_server: Callable[..., RexmonServer]) -> RexmonServer:
    return make_rexmon_server(clock=lambda: NOW, edit=zurich)


def post_form(server: RexmonServer, **fields: str) -> requests.Response:
    http = session("olivia")
    token = csrf_of(http.get(f"{server.url}/downtimes/new", timeout=10).text)
    return http.post(f"{server.url}/downtimes/new", data=fields | {"csrf_token": token}, timeout=10)


def test_the_new_form_pre_fills_no_duration(rexmon_server: RexmonServer) -> None:
    page = session("olivia").get(f"{rexmon_server.url}/downtimes/new", timeout=10).text
    assert re.search(r'id="duration" name="duration" value=""', page), page
    assert re.search(r'id="end" name="end" value=""', page)


def test_every_field_error_shows_at_once_next_to_its_field_and_in_a_summary(
    rexmon_server: RexmonServer,
) -> None:
    page = post_form(
        rexmon_server, scopes="host.node1[5-6.*\nhost..cpu", start="soon", end="", reason=""
    )
    assert page.status_code == 400
    for field in ("scopes", "start", "end", "reason"):
        assert f'id="{field}-error"' in page.text, field
        assert f'<a href="#{field}">' in page.text, field
    assert "4 problems to correct" in page.text
    assert "is never closed" in page.text and "can never match a metric id" in page.text
    assert "matches no metric" not in page.text  # an error, not a warning


def test_a_broken_glob_alone_is_an_error_and_nothing_is_filed(
    rexmon_server: RexmonServer,
) -> None:
    page = post_form(rexmon_server, scopes="host.node1[5-6.*", duration="1h", reason="disk swap")
    assert page.status_code == 400 and 'id="scopes-error"' in page.text
    http, url = api(rexmon_server, "olivia")
    assert http.get(url, params={"state": "all"}, timeout=10).json()["downtimes"] == []


def test_an_end_and_a_duration_that_disagree_are_refused_with_both_readings(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_zurich(make_rexmon_server)
    page = post_form(server, scopes="host.*", start="12:00", end="14:00", duration="3h", reason="r")
    assert page.status_code == 400
    assert "not both" in page.text
    assert "2026-03-17T14:00:00+01:00" in page.text and "2026-03-17T15:00:00+01:00" in page.text
    agreeing = post_form(
        server, scopes="host.*", start="12:00", end="14:00", duration="2h", reason="r"
    )
    assert agreeing.status_code == 200 and "Downtime 1 filed" in agreeing.text


def test_the_preview_shows_the_resolved_times_in_the_site_zone(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_zurich(make_rexmon_server)
    page = post_form(
        server,
        scopes="host.*",
        start="tomorrow 08:00",
        duration="90m",
        reason="r",
        action="preview",
    )
    assert page.status_code == 200
    assert "Wed 2026-03-18 08:00 CET" in page.text and "Wed 2026-03-18 09:30 CET" in page.text


def test_the_resolve_endpoint_reads_times_as_the_form_will(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_zurich(make_rexmon_server)
    http = session("olivia")
    url = f"{server.url}/api/v1/downtimes/resolve"
    ok = http.get(url, params={"start": "now", "end": "tomorrow 12:00"}, timeout=10).json()
    assert ok["start"] == NOW and ok["end"] == NOW + 26 * 3600
    assert ok["end_text"] == "Wed 2026-03-18 12:00 CET" and ok["zone"] == "Europe/Zurich"
    assert ok["length"] == "1d2h" and ok["errors"] == {}
    bad = http.get(url, params={"start": "nope", "duration": "1h"}, timeout=10).json()
    assert "cannot read time" in bad["errors"]["start"]


def test_an_edit_with_a_typed_duration_replaces_the_end_the_form_showed(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_zurich(make_rexmon_server)
    http, url = api(server, "olivia")
    filed = http.post(
        url, json={"scopes": ["a.*"], "start": "+1h", "duration": "1h", "reason": "r"}, timeout=10
    ).json()
    form = http.get(f"{server.url}/downtimes/{filed['id']}/edit", timeout=10).text
    fields = dict(re.findall(r'<input id="(start|end)" name="\1" value="([^"]*)"', form))
    saved = http.post(
        f"{server.url}/downtimes/{filed['id']}/edit",
        data={"scopes": "a.*", "reason": "r", "kind": "planned", "duration": "3h"}
        | fields
        | {"csrf_token": csrf_of(form)},
        timeout=10,
    )
    assert saved.status_code == 200, saved.text
    shown = http.get(f"{url}/{filed['id']}", timeout=10).json()
    assert shown["end"] - shown["start"] == 3 * 3600


def test_cancel_asks_first_and_only_the_confirmation_cancels(rexmon_server: RexmonServer) -> None:
    http, url = api(rexmon_server, "olivia")
    filed = http.post(
        url, json={"scopes": ["svc.*"], "start": "+1h", "duration": "1h", "reason": "x"}, timeout=10
    ).json()
    page = http.get(f"{rexmon_server.url}/downtimes/{filed['id']}", timeout=10).text
    assert f'href="/downtimes/{filed["id"]}/cancel"' in page
    ask = http.get(f"{rexmon_server.url}/downtimes/{filed['id']}/cancel", timeout=10)
    assert ask.status_code == 200 and "Yes, cancel downtime" in ask.text
    assert 'name="csrf_token"' in ask.text and 'name="confirm" value="yes"' in ask.text
    assert http.get(f"{url}/{filed['id']}", timeout=10).json()["cancelled"] is None
    no_token = http.post(
        f"{rexmon_server.url}/downtimes/{filed['id']}/cancel", data={"confirm": "yes"}, timeout=10
    )
    assert no_token.status_code == 400
    done = http.post(
        f"{rexmon_server.url}/downtimes/{filed['id']}/cancel",
        data={"confirm": "yes", "csrf_token": csrf_of(ask.text)},
        timeout=10,
    )
    assert done.status_code == 200 and f"Downtime {filed['id']} cancelled" in done.text
