"""Downtimes (filed through the API into the real SQLite database) and alarm transitions
(stored as alarmd stores them) as Graphite events."""

from __future__ import annotations

import time

import requests

from alarmd.alarmstate import AlarmState, Severity
from tests.fixtures_server import USERS, RexmonServer
from tests.web.monitored import alarm_store, set_alarm


def file_downtime(server: RexmonServer, **fields: object) -> dict[str, object]:
    answer = requests.post(f"{server.url}/api/v1/downtimes", json=fields,
                           auth=("olivia", USERS["olivia"][0]), timeout=30)  # fmt: skip
    assert answer.status_code == 201, answer.text
    data: dict[str, object] = answer.json()
    return data


def events(server: RexmonServer, **params: str) -> list[dict[str, object]]:
    answer = requests.get(f"{server.url}/graphite/events/get_data", params=params, timeout=30)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, object]] = answer.json()
    return found


def test_downtimes_give_start_and_end_events_with_scope_reason_and_author(
    graphite_server: RexmonServer,
) -> None:
    now = int(time.time())
    planned = file_downtime(graphite_server, scopes=["host.n1.*"], start=str(now - 3600),
                            end=str(now - 1800), reason="kernel update",
                            kind="planned")  # fmt: skip
    file_downtime(graphite_server, scopes=["dcache.*"], start=str(now - 600), end=str(now + 600),
                  reason="pool crashed", kind="unplanned")  # fmt: skip
    found = events(graphite_server, **{"from": "-2h", "until": "now"})
    assert [(e["when"], e["what"]) for e in found] == [
        (now - 3600, f"planned downtime #{planned['id']} started"),
        (now - 1800, f"planned downtime #{planned['id']} ended"),
        (now - 600, f"unplanned downtime #{int(planned['id']) + 1} started"),  # type: ignore[call-overload]
    ]
    first = found[0]
    assert first["tags"] == [
        "downtime",
        "planned",
        "started",
        f"downtime-{planned['id']}",
        "host.n1.*",
    ]
    assert "kernel update" in str(first["data"]) and "olivia" in str(first["data"])
    assert "host.n1.*" in str(first["data"])
    assert [e["id"] for e in found] == [1, 2, 3]
    only_planned = events(graphite_server, **{"from": "-2h", "tags": "downtime planned"})
    assert [e["when"] for e in only_planned] == [now - 3600, now - 1800]
    either = events(graphite_server, **{"from": "-2h", "tags": "unplanned ended", "set": "union"})
    assert len(either) == 2


def test_alarm_transitions_give_firing_and_resolved_events(graphite_server: RexmonServer) -> None:
    store = alarm_store(graphite_server)
    now = time.time()
    metric = "host.n1.disk.root.used_ratio"
    set_alarm(store, "disk-full", metric, AlarmState.FIRING, at=now - 900,
              severity=Severity.CRITICAL, value=0.97)  # fmt: skip
    set_alarm(store, "disk-full", metric, AlarmState.RESOLVED, at=now - 300, value=0.5)
    store.engine.dispose()
    found = events(graphite_server, **{"from": "-1h", "tags": "alarm"})
    assert [(e["when"], e["what"]) for e in found] == [
        (int(now - 900), f"disk-full firing on {metric}"),
        (int(now - 300), f"disk-full resolved on {metric}"),
    ]
    assert found[0]["tags"] == ["alarm", "firing", "disk-full", "critical", metric]
    assert "value 0.97" in str(found[0]["data"])
    assert events(graphite_server, **{"from": "-1h", "tags": "alarm firing"})[0]["when"] == int(
        now - 900
    )
    assert events(graphite_server, **{"from": "-10min", "until": "-6min"}) == []


def test_a_bad_time_range_is_refused(graphite_server: RexmonServer) -> None:
    answer = requests.get(f"{graphite_server.url}/graphite/events/get_data",
                          params={"from": "soon"}, timeout=30)  # fmt: skip
    assert answer.status_code == 400 and "from" in answer.text
