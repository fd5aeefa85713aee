"""Readiness gates as a workflow system uses them: ``curl -f`` on ``/api/v1/gates/<name>``
against a real server, with alarm state written as alarmd writes it, downtimes filed
through the API and values pushed through ingest."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from alarmd.alarmstate import AlarmState, Severity
from rexmon.errors import ConfigError
from tests.fixtures_server import RexmonServer
from tests.web.monitored import alarm_store, login, push_history, set_alarm, start_server
from web.config import load_server_config
from web.services import get_services

DISK = "host.n1.disk.root.used_ratio"
GATES = [
    {"name": "storage", "scopes": ["host.n1.*"], "severity": "critical"},
    {"name": "calibrated", "scopes": "calib.*", "conditions": ["calib.*.done == 1"]},
    {"name": "n3", "scopes": ["host.n3.*"]},
    {"name": "web", "scopes": ["svc.*"]},
    {"name": "nothing", "scopes": ["no.such.*"]},
]


@pytest.fixture
def gated(tmp_path: Path) -> Iterator[RexmonServer]:
    server = start_server(tmp_path / "server", sections={"gates": GATES})
    push_history(server, DISK, [0.5] * 5)
    push_history(server, "host.n3.load.5m", [1.0] * 5)
    push_history(server, "calib.a.done", [1.0])
    push_history(server, "calib.b.done", [0.0, 1.0, 0.0])
    push_history(server, "svc.web", [1.0] * 3, now=int(time.time()) - 7200)
    two_hours_ago = time.time() - 7200  # as if nothing had written it since
    os.utime(server.archive_root / "svc" / "web.rrd", (two_hours_ago, two_hours_ago))
    yield server
    server.stop()
    get_services(server.app).close()


def gate(server: RexmonServer, name: str) -> tuple[int, dict[str, Any]]:
    answer = requests.get(f"{server.url}/api/v1/gates/{name}", timeout=30)
    return answer.status_code, answer.json()


def curl_f(server: RexmonServer, name: str) -> int:
    """What a shell script waiting on the gate sees: curl's exit code (22: HTTP >= 400)."""
    url = f"{server.url}/api/v1/gates/{name}"
    return subprocess.run(["curl", "-sf", "-o", "/dev/null", url], check=False).returncode


def test_a_gate_opens_and_closes_with_the_alarms_in_its_scope(gated: RexmonServer) -> None:
    status, answer = gate(gated, "storage")
    assert (status, answer["ready"], answer["reasons"]) == (200, True, [])
    assert curl_f(gated, "storage") == 0
    store = alarm_store(gated)
    last = int(time.time()) // 60 * 60
    set_alarm(store, "disk-full", DISK, AlarmState.FIRING, at=last, severity=Severity.WARNING)
    assert gate(gated, "storage")[0] == 200  # below the gate's severity
    set_alarm(store, "disk-full", DISK, AlarmState.FIRING, at=last + 60, severity=Severity.CRITICAL)
    status, answer = gate(gated, "storage")
    assert status == 503 and curl_f(gated, "storage") == 22
    assert answer["ready"] is False
    assert answer["reasons"] == [f"disk-full is firing (critical) on {DISK}"]
    set_alarm(store, "disk-full", DISK, AlarmState.RESOLVED, at=last + 120)
    assert gate(gated, "storage")[0] == 200
    store.engine.dispose()


def test_conditions_freshness_and_an_empty_scope_keep_a_gate_closed(gated: RexmonServer) -> None:
    status, answer = gate(gated, "calibrated")
    assert status == 503
    assert answer["reasons"] == ["calib.*.done == 1: calib.b.done is 0"]
    push_history(gated, "calib.b.done", [1.0], now=int(time.time()) + 60)  # done now
    assert gate(gated, "calibrated")[0] == 200
    assert gate(gated, "web")[1]["reasons"] == ["svc.web has no recent data"]
    assert gate(gated, "nothing")[1]["reasons"] == ["no metric matches no.such.*"]


def test_an_unplanned_downtime_closes_a_gate_and_a_planned_one_does_not(
    gated: RexmonServer,
) -> None:
    assert gate(gated, "n3")[0] == 200
    operator = login("olivia")
    planned = {"scopes": ["host.n3.*"], "start": "-1h", "duration": "4h", "reason": "disk swap"}
    assert operator.post(f"{gated.url}/api/v1/downtimes", json=planned, timeout=10).ok
    assert gate(gated, "n3")[0] == 200
    unplanned = {**planned, "kind": "unplanned", "reason": "PSU failed"}
    filed = operator.post(f"{gated.url}/api/v1/downtimes", json=unplanned, timeout=10)
    assert filed.status_code == 201, filed.text
    status, answer = gate(gated, "n3")
    number = filed.json()["id"]
    assert status == 503
    assert answer["reasons"] == [f"unplanned downtime #{number} covers host.n3.load.5m: PSU failed"]


def test_the_list_shows_every_gate_and_an_unknown_one_is_404(gated: RexmonServer) -> None:
    listed = requests.get(f"{gated.url}/api/v1/gates", timeout=30).json()["gates"]
    assert [(g["name"], g["ready"]) for g in listed] == [
        ("storage", True), ("calibrated", False), ("n3", True), ("web", False),
        ("nothing", False),
    ]  # fmt: skip
    assert listed[0]["metrics"] == 1
    missing = requests.get(f"{gated.url}/api/v1/gates/nope", timeout=30)
    assert missing.status_code == 404 and "GET /api/v1/gates" in missing.json()["error"]


@pytest.mark.parametrize(
    ("gates", "message"),
    [
        ('[{"name": "Bad Name", "scopes": ["a.*"]}]', "lower-case letters"),
        ('[{"name": "a", "scopes": ["a.*"]}, {"name": "a", "scopes": ["b"]}]', "already defined"),
        ('[{"name": "a", "scopes": ["a.*"], "conditions": ["a.* = 1"]}]', "expected '<glob>"),
        ('[{"name": "a", "scopes": ["a.*"], "conditions": ["a.* == x"]}]', "'x' is not a number"),
        ('[{"name": "a", "scopes": ["a.*"], "severity": "high"}]', "expected one of warning"),
        ('[{"name": "a"}]', "scopes"),
    ],
)
def test_a_bad_gate_is_refused_with_file_and_line(tmp_path: Path, gates: str, message: str) -> None:
    path = tmp_path / "rexmon.yaml"
    schemas = Path(__file__).resolve().parents[3] / "etc" / "archive.yaml"
    path.write_text(f"archive:\n  root: rrd\n  schemas: {schemas}\n\ngates: {gates}\n")
    with pytest.raises(ConfigError, match=message) as raised:
        load_server_config(path)
    assert "rexmon.yaml:5: gates" in str(raised.value)
