from __future__ import annotations

import re
import time

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from alarmd.alarmstate import AlarmState, Severity
from alarmd.statestore import AlarmStore
from tests.fixtures_server import RexmonServer
from tests.web.monitored import login, push_history, set_alarm

N1_DISK = "host.n1.disk.root.used_ratio"
N2_DISK = "host.n2.disk.root.used_ratio"
N3_DISK = "host.n3.disk.root.used_ratio"
N2_LOAD = "host.n2.load.5m"


@pytest.fixture
def site(server: RexmonServer, alarms: AlarmStore) -> int:
    """n1 critical, n2 fine (one metric without alarm state), n3 in a planned downtime
    with a silenced alarm, svc.web stale."""
    last = 0
    for metric in (N1_DISK, N2_DISK, N3_DISK, N2_LOAD):
        last = push_history(server, metric, [0.5] * 5)
    push_history(server, "svc.web", [1.0] * 3, now=int(time.time()) - 7200)
    set_alarm(
        alarms,
        "disk-full",
        N1_DISK,
        AlarmState.FIRING,
        at=last,
        severity=Severity.CRITICAL,
        value=0.99,
    )
    set_alarm(alarms, "disk-full", N2_DISK, AlarmState.OK, at=last)
    set_alarm(
        alarms,
        "disk-full",
        N3_DISK,
        AlarmState.FIRING,
        at=last,
        severity=Severity.WARNING,
        value=0.9,
        muted=True,
    )
    filed = login("olivia").post(
        f"{server.url}/api/v1/downtimes",
        json={"scopes": ["host.n3.*"], "start": "-1h", "duration": "4h", "reason": "disk swap"},
        timeout=10,
    )
    assert filed.status_code == 201
    return last


def statuses(page: str) -> dict[str, str]:
    """metric or group path -> the status label shown next to it."""
    found = dict(
        re.findall(
            r'data-metric="([^"]+)">\s*<td><span class="badge [^"]+" '
            r'data-role="status">([^<]+)<',
            page,
        )
    )
    found |= dict(
        re.findall(
            r'data-group="([^"]+)"[^>]*>\s*<summary><span class="badge [^"]+" '
            r'data-role="status">([^<]+)<',
            page,
        )
    )
    return found


def test_the_status_page_rolls_the_worst_state_up_the_hierarchy(
    server: RexmonServer, site: int
) -> None:
    page = requests.get(f"{server.url}/", timeout=30)
    assert page.status_code == 200
    shown = statuses(page.text)
    assert shown[N1_DISK] == "CRITICAL" and shown["host.n1"] == "CRITICAL"
    assert shown[N2_DISK] == "OK" and shown[N2_LOAD] == "OK" and shown["host.n2"] == "OK"
    assert shown[N3_DISK] == "IN DOWNTIME" and shown["host.n3"] == "IN DOWNTIME"
    assert shown["host"] == "CRITICAL"
    assert shown["svc.web"] == "STALE" and shown["svc"] == "STALE"
    assert re.search(r"<h1>Status <span class=\"badge critical\"", page.text)
    # problems first: the critical host before the downtime, before the fine one
    assert page.text.index('data-group="host.n1"') < page.text.index('data-group="host.n3"')
    assert page.text.index('data-group="host.n3"') < page.text.index('data-group="host.n2"')
    counts = dict(re.findall(r'data-count="([^"]+)">.*?data-role="count">(\d+)<', page.text))
    assert counts == {
        "critical": "1",
        "warning": "0",
        "stale": "1",
        "in-downtime": "1",
        "ok": "2",
        "no-information": "3",
    }


def test_groups_are_rated_from_0_to_1_and_say_when_there_is_no_information(
    server: RexmonServer, site: int
) -> None:
    data = requests.get(f"{server.url}/api/v1/status?detail=1", timeout=30).json()
    groups = data["groups"]
    assert groups["host.n1"]["rating"] == 0.0
    assert groups["host.n2"]["rating"] == 1.0  # the load metric has no information
    assert groups["host.n3"]["rating"] is None
    assert groups["host"]["rating"] == 0.5
    assert groups["svc"]["rating"] is None
    page = requests.get(f"{server.url}/", timeout=30).text
    assert re.search(
        r'data-group="svc".*?rating <span data-role="rating">no information<', page, re.S
    )
    assert data["metrics"][N1_DISK]["last_value"] == 0.5


