from __future__ import annotations

import csv
import io
import time
from xml.etree import ElementTree

import pytest
import requests

from alarmd.alarmstate import AlarmState, Severity
from alarmd.statestore import AlarmStore
from tests.fixtures_server import RexmonServer
from tests.web.monitored import login, push, push_history, set_alarm
from web.graphs.overlays import DowntimeBand, Overlays
from web.graphs.units import unit_of

DISK = "host.n1.disk.root.used_ratio"
XSS = "<script>alert(1)</script> a:b\\c"


def file_downtime(server: RexmonServer, **fields: object) -> dict[str, object]:
    answer = login("olivia").post(f"{server.url}/api/v1/downtimes", json=fields, timeout=10)
    assert answer.status_code == 201, answer.text
    data: dict[str, object] = answer.json()
    return data


def get(server: RexmonServer, path: str, **kwargs: object) -> requests.Response:
    return requests.get(f"{server.url}{path}", timeout=30, **kwargs)  # type: ignore[arg-type]


def test_a_png_graph_has_an_etag_and_answers_304_until_new_data_arrive(
    server: RexmonServer,
) -> None:
    push_history(server, DISK, [0.5 + i / 400 for i in range(60)])
    first = get(server, f"/graph/{DISK}.png?start=-2h&width=400&height=100")
    assert first.status_code == 200
    assert first.headers["Content-Type"] == "image/png"
    assert first.content.startswith(b"\x89PNG")
    assert "must-revalidate" in first.headers["Cache-Control"]
    tag = first.headers["ETag"]
    again = get(
        server, f"/graph/{DISK}.png?start=-2h&width=400&height=100", headers={"If-None-Match": tag}
    )
    assert again.status_code == 304 and again.content == b""
    other_size = get(
        server, f"/graph/{DISK}.png?start=-2h&width=500&height=100", headers={"If-None-Match": tag}
    )
    assert other_size.status_code == 200
    push(server, [(DISK, int(time.time()) - 1, 0.7)])
    newer = get(
        server, f"/graph/{DISK}.png?start=-2h&width=400&height=100", headers={"If-None-Match": tag}
    )
    assert newer.status_code == 200 and newer.headers["ETag"] != tag


