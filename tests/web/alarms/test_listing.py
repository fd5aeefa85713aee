"""The alarms page as on-call staff read it: worst first, filtered, with the downtime
that covers an alarm, refreshing honestly, and Acknowledge reachable on a phone."""

from __future__ import annotations

import re
import time

from alarmd.alarmstate import AlarmState, Severity
from alarmd.statestore import AlarmStore
from tests.fixtures_server import RexmonServer
from tests.web.monitored import login, set_alarm


def problems(alarms: AlarmStore, now: float) -> None:
    """One alarm of each kind, stored in the order least to most urgent."""
    set_alarm(alarms, "load-high", "host.s1.load.one", AlarmState.STALE, at=now - 50)
    set_alarm(
        alarms,
        "disk-full",
        "host.w1.disk.root.used_ratio",
        AlarmState.FIRING,
        at=now - 40,
        severity=Severity.WARNING,
    )
    set_alarm(
        alarms,
        "disk-full",
        "host.c1.disk.root.used_ratio",
        AlarmState.FIRING,
        at=now - 10,
        severity=Severity.CRITICAL,
        value=0.99,
    )
    set_alarm(alarms, "load-high", "host.p1.load.one", AlarmState.PENDING, at=now - 5)


def firing_rows(page: str) -> list[str]:
    firing = re.search(r'<section id="firing">(.*?)</section>', page, re.S)
    assert firing
    return re.findall(r'data-alarm="[^:]+:host\.([a-z0-9]+)\.', firing.group(1))


def test_critical_comes_before_warning_before_stale(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    problems(alarms, time.time())
    page = login("victor").get(f"{server.url}/alarms", timeout=10).text
    assert firing_rows(page) == ["c1", "w1", "s1"]
    listed = login("victor").get(f"{server.url}/api/v1/alarms", timeout=10).json()
    assert [a["metric"].split(".")[1] for a in listed["firing"]] == ["c1", "w1", "s1"]


def test_the_filter_by_state_rule_and_host_works_from_the_query_string(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    problems(alarms, time.time())
    http = login("victor")
    critical = http.get(f"{server.url}/alarms", params={"state": "critical"}, timeout=10).text
    assert firing_rows(critical) == ["c1"]
    assert '<option value="critical" selected>' in critical and "showing 1 of 4" in critical
    by_rule = http.get(f"{server.url}/alarms", params={"rule": "load-high"}, timeout=10).text
    assert firing_rows(by_rule) == ["s1"] and "host.p1.load.one" in by_rule
    by_host = http.get(f"{server.url}/alarms", params={"host": "w*"}, timeout=10).text
    assert firing_rows(by_host) == ["w1"]
    as_json = http.get(f"{server.url}/api/v1/alarms", params={"state": "stale"}, timeout=10).json()
    assert [a["metric"] for a in as_json["firing"]] == ["host.s1.load.one"]
    nonsense = http.get(f"{server.url}/alarms", params={"state": "x", "host": "a[b"}, timeout=10)
    assert nonsense.status_code == 200 and "is not a host name or glob" in nonsense.text


def test_an_alarm_shows_the_downtime_that_covers_it(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    now = time.time()
    problems(alarms, now)
    filed = login("olivia").post(
        f"{server.url}/api/v1/downtimes",
        json={"scopes": ["host.w1.*"], "start": "-1m", "duration": "2h", "reason": "disk swap"},
        timeout=10,
    )
    assert filed.status_code == 201, filed.text
    downtime = filed.json()
    page = login("victor").get(f"{server.url}/alarms", timeout=10).text
    row = re.search(r'data-alarm="disk-full:host.w1[^"]*">(.*?)</tr>', page, re.S)
    assert row and f'href="/downtimes/{downtime["id"]}"' in row.group(1)
    assert "disk swap" in row.group(1) and "until " in row.group(1)
    listed = login("victor").get(f"{server.url}/api/v1/alarms", timeout=10).json()
    covered = {a["metric"]: a["downtimes"] for a in listed["firing"]}
    assert covered["host.w1.disk.root.used_ratio"] == [
        {"id": downtime["id"], "kind": "planned", "reason": "disk swap", "until": downtime["end"]}
    ]
    assert covered["host.c1.disk.root.used_ratio"] == []


def test_the_page_says_how_it_refreshes_with_and_without_javascript(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    page = login("victor").get(f"{server.url}/alarms", timeout=10).text
    assert 'data-refresh="30"' in page and "alarms.js" in page
    noscript = re.search(r"<noscript>(.*?)</noscript>", page, re.S)
    assert noscript and "reload it" in noscript.group(1)
    # the "refreshed every" claim is hidden until the script shows it
    assert re.search(r'<span id="alarms-refresh" hidden>; refreshed every 30 s', page)