def test_the_status_api_gives_the_worst_state_in_scope_and_the_alarms_behind_it(
    server: RexmonServer, site: int
) -> None:
    everything = requests.get(f"{server.url}/api/v1/status", timeout=30).json()
    assert everything["state"] == "critical"
    assert [(a["metric"], a["state"]) for a in everything["alarms"]] == [
        (N1_DISK, "firing"),
        (N3_DISK, "silenced"),
    ]
    assert everything["alarms"][0]["graph"] == f"/metric/{N1_DISK}"
    n3 = requests.get(f"{server.url}/api/v1/status?scope=host.n3.*", timeout=30).json()
    assert n3["state"] == "in-downtime" and n3["rating"] is None
    n2 = requests.get(f"{server.url}/api/v1/status?scope=host.n2.*", timeout=30).json()
    assert n2["state"] == "ok" and n2["alarms"] == [] and n2["rating"] == 1.0
    bad = requests.get(f"{server.url}/api/v1/status?scope=host/../x", timeout=30)
    assert bad.status_code == 400 and "glob" in bad.json()["error"]


def test_search_and_problems_only_filter_the_page_without_javascript(
    server: RexmonServer, site: int
) -> None:
    by_text = requests.get(f"{server.url}/?q=n2", timeout=30).text
    assert set(statuses(by_text)) == {N2_DISK, N2_LOAD, "host.n2", "host"}
    by_glob = requests.get(f"{server.url}/?q=host.n*.disk.*", timeout=30).text
    assert set(statuses(by_glob)) >= {N1_DISK, N2_DISK, N3_DISK}
    assert N2_LOAD not in statuses(by_glob)
    problems = requests.get(f"{server.url}/?problems=1", timeout=30).text
    assert set(statuses(problems)) == {N1_DISK, "svc.web", "host.n1", "host", "svc"}
    hostile = requests.get(f"{server.url}/?q=%3Cscript%3Ealert(1)%3C/script%3E", timeout=30)
    assert hostile.status_code == 400 and "<script>alert" not in hostile.text


def test_the_page_refreshes_from_the_json_endpoint(server: RexmonServer, site: int) -> None:
    page = requests.get(f"{server.url}/?q=n1", timeout=30).text
    api = re.search(r'data-api="([^"]+)"', page)
    assert api is not None and "/static/status.js" in page
    data = requests.get(server.url + api.group(1).replace("&amp;", "&"), timeout=30).json()
    assert set(data["metrics"]) == {N1_DISK}
    assert data["metrics"][N1_DISK]["status"] == "critical"
    assert requests.get(f"{server.url}/static/status.js", timeout=30).status_code == 200


def test_metrics_exposes_requests_samples_write_latency_and_alarms(
    server: RexmonServer, site: int
) -> None:
    answer = requests.post(
        f"{server.url}/api/v1/samples",
        timeout=10,
        headers={"Authorization": f"Bearer {server.token}"},
        json={"samples": [{"metric": "bad name", "time": 1, "value": 1}]},
    )
    assert answer.json()["accepted"] == 0
    text = requests.get(f"{server.url}/metrics", timeout=30)
    assert text.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    families = {f.name: f for f in text_string_to_metric_families(text.text)}
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for f in families.values()
        for s in f.samples
    }
    assert samples[("rexmon_samples_accepted_total", ())] >= 20
    assert samples[("rexmon_samples_rejected_total", ())] == 1
    assert samples[("rexmon_archive_write_seconds_count", ())] >= 5
    assert samples[("rexmon_http_requests_total", (("method", "POST"), ("status", "201")))] == 1
    assert samples[("rexmon_alarms", (("state", "firing"),))] == 1
    assert samples[("rexmon_alarms", (("state", "silenced"),))] == 1
    assert samples[("rexmon_alarms", (("state", "ok"),))] == 1
    assert ("rexmon_notifications_pending", ()) in samples
