from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Callable
from typing import Any

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from alarmd.alarmstate import AlarmState, Severity
from alarmd.statestore import AlarmStore
from tests.fixtures_server import RexmonServer
from tests.web.monitored import csrf_of, login, push_history, set_alarm

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
    two_hours_ago = time.time() - 7200  # as if nothing had written it since
    os.utime(server.archive_root / "svc" / "web.rrd", (two_hours_ago, two_hours_ago))
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


def detail(server: RexmonServer, query: str = "") -> dict[str, Any]:
    answer = requests.get(f"{server.url}/api/v1/status?detail=1{query}", timeout=30)
    assert answer.status_code == 200, answer.text
    data: dict[str, Any] = answer.json()
    return data


def problem_rows(page: str) -> list[tuple[str, str]]:
    """(metric, status) of the problem list's rows, in order."""
    return re.findall(r'<tr data-metric="([^"]+)" data-status="([^"]+)">', page)


def tiles(page: str) -> dict[str, tuple[str, str]]:
    """host path -> (tile class, the state text on the tile)."""
    found = re.findall(
        r'<li class="tile ([^"]+)" data-host="([^"]+)"><a href="[^"]+" title="[^"]+">'
        r'<span class="tile-name">[^<]+</span> <abbr class="tile-state" title="[^"]+">([^<]+)<',
        page,
    )
    return {host: (kind, text) for kind, host, text in found}


def test_the_problem_list_comes_worst_first_with_since_value_threshold_and_downtime(
    server: RexmonServer, site: int
) -> None:
    page = requests.get(f"{server.url}/", timeout=30)
    assert page.status_code == 200
    assert problem_rows(page.text) == [
        (N1_DISK, "critical"),
        ("svc.web", "stale"),
        (N3_DISK, "in-downtime"),
    ]
    row = re.search(rf'<tr data-metric="{re.escape(N1_DISK)}".*?</tr>', page.text, re.S)
    assert row is not None
    assert f'href="/metric/{N1_DISK}"' in row.group(0) and 'href="/hosts/n1"' in row.group(0)
    assert "0.99" in row.group(0) and "disk-full: &gt; 0.95" in row.group(0)
    assert re.search(r'data-role="since">\d{4}-\d\d-\d\d \d\d:\d\d \w+<', row.group(0))
    downtime = re.search(rf'<tr data-metric="{re.escape(N3_DISK)}".*?</tr>', page.text, re.S)
    assert downtime is not None and "disk swap" in downtime.group(0)
    assert re.search(r'<h1>Status <span class="badge critical"', page.text)
    counts = dict(re.findall(r'data-count="([^"]+)">.*?data-role="count">(\d+)<', page.text))
    assert counts == {
        "critical": "1",
        "warning": "0",
        "stale": "1",
        "acknowledged": "0",
        "in-downtime": "1",
        "ok": "1",
        "not-checked": "1",
    }


def test_the_overview_shows_each_host_as_a_tile_with_its_worst_state_in_text(
    server: RexmonServer, site: int
) -> None:
    page = requests.get(f"{server.url}/", timeout=30).text
    shown = tiles(page)
    assert shown["host.n1"] == ("critical", "C")
    assert shown["host.n2"] == ("ok", "ok")  # a checked OK metric beats a not-checked one
    assert shown["host.n3"] == ("in-downtime", "dt")
    assert shown["svc.web"] == ("stale", "old")
    assert 'href="/hosts/n1" title="host.n1: CRITICAL — 1 critical; rating 0.00"' in page
    # categories worst first
    assert page.index('data-group="host"') < page.index('data-group="svc"')


def test_a_metric_no_rule_checks_is_not_checked_not_ok(server: RexmonServer, site: int) -> None:
    data = detail(server)
    assert data["metrics"][N2_LOAD]["status"] == "not-checked"
    assert data["metrics"][N2_LOAD]["rating"] is None
    assert data["metrics"][N2_DISK]["status"] == "ok"
    host = requests.get(f"{server.url}/hosts/n2", timeout=30).text
    assert re.search(
        rf'data-metric="{re.escape(N2_LOAD)}">\s*<td><span class="badge not-checked"', host
    )


def test_a_group_showing_critical_rates_low_whatever_the_page_filters(
    server: RexmonServer, site: int
) -> None:
    groups = detail(server)["groups"]
    assert groups["host.n1"]["rating"] == 0.0
    assert groups["host.n2"]["rating"] == 1.0  # the not-checked load metric is left out
    assert groups["host.n3"]["rating"] is None
    assert groups["host"]["status"] == "critical" and groups["host"]["rating"] == 0.49
    assert groups["svc"]["rating"] is None
    filtered = detail(server, "&q=n2")["groups"]
    assert filtered["host"]["rating"] == 0.49 and filtered["host.n2"]["rating"] == 1.0
    assert set(filtered) == {"host", "host.n2"}
    page = requests.get(f"{server.url}/", timeout=30).text
    assert 'id="rating-text">Rating: the share of checked metrics' in page