def test_a_new_downtime_or_alarm_change_changes_the_etag(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    last = push_history(server, DISK, [0.5] * 30)
    tag = get(server, f"/graph/{DISK}.svg?start=-1h").headers["ETag"]
    file_downtime(server, scopes=[DISK], start=str(last - 600), end=str(last - 300), reason="x")
    with_downtime = get(server, f"/graph/{DISK}.svg?start=-1h", headers={"If-None-Match": tag})
    assert with_downtime.status_code == 200
    tag = with_downtime.headers["ETag"]
    set_alarm(
        alarms,
        "disk-full",
        DISK,
        AlarmState.FIRING,
        at=last - 200,
        severity=Severity.CRITICAL,
        value=0.99,
    )
    with_alarm = get(server, f"/graph/{DISK}.svg?start=-1h", headers={"If-None-Match": tag})
    assert with_alarm.status_code == 200 and with_alarm.headers["ETag"] != tag


def test_the_series_carry_downtime_bands_thresholds_and_alarm_marks(
    server: RexmonServer, alarms: AlarmStore
) -> None:
    last = push_history(server, DISK, [0.8 + i / 500 for i in range(90)])
    planned = file_downtime(
        server, scopes=["host.n1.*"], start=str(last - 3000), end=str(last - 2400), reason=XSS
    )
    unplanned = file_downtime(
        server,
        scopes=[DISK],
        start=str(last - 1200),
        end=str(last - 600),
        reason="power cut",
        kind="unplanned",
    )
    file_downtime(server, scopes=["host.n2.*"], start=str(last - 3000), end=str(last), reason="no")
    set_alarm(
        alarms,
        "disk-full",
        DISK,
        AlarmState.FIRING,
        at=last - 2000,
        severity=Severity.WARNING,
        value=0.9,
    )
    set_alarm(alarms, "disk-full", DISK, AlarmState.OK, at=last - 1500)
    set_alarm(
        alarms,
        "disk-full",
        DISK,
        AlarmState.FIRING,
        at=last - 100,
        severity=Severity.CRITICAL,
        value=0.97,
    )

    answer = get(server, f"/api/v1/series/{DISK}?start=-2h")
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert data["unit"] == "ratio" and data["step"] == 60
    assert len(data["timestamps"]) == len(data["values"])
    assert pytest.approx(0.8 + 89 / 500) in data["values"]
    assert [(b["downtime_id"], b["kind"], b["start"], b["end"]) for b in data["downtimes"]] == [
        (planned["id"], "planned", last - 3000, last - 2400),
        (unplanned["id"], "unplanned", last - 1200, last - 600),
    ]
    assert data["downtimes"][0]["reason"] == XSS
    assert {(t["severity"], t["value"]) for t in data["thresholds"]} == {
        ("warning", 0.85),
        ("critical", 0.95),
    }
    assert [(m["event"], m["severity"], m["at"]) for m in data["alarms"]] == [
        ("fired", "warning", last - 2000),
        ("cleared", None, last - 1500),
        ("fired", "critical", last - 100),
    ]


def test_range_thresholds_give_both_finite_ends(server: RexmonServer) -> None:
    push_history(server, "host.n1.load.5m", [1.0, 2.0, 3.0])
    data = get(server, "/api/v1/series/host.n1.load.5m?start=-1h").json()
    assert sorted((t["severity"], t["value"]) for t in data["thresholds"]) == [
        ("critical", 0.0),
        ("critical", 40.0),
        ("warning", 20.0),
    ]
    assert data["unit"] == ""


def test_the_csv_export_has_a_stable_url_and_one_row_per_point(server: RexmonServer) -> None:
    last = push_history(server, DISK, [0.25, 0.5, 0.75])
    start, end = last - 180, last
    for path in (
        f"/graph/{DISK}.csv?start={start}&end={end}",
        f"/api/v1/series/{DISK}?format=csv&start={start}&end={end}",
    ):
        answer = get(server, path)
        assert answer.status_code == 200
        assert answer.headers["Content-Type"].startswith("text/csv")
        assert f'filename="{DISK}.csv"' in answer.headers["Content-Disposition"]
        rows = list(csv.reader(io.StringIO(answer.text)))
        assert rows[0] == ["timestamp", "time", DISK]
        values = {int(row[0]): row[2] for row in rows[1:]}
        assert values[last - 120] == "0.25" and values[last] == "0.75"


def test_several_metrics_share_one_graph_stacked_or_as_lines(server: RexmonServer) -> None:
    metrics = [f"host.n1.disk.{name}.used_ratio" for name in ("root", "home", "var")]
    for metric in metrics:
        push_history(server, metric, [0.1, 0.2, 0.3])
    query = "&".join(f"m={metric}" for metric in metrics)
    for extra in ("", "&stack=1", "&format=svg"):
        answer = get(server, f"/graph?{query}&start=-1h{extra}")
        assert answer.status_code == 200, answer.text
    assert get(server, f"/graph?{query}&format=csv&start=-1h").text.startswith(
        "timestamp,time," + ",".join(metrics)
    )


def test_the_metric_page_shows_the_chart_the_png_fallback_and_escaped_reasons(
    server: RexmonServer,
) -> None:
    last = push_history(server, DISK, [0.5] * 10)
    file_downtime(server, scopes=[DISK], start=str(last - 300), end=str(last), reason=XSS)
    page = get(server, f"/metric/{DISK}?start=-1h")
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt; a:b\\c" in page.text
    assert f'src="/graph/{DISK}.png?start=-1h"' in page.text
    assert "vendor/uplot/uPlot.iife.min.js" in page.text
    assert f'data-series="/api/v1/series/{DISK}"' in page.text
    for label in ("1h", "6h", "1d", "1w", "1m", "1y"):
        assert f">{label}</a>" in page.text
    assert get(server, "/static/vendor/uplot/uPlot.iife.min.js").status_code == 200
    assert get(server, "/static/metric.js").status_code == 200


def test_an_svg_cannot_run_script_from_a_downtime_reason(server: RexmonServer) -> None:
    last = push_history(server, DISK, [0.5] * 10)
    file_downtime(server, scopes=[DISK], start=str(last - 300), end=str(last), reason=XSS)
    answer = get(server, f"/graph/{DISK}.svg?start=-1h")
    assert answer.status_code == 200
    assert b"<script" not in answer.content
    assert answer.headers["Content-Security-Policy"].startswith("default-src 'none'")
    assert answer.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path",
    [
        "/graph/..%2F..%2Fetc%2Fpasswd.png",
        "/graph/--daemon.png",
        "/graph/host.n1.--imgformat.png",
        "/graph/host:n1.cpu.png",
        "/graph/host.n1%3Ax.cpu.png",
        "/graph?m=host.n1.cpu.user%3AAVERAGE",
        "/graph?m=--title&m=x.y",
        "/graph?format=gif&m=" + DISK,
        "/graph?" + "&".join(f"m=a.m{i}" for i in range(21)),
        "/graph",
        f"/graph/{DISK}.png?width=100000",
        f"/graph/{DISK}.png?height=-5",
        f"/graph/{DISK}.png?width=1e9",
        f"/graph/{DISK}.png?width=0x10",
        f"/graph/{DISK}.png?start=--start",
        f"/graph/{DISK}.png?start=-1d;rm",
        f"/graph/{DISK}.png?start=now&end=-1h",
        f"/graph/{DISK}.png?start=1",
        f"/graph/{DISK}.png?start=-100y",
        f"/graph/{DISK}.png?end=%2B10y",
        f"/graph/{DISK}.png?start=" + "1" * 100,
        f"/graph/{DISK}.png?stack=maybe",
        f"/api/v1/series/{DISK}?points=999999",
        f"/api/v1/series/{DISK}?format=png",
    ],
)
def test_hostile_parameters_are_refused_before_rrdtool(server: RexmonServer, path: str) -> None:
    push_history(server, DISK, [0.5, 0.6])
    answer = get(server, path)
    assert answer.status_code in (400, 404), (path, answer.status_code, answer.text)
    assert "rrdtool" not in answer.text.lower()


