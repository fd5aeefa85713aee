from __future__ import annotations

import time
from pathlib import Path

from alarmd.alarmstate import AlarmState, Severity
from tests.fixtures_server import RexmonServer
from tests.web.monitored import alarm_store, login, push_history, set_alarm, start_server


def test_availability_excludes_planned_downtime_and_counts_unplanned(tmp_path: Path) -> None:
    server = start_server(tmp_path / "server")
    try:
        now = int(time.time())
        start = now - 1000
        disk = "host.n1.disk.root.used_ratio"
        load = "host.n1.load.one"
        # both recorded every minute since before the period (else unknown, not up)
        for metric in (disk, load):
            push_history(server, metric, [0.5] * 20, now=now)
        store = alarm_store(server)
        set_alarm(store, "disk-full", disk, AlarmState.OK, at=start - 500)
        set_alarm(
            store,
            "disk-full",
            disk,
            AlarmState.FIRING,
            at=start + 100,
            severity=Severity.CRITICAL,
            value=0.99,
        )
        set_alarm(store, "disk-full", disk, AlarmState.OK, at=start + 300)
        set_alarm(
            store,
            "load-high",
            load,
            AlarmState.FIRING,
            at=start + 200,
            severity=Severity.WARNING,
            value=25,
        )
        operator = login("olivia")
        filed = operator.post(
            f"{server.url}/api/v1/downtimes",
            timeout=10,
            json={
                "scopes": ["host.n1.disk.*"],
                "start": start + 150,
                "end": start + 250,
                "reason": "disk swap",
            },
        )
        assert filed.status_code == 201, filed.text
        unplanned = operator.post(
            f"{server.url}/api/v1/downtimes",
            timeout=10,
            json={
                "scopes": ["host.n1.load.*"],
                "start": start + 100,
                "end": start + 900,
                "reason": "power cut",
                "kind": "unplanned",
            },
        )
        assert unplanned.status_code == 201
        answer = login().get(
            f"{server.url}/api/v1/availability",
            timeout=10,
            params={"scope": "host.n1.*", "start": str(start), "end": str(start + 1000)},
        )
        assert answer.status_code == 200, answer.text
        by_metric = {m["metric"]: m for m in answer.json()["metrics"]}
        assert by_metric[disk]["down_seconds"] == 100  # 100..150 and 250..300
        assert by_metric[disk]["planned_downtime_seconds"] == 100
        assert by_metric[disk]["availability"] == 800 / 900
        # before its first transition an alarm was in that transition's "from" state
        assert by_metric[load]["up_seconds"] == 200
        assert by_metric[load]["down_seconds"] == 800  # unplanned downtime still counts
        assert by_metric[load]["availability"] == 0.2
        page = login().get(f"{server.url}/availability", params={"scope": "host.n1.*"}, timeout=10)
        assert page.status_code == 200 and disk in page.text
    finally:
        server.stop()


def test_a_bad_period_is_refused_with_the_reason(tmp_path: Path) -> None:
    server = start_server(tmp_path / "server")
    try:
        answer = login().get(
            f"{server.url}/api/v1/availability", timeout=10, params={"start": "now", "end": "-1d"}
        )
        assert answer.status_code == 400 and "end must be after" in answer.json()["error"]
        page = login().get(f"{server.url}/availability", params={"scope": "../x"}, timeout=10)
        assert page.status_code == 400 and "metric glob" in page.text
    finally:
        server.stop()


def test_a_period_starting_before_the_retention_horizon_says_history_is_missing(
    server: RexmonServer,
) -> None:
    """alarmd keeps 400 days (the default ``alarmd.keep``): an older start is flagged."""
    missing = "alarm history is kept for 400 days: earlier data is missing"
    session = login()

    def note(start: str) -> str | None:
        answer = session.get(
            f"{server.url}/api/v1/availability", params={"start": start}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        return answer.json()["note"]

    assert note("-401d") == missing
    assert note("-399d") is None
    old = session.get(f"{server.url}/availability", params={"start": "-2y"}, timeout=10)
    assert old.status_code == 200 and missing in old.text
    recent = session.get(f"{server.url}/availability", timeout=10)
    assert recent.status_code == 200 and "earlier data is missing" not in recent.text


def test_time_before_a_metrics_first_record_is_unknown_and_groups_roll_up_worst_first(
    tmp_path: Path,
) -> None:
    server = start_server(tmp_path / "server")
    try:
        now = int(time.time()) // 60 * 60
        start = now - 1200
        old = "host.n1.disk.root.used_ratio"  # recorded all along, fine
        new = "host.n2.disk.root.used_ratio"  # first recorded 600 s into the period
        down = "host.n3.load.one"  # recorded all along, firing for the last 300 s
        for metric in (old, down):
            push_history(server, metric, [0.5] * 22, now=now)  # from start - 120
        push_history(server, new, [0.5] * 11, now=now)  # from start + 540
        store = alarm_store(server)
        for metric in (old, new):
            set_alarm(store, "disk-full", metric, AlarmState.OK, at=start - 500)
        set_alarm(store, "load-high", down, AlarmState.OK, at=start - 500)
        set_alarm(
            store, "load-high", down, AlarmState.FIRING, at=now - 300, severity=Severity.WARNING
        )
        answer = (
            login()
            .get(
                f"{server.url}/api/v1/availability",
                params={"scope": "host.*", "start": str(start), "end": str(now)},
                timeout=10,
            )
            .json()
        )
        by_metric = {m["metric"]: m for m in answer["metrics"]}
        assert by_metric[old]["up_seconds"] == 1200 and by_metric[old]["unknown_seconds"] == 0
        late = by_metric[new]
        assert 480 <= late["unknown_seconds"] <= 600, late  # within a step of the first
        assert late["up_seconds"] + late["unknown_seconds"] == 1200
        assert late["availability"] == 1.0
        assert [m["metric"] for m in answer["metrics"]][0] == down  # worst first
        assert [h["host"] for h in answer["hosts"]] == ["host.n3", "host.n1", "host.n2"]
        assert answer["hosts"][0]["availability"] == 900 / 1200
        assert answer["categories"] == [
            {
                "category": "host",
                "metrics": 3,
                "availability": (1200 + late["up_seconds"] + 900) / (2400 + late["up_seconds"]),
                "up_seconds": 1200 + late["up_seconds"] + 900,
                "down_seconds": 300,
                "planned_downtime_seconds": 0,
                "unknown_seconds": late["unknown_seconds"],
            }
        ]
        page = (
            login()
            .get(
                f"{server.url}/availability",
                params={"scope": "host.*", "start": str(start), "end": str(now)},
                timeout=10,
            )
            .text
        )
        hosts = page.split('<section id="hosts">')[1].split("</section>")[0]
        assert hosts.index("host.n3") < hosts.index("host.n1") < hosts.index("host.n2")
        assert "Unknown share" in hosts
    finally:
        server.stop()
