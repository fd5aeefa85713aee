from __future__ import annotations

import re
import time
from dataclasses import replace

import pytest
import requests

from alarmd.alarmstate import AlarmState, Severity
from alarmd.outbox import NotificationRow, Outcome
from alarmd.statestore import AlarmStore, Change
from tests.fixtures_server import RexmonServer
from tests.web.monitored import csrf_of, login, set_alarm

DISK = "host.n1.disk.root.used_ratio"
DCACHE = "dcache.pool1.disk.data.used_ratio"
RULES = """
rules:
  - name: disk-full
    match: "*.disk.*.used_ratio"
    warning: "> 0.85"
    critical: "> 0.95"
"""


@pytest.fixture
def rules() -> str:
    return RULES


def section(page: str, name: str) -> str:
    match = re.search(rf'<section id="{name}">(.*?)</section>', page, re.S)
    assert match, name
    return match.group(1)


def test_the_page_sorts_alarms_into_firing_pending_silenced_acknowledged_and_flapping(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    now = time.time()
    set_alarm(
        alarms,
        "disk-full",
        "host.a.disk.x.used_ratio",
        AlarmState.FIRING,
        at=now,
        severity=Severity.CRITICAL,
        value=0.99,
    )
    set_alarm(alarms, "disk-full", "host.b.disk.x.used_ratio", AlarmState.PENDING, at=now)
    set_alarm(
        alarms,
        "disk-full",
        "host.c.disk.x.used_ratio",
        AlarmState.FIRING,
        at=now,
        severity=Severity.WARNING,
        muted=True,
    )
    set_alarm(
        alarms,
        "disk-full",
        "host.d.disk.x.used_ratio",
        AlarmState.FIRING,
        at=now,
        severity=Severity.WARNING,
        flapping=True,
    )
    set_alarm(
        alarms,
        "disk-full",
        "host.e.disk.x.used_ratio",
        AlarmState.FIRING,
        at=now,
        severity=Severity.CRITICAL,
    )
    alarms.acknowledge("disk-full", "host.e.disk.x.used_ratio", "alice", "on it", None, now)
    alarms.save(
        [],
        [],
        [
            NotificationRow(
                now,
                "oncall",
                "disk full on host.a",
                Outcome.SENT,
                "",
                1,
                ("disk-full:host.a.disk.x.used_ratio",),
            )
        ],
        now,
    )

    page = requests.get(f"{server.url}/alarms", timeout=30).text
    assert "host.a." in section(page, "firing") and "host.d." in section(page, "firing")
    assert "host.b." in section(page, "pending")
    assert "host.c." in section(page, "silenced")
    acknowledged = section(page, "acknowledged")
    assert "host.e." in acknowledged and "alice: on it" in acknowledged
    assert "host.d." in section(page, "flapping")
    assert 'href="/metric/host.a.disk.x.used_ratio"' in page
    assert "disk full on host.a" in section(page, "notifications")
    assert "firing critical" in section(page, "history")
    assert "Acknowledge</button>" not in page  # anonymous viewers get no button

    data = requests.get(f"{server.url}/api/v1/alarms", timeout=30).json()
    assert [r["metric"] for r in data["firing"]] == [
        "host.a.disk.x.used_ratio",
        "host.d.disk.x.used_ratio",
    ]
    assert data["acknowledged"][0]["acknowledged"]["by"] == "alice"
    assert data["notifications"][0]["outcome"] == "sent"


def test_an_operator_acknowledges_with_the_form_and_csrf(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    set_alarm(
        alarms,
        "disk-full",
        DISK,
        AlarmState.FIRING,
        at=time.time(),
        severity=Severity.CRITICAL,
        value=0.99,
    )
    http = login("olivia")
    page = http.get(f"{server.url}/alarms", timeout=30).text
    assert "Acknowledge</button>" in section(page, "firing")
    form = {"rule": "disk-full", "metric": DISK, "comment": "<b>replacing disk</b>", "until": "+2h"}
    forged = http.post(f"{server.url}/alarms/ack", data=form, timeout=10)
    assert forged.status_code == 400 and alarms.record("disk-full", DISK).ack is None  # type: ignore[union-attr]
    done = http.post(
        f"{server.url}/alarms/ack", data=form | {"csrf_token": csrf_of(page)}, timeout=10
    )
    assert done.status_code == 200 and f"Acknowledged disk-full on {DISK}" in done.text
    record = alarms.record("disk-full", DISK)
    assert record is not None and record.ack is not None
    assert record.ack.by == "olivia" and record.ack.comment == "<b>replacing disk</b>"
    assert record.ack.until is not None and 7100 < record.ack.until - time.time() < 7300
    shown = section(done.text, "acknowledged")
    assert "&lt;b&gt;replacing disk&lt;/b&gt;" in shown and "<b>replacing" not in shown


def test_the_api_acknowledges_and_explains_refusals(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    now = time.time()
    set_alarm(alarms, "disk-full", DISK, AlarmState.FIRING, at=now, severity=Severity.WARNING)
    set_alarm(alarms, "disk-full", "host.n2.disk.root.used_ratio", AlarmState.OK, at=now)
    url = f"{server.url}/api/v1/alarms/ack"
    assert (
        requests.post(url, json={"rule": "disk-full", "metric": DISK}, timeout=10).status_code
        == 401
    )
    assert (
        login("victor")
        .post(url, json={"rule": "disk-full", "metric": DISK}, timeout=10)
        .status_code
        == 403
    )
    http = login("olivia")
    assert http.post(url, data={"rule": "disk-full"}, timeout=10).status_code == 415
    cases = [
        ({"rule": "disk-full", "metric": "host.n9.disk.x.used_ratio"}, 404, "rule"),
        ({"rule": "disk-full", "metric": "host.n2.disk.root.used_ratio"}, 409, "state"),
        ({"rule": "disk full!", "metric": DISK}, 400, "rule"),
        ({"rule": "disk-full", "metric": "../etc/passwd"}, 400, "metric"),
        ({"rule": "disk-full", "metric": DISK, "until": "-1h"}, 400, "until"),
        ({"rule": "disk-full", "metric": DISK, "until": "+5y"}, 400, "until"),
        ({"rule": "disk-full", "metric": DISK, "until": "soonish"}, 400, "until"),
        ({"rule": "disk-full", "metric": DISK, "comment": "x" * 501}, 400, "comment"),
    ]
    for body, status, field in cases:
        answer = http.post(url, json=body, timeout=10)
        assert answer.status_code == status, (body, answer.text)
        assert field in answer.json()["errors"]
    done = http.post(url, json={"rule": "disk-full", "metric": DISK, "comment": "ok"}, timeout=10)
    assert done.status_code == 200, done.text
    assert done.json()["acknowledged"]["by"] == "olivia"
    assert done.json()["acknowledged"]["until"] is None


def test_an_operator_limited_to_scopes_acknowledges_only_inside_them(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    now = time.time()
    set_alarm(alarms, "disk-full", DISK, AlarmState.FIRING, at=now, severity=Severity.WARNING)
    set_alarm(alarms, "disk-full", DCACHE, AlarmState.FIRING, at=now, severity=Severity.WARNING)
    http = login("dana")
    url = f"{server.url}/api/v1/alarms/ack"
    refused = http.post(url, json={"rule": "disk-full", "metric": DISK}, timeout=10)
    assert refused.status_code == 403
    assert http.post(url, json={"rule": "disk-full", "metric": DCACHE}, timeout=10).ok


def test_a_change_made_by_the_daemon_meanwhile_keeps_the_acknowledgement(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    record = set_alarm(
        alarms, "disk-full", DISK, AlarmState.FIRING, at=time.time(), severity=Severity.WARNING
    )
    ((_, version),) = [v for k, v in alarms.load().items() if k == ("disk-full", DISK)]
    assert (
        login("olivia")
        .post(
            f"{server.url}/api/v1/alarms/ack",
            json={"rule": "disk-full", "metric": DISK},
            timeout=10,
        )
        .ok
    )
    stale_write = Change(record, version, replace(record, value=0.9))
    assert alarms.save([stale_write], [], [], time.time()) == [("disk-full", DISK)]
    kept = alarms.record("disk-full", DISK)
    assert kept is not None and kept.ack is not None and kept.ack.by == "olivia"