def test_unknown_metrics_and_extensions_are_not_found(server: RexmonServer) -> None:
    push_history(server, DISK, [0.5, 0.6])
    assert get(server, "/graph/host.n9.cpu.user.png").status_code == 404
    assert get(server, f"/graph/{DISK}.gif").status_code == 404
    assert get(server, "/metric/host.n9.cpu.user").status_code == 404
    missing = get(server, "/api/v1/series/host.n9.cpu.user")
    assert missing.status_code == 404 and "no metric" in missing.json()["error"]
    assert get(server, "/api/v1/series/bad:name").json()["status"] == 400


def test_the_legend_names_a_few_downtimes_and_counts_the_rest() -> None:
    bands = tuple(
        DowntimeBand(1_800_000_000 + 600 * i, 1_800_000_300 + 600 * i, "planned", f"r{i}", i)
        for i in range(9)
    )
    shaded, _, _ = Overlays(bands=bands).graph_elements()
    labels = [band.label for band in shaded]
    assert labels[:6] == [f"planned downtime #{i}: r{i}" for i in range(6)]
    assert labels[6:] == ["", "", "and 3 more downtimes"]


@pytest.mark.parametrize(
    ("metric", "unit"),
    [
        ("host.n1.disk.root.used_ratio", "ratio"),
        ("host.n1.net.eth0_rx_bytes_total", "bytes/s"),
        ("batch.queue.wait_seconds", "seconds"),
        ("host.n1.cpu.user", ""),
        ("app.web.requests_total", "requests/s"),
        ("app.web.hits_total", "per second"),
        ("host.n1.load.5m", ""),
    ],
)
def test_the_unit_comes_from_the_metric_name(metric: str, unit: str) -> None:
    assert unit_of(metric) == unit


@pytest.mark.parametrize("reason", ["ends with \\", "\\:", "a\\\\:b", "%s", "x\\:\\", "\\"])
def test_a_downtime_reason_ending_in_a_backslash_still_draws_png_and_svg(
    server: RexmonServer, reason: str
) -> None:
    metric = f"host.r{reason.encode().hex()}.cpu.user_ratio"
    last = push_history(server, metric, [0.5] * 30)
    file_downtime(server, scopes=[metric], start=str(last - 900), end=str(last), reason=reason)
    png = get(server, f"/graph/{metric}.png?start=-1h")
    assert png.status_code == 200, png.text
    assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    svg = get(server, f"/graph/{metric}.svg?start=-1h")
    assert svg.status_code == 200, svg.text
    assert ElementTree.fromstring(svg.content).tag.endswith("svg")
