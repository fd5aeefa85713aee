"""The provisioning example of docs/grafana.md, used as Grafana would: the data source's
URL and bearer header from its YAML, each dashboard panel's targets posted to render, each
annotation's tags asked of events — against a real server that refuses anonymous reads."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from string import Template
from typing import Any

import requests
import yaml

from tests.fixtures_server import USERS, RexmonServer
from tests.web.graphite.conftest import GRAFANA_TOKEN
from tests.web.monitored import push

DOCS = Path(__file__).resolve().parents[3] / "docs" / "grafana"


def data_source(server: RexmonServer) -> tuple[str, dict[str, str]]:
    text = Template((DOCS / "datasource.yaml").read_text()).substitute(
        REXMON_URL=server.url, REXMON_GRAFANA_TOKEN=GRAFANA_TOKEN
    )
    (source,) = yaml.safe_load(text)["datasources"]
    assert source["type"] == "graphite" and source["jsonData"]["graphiteVersion"] == "1.1"
    header = source["jsonData"]["httpHeaderName1"]
    return source["url"], {header: source["secureJsonData"]["httpHeaderValue1"]}


def test_the_documented_data_source_and_dashboard_work_against_the_server(
    make_graphite_server: Callable[..., RexmonServer],
) -> None:
    server = make_graphite_server(anonymous="none")
    now = int(time.time()) // 60 * 60
    samples = []
    for host in ("n1", "n2", "n3"):
        for minute in range(60, 0, -1):
            t = now - 60 * minute
            samples += [
                (f"host.{host}.cpu.user", t, 0.1 * minute),
                (f"host.{host}.load.1m", t, 2.0),
            ]
    push(server, samples)
    requests.post(f"{server.url}/api/v1/downtimes", auth=("olivia", USERS["olivia"][0]), json={
        "scopes": ["host.n1.*"], "start": str(now - 1200), "end": str(now + 600),
        "reason": "BIOS update", "kind": "planned"}, timeout=30).raise_for_status()  # fmt: skip
    base, headers = data_source(server)
    dashboard: dict[str, Any] = json.loads((DOCS / "dashboard.json").read_text())
    assert os.path.basename(base) == "graphite"
    version = requests.get(f"{base}/version", headers=headers, timeout=30)
    assert version.status_code == 200 and version.text.startswith("1.1")
    probe = requests.post(
        f"{base}/render",
        headers=headers,
        timeout=30,
        data={"target": "constantLine(100)", "from": "-1h", "format": "json"},
    )
    assert probe.json()[0]["target"] == "100"  # Grafana's "Save & test" renders this
    functions = requests.get(f"{base}/functions", headers=headers, timeout=30).json()
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            assert target["target"].split("(")[0] in functions or "(" not in target["target"]
            answer = requests.post(f"{base}/render", headers=headers, timeout=30, data={
                "target": target["target"], "from": "-6h", "until": "now", "format": "json",
                "maxDataPoints": "1200"})  # fmt: skip
            assert answer.status_code == 200, (target, answer.text)
            series = answer.json()
            assert series and all(any(v is not None for v, _ in s["datapoints"]) for s in series)
    names = {s["target"] for s in requests.post(f"{base}/render", headers=headers, timeout=30,
             data={"target": "aliasByNode(host.*.cpu.user, 1)", "from": "-1h"}).json()}  # fmt: skip
    assert names == {"n1", "n2", "n3"}
    (annotation, alarms) = dashboard["annotations"]["list"]
    found = requests.get(f"{base}/events/get_data", headers=headers, timeout=30, params={
        "from": "-6h", "until": "now", "tags": " ".join(annotation["tags"])}).json()  # fmt: skip
    assert [e["what"].split(" #")[0] for e in found] == ["planned downtime"]
    assert "BIOS update" in found[0]["data"]
    assert requests.get(f"{base}/events/get_data", headers=headers, timeout=30,
                        params={"tags": " ".join(alarms["tags"])}).json() == []  # fmt: skip
    assert requests.get(f"{base}/render?target=host.n1.cpu.user", timeout=30).status_code == 401