def test_an_acknowledged_alarm_moves_below_stale_and_says_who_and_why(
    server: RexmonServer, site: int
) -> None:
    acked = login("olivia").post(
        f"{server.url}/api/v1/alarms/ack",
        json={"rule": "disk-full", "metric": N1_DISK, "comment": "swapping the disk"},
        timeout=10,
    )
    assert acked.status_code == 200, acked.text
    page = requests.get(f"{server.url}/", timeout=30).text
    assert problem_rows(page) == [
        ("svc.web", "stale"),
        (N1_DISK, "acknowledged"),
        (N3_DISK, "in-downtime"),
    ]
    assert "acknowledged by olivia: “swapping the disk”" in page


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
    assert [p["metric"] for p in everything["problems"]] == [N1_DISK, "svc.web", N3_DISK]
    assert [g["name"] for g in everything["overview"]] == ["host", "svc"]
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
    assert set(tiles(by_text)) == {"host.n2"} and problem_rows(by_text) == []
    by_glob = requests.get(f"{server.url}/?q=host.n*.disk.*", timeout=30).text
    assert set(tiles(by_glob)) == {"host.n1", "host.n2", "host.n3"}
    problems = requests.get(f"{server.url}/?problems=1", timeout=30).text
    assert set(tiles(problems)) == {"host.n1", "host.n3", "svc.web"}
    hostile = requests.get(f"{server.url}/?q=%3Cscript%3Ealert(1)%3C/script%3E", timeout=30)
    assert hostile.status_code == 400 and "<script>alert" not in hostile.text


def test_without_javascript_the_page_says_how_it_refreshes(server: RexmonServer, site: int) -> None:
    page = requests.get(f"{server.url}/?refresh=45", timeout=30).text
    noscript = re.search(r"<noscript>(.*?)</noscript>", page, re.S)
    assert noscript is not None and '<meta http-equiv="refresh" content="45">' in noscript.group(1)
    assert '<span class="js-only" hidden>Refreshed every 45 s' in page
    assert "/static/status.js" in page
    assert requests.get(f"{server.url}/static/status.js", timeout=30).status_code == 200


def test_the_host_page_lists_metrics_alarms_downtimes_and_a_history_strip(
    server: RexmonServer, site: int
) -> None:
    push_history(server, "host.n3.load.1m", [float(i % 7) for i in range(120)])
    page = requests.get(f"{server.url}/hosts/n3", timeout=30)
    assert page.status_code == 200
    assert f'data-metric="{N3_DISK}"' in page.text
    assert re.search(
        r'data-metric="host.n3.load.1m">.*?<polyline points="[0-9., ]+"', page.text, re.S
    )
    assert f'data-alarm="disk-full:{N3_DISK}"' in page.text
    assert "disk swap" in page.text
    assert page.text.count('<ol class="strip"') == 2
    assert 'class="in-downtime" title=' in page.text  # the silenced alarm, now
    assert 'id="checks"' not in page.text  # no check results passed yet
    operator = login("olivia").get(f"{server.url}/hosts/n1", timeout=30).text
    assert 'href="/downtimes/new?scope=host.n1.*"' in operator
    assert "Acknowledge</button>" in operator
    assert "Acknowledge</button>" not in requests.get(f"{server.url}/hosts/n1", timeout=30).text
    for unknown in ("/hosts/nosuch", "/hosts/bad%20name", "/hosts/a..b", "/hosts/-x"):
        assert requests.get(server.url + unknown, timeout=30).status_code == 404, unknown


def test_the_overview_counts_every_metric_with_no_cap(server: RexmonServer, site: int) -> None:
    template = server.archive_root / "host" / "n1" / "disk" / "root" / "used_ratio.rrd"
    for number in range(3000):
        target = server.archive_root / "farm" / f"wn{number // 30:03d}" / f"m{number % 30}.rrd"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
    data = requests.get(f"{server.url}/api/v1/status?scope=farm.*", timeout=60).json()
    assert data["metrics_total"] == 3000 and data["truncated"] is False
    (farm,) = data["overview"]
    assert farm["count"] == 3000 and len(farm["hosts"]) == 100
    assert farm["counts"] == {"not-checked": 3000}
    page = requests.get(f"{server.url}/?q=farm.*", timeout=60).text
    assert len(tiles(page)) == 100 and "3000 metrics" in page


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


def test_with_rrdcached_a_file_not_written_for_long_is_stale_only_if_rrdcached_holds_nothing_newer(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_rexmon_server(with_rrdcached=True)
    fresh, idle = "host.n1.cpu.user_ratio", "host.n2.cpu.user_ratio"
    push_history(server, fresh, [0.5] * 3)  # the updates stay in rrdcached (-w 3600)
    push_history(server, idle, [0.5] * 3, now=int(time.time()) - 7200)
    two_hours_ago = time.time() - 7200  # neither file written since, as on disk
    for metric in (fresh, idle):
        path = server.archive_root.joinpath(*metric.split(".")).with_suffix(".rrd")
        os.utime(path, (two_hours_ago, two_hours_ago))
    metrics = detail(server)["metrics"]
    assert metrics[fresh]["status"] == "not-checked"  # rrdcached has its recent updates
    assert metrics[idle]["status"] == "stale"


def test_acknowledging_from_a_host_page_comes_back_to_it_and_never_leaves_the_site(
    server: RexmonServer, site: int
) -> None:
    http = login("olivia")
    page = http.get(f"{server.url}/hosts/n1", timeout=30).text
    assert 'name="next" value="/hosts/n1"' in page
    form = {"rule": "disk-full", "metric": N1_DISK, "csrf_token": csrf_of(page)}
    back = http.post(
        f"{server.url}/alarms/ack",
        data=form | {"next": "/hosts/n1"},
        allow_redirects=False,
        timeout=10,
    )
    assert back.status_code == 302 and back.headers["Location"] == "/hosts/n1"
    away = http.post(
        f"{server.url}/alarms/ack",
        data=form | {"next": "//evil.example.org/"},
        allow_redirects=False,
        timeout=10,
    )
    assert away.headers["Location"] == "/"
