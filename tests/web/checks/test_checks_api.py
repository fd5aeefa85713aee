"""``/api/v1/checks``: check results from the real slurper and the real plugins, and from
any sender; stored newest-wins with their state history, token-scoped like samples."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.fixtures_server import RexmonServer, aligned_now, push
from web.auth.tokens import digest_token

PLUGINS = Path("/usr/lib/nagios/plugins")
BIN = Path(sys.executable).parent
NOW = 1_780_000_000


def result(check: str = "nagios.node01.disk_root", **fields: Any) -> dict[str, Any]:
    item: dict[str, Any] = {
        "check": check,
        "time": NOW,
        "state": "WARNING",
        "output": "DISK WARNING - free space: / 812 MB (9% inode=80%)",
        "long_output": "",
        "perfdata": [
            {
                "label": "/",
                "metric": "nagios.node01.disk_root.root_bytes",
                "value": 8.1e9,
                "uom": "B",
                "warn": "~:8e9",
                "crit": "~:9e9",
                "min": 0,
                "max": 9e9,
            }
        ],
    }
    item.update(fields)
    return item


def post(server: RexmonServer, checks: list[Any], token: str | None = None) -> requests.Response:
    return requests.post(
        f"{server.url}/api/v1/checks",
        json={"checks": checks},
        headers={"Authorization": f"Bearer {token or server.token}"},
        timeout=30,
    )


def get(server: RexmonServer, path: str) -> Any:
    answer = requests.get(f"{server.url}{path}", timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_result_is_stored_with_its_state_text_and_thresholds(rexmon_server: RexmonServer) -> None:
    answer = post(rexmon_server, [result()])
    assert answer.status_code == 200 and answer.json() == {"accepted": 1, "rejected": []}
    [check] = get(rexmon_server, "/api/v1/checks?scope=nagios.node01.*")["checks"]
    assert check["check"] == "nagios.node01.disk_root"
    assert check["state"] == "WARNING" and check["since"] == NOW
    assert check["output"].startswith("DISK WARNING")
    [perf] = check["perfdata"]
    assert (perf["warn"], perf["crit"], perf["max"]) == ("~:8000000000", "~:9000000000", 9e9)
    assert get(rexmon_server, "/api/v1/checks?scope=other.*")["checks"] == []


def test_state_changes_make_the_history_and_a_replay_or_older_result_changes_nothing(
    rexmon_server: RexmonServer,
) -> None:
    post(rexmon_server, [result(state="OK", output="DISK OK")])
    post(rexmon_server, [result(time=NOW + 60, state="OK", output="DISK OK again")])
    post(rexmon_server, [result(time=NOW + 120, state="CRITICAL", output="DISK CRITICAL")])
    post(rexmon_server, [result(time=NOW + 120, state="CRITICAL", output="DISK CRITICAL")])
    post(rexmon_server, [result(time=NOW + 30, state="UNKNOWN", output="late")])
    shown = get(rexmon_server, "/api/v1/checks/nagios.node01.disk_root")
    assert (shown["state"], shown["since"], shown["output"]) == (
        "CRITICAL",
        NOW + 120,
        "DISK CRITICAL",
    )
    assert [(c["at"], c["from"], c["to"]) for c in shown["history"]] == [
        (NOW + 120, "OK", "CRITICAL"),
        (NOW, None, "OK"),
    ]


def test_results_of_one_batch_apply_in_time_order_whatever_order_they_came_in(
    rexmon_server: RexmonServer,
) -> None:
    post(rexmon_server, [result(time=NOW + 60, state="OK"), result(state="CRITICAL")])
    shown = get(rexmon_server, "/api/v1/checks/nagios.node01.disk_root")
    assert (shown["state"], shown["since"]) == ("OK", NOW + 60)
    assert [c["to"] for c in shown["history"]] == ["OK", "CRITICAL"]


def test_a_bad_result_is_rejected_alone_with_its_index_and_field(
    rexmon_server: RexmonServer,
) -> None:
    checks = [
        result("nagios.node01.a"),
        result("nagios.node01.b", state="BROKEN"),
        result("../etc/passwd"),
        "not an object",
        result("nagios.node01.c", output="x" * 5000),
        result("nagios.node01.d"),
    ]
    answer = post(rexmon_server, checks)
    assert answer.status_code == 200
    body = answer.json()
    assert body["accepted"] == 3
    errors = {item["index"]: item["error"] for item in body["rejected"]}
    assert set(errors) == {1, 2, 3}
    assert "state: expected OK, WARNING, CRITICAL or UNKNOWN" in errors[1]
    assert errors[2].startswith("check result 2: check:")
    assert "expected an object" in errors[3]
    names = [c["check"] for c in get(rexmon_server, "/api/v1/checks")["checks"]]
    assert names == ["nagios.node01.a", "nagios.node01.c", "nagios.node01.d"]
    [long] = [c for c in get(rexmon_server, "/api/v1/checks")["checks"] if c["check"].endswith("c")]
    assert len(long["output"].encode()) <= 1024 and long["output"].endswith("…")


def test_a_scoped_token_may_submit_only_its_checks(make_rexmon_server: Any) -> None:
    tokens = [{"name": "dcache", "digest": digest_token("dcache-secret"), "metrics": ["dcache.*"]}]
    server = make_rexmon_server(tokens=tokens)
    refused = post(server, [result("nagios.node01.x")], token="dcache-secret")
    assert refused.status_code == 403 and "may write only dcache.*" in refused.json()["error"]
    mixed = post(
        server, [result("dcache.pool1.ping"), result("nagios.node01.x")], token="dcache-secret"
    )
    assert mixed.json()["accepted"] == 1
    assert [r["index"] for r in mixed.json()["rejected"]] == [1]
    assert post(server, [result()], token="wrong").status_code == 401
    assert (
        requests.post(f"{server.url}/api/v1/checks", json={"checks": []}, timeout=30).status_code
        == 401
    )


def test_bodies_unreadable_as_a_whole_are_400_and_too_many_results_413(
    make_rexmon_server: Any,
) -> None:
    rexmon_server = make_rexmon_server(edit=lambda config, _: config["web"].update(max_samples=100))
    headers = {
        "Authorization": f"Bearer {rexmon_server.token}",
        "Content-Type": "application/json",
    }
    url = f"{rexmon_server.url}/api/v1/checks"
    for body in (b"{", b"[]", b'{"checks": {}}', b'{"checks": [], "extra": 1}', b"\xff\xfe"):
        answer = requests.post(url, data=body, headers=headers, timeout=30)
        assert answer.status_code == 400, body
        assert answer.json()["error"]
    many = [result(f"nagios.n{i}.load") for i in range(101)]
    data = gzip.compress(json.dumps({"checks": many}).encode())
    answer = requests.post(
        url, data=data, headers={**headers, "Content-Encoding": "gzip"}, timeout=60
    )
    assert (
        answer.status_code == 413
        and "101 check results in one request, at most 100 allowed" in answer.json()["error"]
    )


def test_reading_checks_validates_the_scope_and_the_name(rexmon_server: RexmonServer) -> None:
    bad = requests.get(f"{rexmon_server.url}/api/v1/checks?scope=a[", timeout=30)
    assert bad.status_code == 400 and "scope" in bad.json()["error"]
    missing = requests.get(f"{rexmon_server.url}/api/v1/checks/nagios.none.x", timeout=30)
    assert missing.status_code == 404 and "no check" in missing.json()["error"]
    odd = requests.get(f"{rexmon_server.url}/api/v1/checks/..%2f..%2fetc", timeout=30)
    assert odd.status_code == 400


def test_senders_racing_on_a_new_check_store_it_once(rexmon_server: RexmonServer) -> None:
    answers: list[int] = []

    def send(offset: int) -> None:
        answers.append(post(rexmon_server, [result(time=NOW + offset, state="OK")]).status_code)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers == [200] * 8
    shown = get(rexmon_server, "/api/v1/checks/nagios.node01.disk_root")
    assert shown["time"] == NOW + 7 and len(shown["history"]) == 1


@pytest.mark.skipif(not (PLUGINS / "check_dummy").exists(), reason="monitoring-plugins-basic")
def test_the_slurper_running_real_plugins_delivers_their_check_results(
    tmp_path: Path, rexmon_server: RexmonServer
) -> None:
    config = tmp_path / "slurpers.yaml"

    def run(state: int, text: str) -> None:
        config.write_text(
            f"server: {{url: '{rexmon_server.url}', token: {rexmon_server.token}}}\n"
            f"spool: {{dir: {tmp_path / 'spool'}}}\nhostname: node01\n"
            "instances:\n"
            f"  dummy: {{source: command, command: [{PLUGINS}/check_dummy, '{state}', '{text}']}}\n"
            f"  load: {{source: command, command: [{PLUGINS}/check_load, -w, '9,9,9', -c, 9]}}\n"
        )
        for instance in ("dummy", "load"):
            done = subprocess.run(
                [BIN / "rexmon-slurp", instance, "--config", str(config)],
                capture_output=True,
                text=True,
                timeout=60,
            )
            assert done.returncode == 0, done.stderr

    run(0, "all fine")
    run(2, "<b>broken</b>")
    checks = {c["check"]: c for c in get(rexmon_server, "/api/v1/checks")["checks"]}
    assert set(checks) == {"host.node01.dummy", "host.node01.load"}
    assert checks["host.node01.dummy"]["state"] == "CRITICAL"
    assert checks["host.node01.dummy"]["output"] == "CRITICAL: <b>broken</b>"
    assert checks["host.node01.load"]["state"] == "OK"
    assert {p["label"] for p in checks["host.node01.load"]["perfdata"]} >= {
        "load1",
        "load5",
        "load15",
    }
    history = get(rexmon_server, "/api/v1/checks/host.node01.dummy")["history"]
    assert [c["to"] for c in history] == ["CRITICAL", "OK"]


def test_the_check_page_shows_state_text_perfdata_and_history_escaped(
    make_rexmon_server: Any,
) -> None:
    server = make_rexmon_server(edit=lambda c, _: c.update(site={"timezone": "Europe/Zurich"}))
    post(server, [result(state="OK", output="DISK OK")])
    hostile = "<script>alert(1)</script> DISK CRITICAL"
    post(server, [result(time=NOW + 60, state="CRITICAL", output=hostile, long_output="<b>x</b>")])
    page = requests.get(f"{server.url}/checks/nagios.node01.disk_root", timeout=30)
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)" in page.text
    assert "&lt;b&gt;x&lt;/b&gt;" in page.text
    assert "CRITICAL since</th><td>2026-05-28 22:27 CEST" in page.text
    assert "/metric/nagios.node01.disk_root.root_bytes" in page.text
    assert "first result" in page.text and "~:8000000000" in page.text
    assert requests.get(f"{server.url}/checks/nagios.none.x", timeout=30).status_code == 404
    # a check rule's alarm links to /metric/<check>: a check has no graph, so it leads here
    linked = requests.get(f"{server.url}/metric/nagios.node01.disk_root", timeout=30)
    assert linked.url.endswith("/checks/nagios.node01.disk_root") and linked.status_code == 200


def test_failing_checks_show_on_the_status_host_and_metric_pages(
    rexmon_server: RexmonServer,
) -> None:
    now = aligned_now()
    metric = "nagios.node01.disk_root.root_bytes"
    assert push(rexmon_server, [{"metric": metric, "time": now, "value": 8.1e9}]).status_code == 200
    hostile = "DISK CRITICAL <img src=x onerror=alert(1)>"
    post(rexmon_server, [result(time=now, state="CRITICAL", output=hostile)])
    post(rexmon_server, [result("nagios.node02.load", time=now, state="OK", output="LOAD OK")])

    status = requests.get(f"{rexmon_server.url}/", timeout=30).text
    section = status[status.index('id="checks"') :]
    assert "Checks not OK <small>(1)</small>" in section
    assert 'data-check="nagios.node01.disk_root"' in section and "nagios.node02.load" not in section
    assert "<img src=x" not in status and "&lt;img src=x onerror=alert(1)&gt;" in section

    host = requests.get(f"{rexmon_server.url}/hosts/node01", timeout=30)
    assert host.status_code == 200
    assert 'data-check="nagios.node01.disk_root"' in host.text

    page = requests.get(f"{rexmon_server.url}/metric/{metric}", timeout=30).text
    assert "This metric is sent by the plugin of:" in page
    assert 'href="/checks/nagios.node01.disk_root"' in page
