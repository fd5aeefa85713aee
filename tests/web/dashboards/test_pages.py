"""The dashboard pages over a real server and real RRD files: every panel mode, variables,
the time range in the URL, overlays, links and errors."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from alarmd.alarmstate import AlarmState, Severity
from alarmd.statestore import AlarmStore
from tests.fixtures_server import RexmonServer
from tests.web.graphs.zoned import svg_texts
from tests.web.monitored import login, push_history, set_alarm

XSS = "<script>alert(1)</script>"
DASHBOARDS = f"""
dashboards:
  modes:
    title: "Host {{host}} {XSS}"
    description: every mode
    category: Tests
    rows:
      - - {{title: Lines, metrics: "host.{{host}}.load.*", mode: lines}}
        - {{title: Stacked, metrics: "host.{{host}}.load.*", mode: stacked}}
      - - {{title: Sum, metrics: "host.{{host}}.load.*", mode: sum}}
        - {{title: Average, metrics: "host.{{host}}.load.*", mode: average}}
      - - {{title: "Top {{host}}", metrics: "host.{{host}}.load.*", mode: top, top: 2, by: max}}
        - {{title: Top by last, metrics: "host.{{host}}.load.*", mode: top, top: 1, by: last}}
      - - {{title: Disk, metrics: "host.{{host}}.disk.*.used_ratio"}}
  other:
    title: No variables
    rows:
      - - {{metrics: "host.*.load.one"}}
  many:
    title: Many metrics
    rows:
      - - {{metrics: "host.many.load.*", mode: top, top: 3}}
"""
# n1's load: "one" peaks highest but ends lowest, "fifteen" ends highest, "five" is flat
LOADS = {
    "one": [1.0] * 20 + [30.0] + [1.0] * 9,
    "five": [5.0] * 30,
    "fifteen": [2.0] * 29 + [9.0],
}


@pytest.fixture
def site(server: RexmonServer) -> RexmonServer:
    server.config_path.with_name("dashboards.yaml").write_text(DASHBOARDS)
    for host in ("n1", "n2"):
        for name, values in LOADS.items():
            push_history(server, f"host.{host}.load.{name}", values)
    push_history(server, "host.n1.disk.root.used_ratio", [0.5] * 30)
    return server


def get(server: RexmonServer, path: str, **params: str) -> requests.Response:
    return login("victor").get(f"{server.url}{path}", params=params, timeout=60)


def legend(server: RexmonServer, index: int, **params: str) -> str:
    """The words an SVG panel's legend draws, read from its glyphs."""
    answer = get(server, f"/d/modes/{index}.svg", **params)
    assert answer.status_code == 200, answer.text
    return " " + " ".join(svg_texts(answer.content)) + " "


def test_the_list_shows_dashboards_by_category_and_the_header_links_it(site: RexmonServer) -> None:
    answer = get(site, "/dashboards")
    assert answer.status_code == 200
    assert "<h2>Tests</h2>" in answer.text and "<h2>Other</h2>" in answer.text
    assert 'href="/d/modes"' in answer.text and "every mode" in answer.text
    assert XSS not in answer.text and "&lt;script&gt;" in answer.text
    assert 'href="/dashboards" aria-current="page"' in answer.text
    assert 'href="/dashboards"' in get(site, "/").text


def test_a_page_has_a_drop_down_per_variable_and_a_png_per_panel(site: RexmonServer) -> None:
    answer = get(site, "/d/modes", host="n2", **{"from": "-2h"})
    assert answer.status_code == 200
    text = answer.text
    assert XSS not in text and "Host n2 &lt;script&gt;" in text
    assert re.search(r'<option value="n1">n1</option>\s*<option value="n2" selected>', text)
    images = re.findall(r'<img src="([^"]+)"', text)
    assert len(images) == 6  # n2 has no disk: that panel says so instead
    assert "No metric in the archive matches host.{host}.disk.*.used_ratio" in text
    for src in images:
        assert "host=n2" in src and "from=-2h" in src
        png = get(site, src.replace("&amp;", "&"))
        assert png.status_code == 200 and png.headers["Content-Type"] == "image/png"
        assert png.content.startswith(b"\x89PNG\r\n\x1a\n")
    assert 'href="/metric/host.n2.load.one?start=-2h"' in text
    assert re.search(r'href="/graph\?m=host.n2.load.fifteen&amp;m=host.n2.load.five&amp;m=', text)


def test_every_mode_draws_its_series(site: RexmonServer) -> None:
    lines = legend(site, 0, host="n1", **{"from": "-2h"})
    for name in LOADS:
        assert f" host.n1.load.{name} " in lines
    assert "host.n2" not in lines
    assert "sum of 3 metrics" in legend(site, 2, host="n1")
    assert "average of 3 metrics" in legend(site, 3, host="n1")
    by_max = legend(site, 4, host="n1", **{"from": "-2h"})
    assert " host.n1.load.one " in by_max and " host.n1.load.fifteen " in by_max
    assert " host.n1.load.five " not in by_max and "other (sum of 1 more)" in by_max
    by_last = legend(site, 5, host="n1", **{"from": "-2h"})
    assert " host.n1.load.fifteen " in by_last and "other (sum of 2 more)" in by_last
    assert " host.n1.load.one " not in by_last


def test_thresholds_downtimes_and_alarm_changes_show_as_on_other_graphs(
    site: RexmonServer, alarms: AlarmStore
) -> None:
    last = push_history(site, "host.n1.disk.root.used_ratio", [0.5])
    answer = login("olivia").post(
        f"{site.url}/api/v1/downtimes",
        json={
            "scopes": ["host.n1.disk.*"],
            "start": str(last - 1200),
            "end": str(last - 600),
            "reason": f"disk swap {XSS}",
        },
        timeout=10,
    )
    assert answer.status_code == 201, answer.text
    set_alarm(
        alarms,
        "disk-full",
        "host.n1.disk.root.used_ratio",
        AlarmState.FIRING,
        at=last - 300,
        severity=Severity.CRITICAL,
        value=0.99,
    )
    disk = legend(site, 6, host="n1", **{"from": "-2h"})
    assert "warning ? 0.85 (disk-full)" in disk and "critical ? 0.95 (disk-full)" in disk
    assert "planned downtime" in disk and "alarm fired (critical)" in disk
    page = get(site, "/d/modes", host="n1", **{"from": "-2h"}).text
    assert "disk swap &lt;script&gt;" in page and XSS not in page
    changes = page.split("Alarm changes in this range")[1]
    assert "disk-full" in changes and "host.n1.disk.root.used_ratio" in changes
    # another host's page does not list them
    other = get(site, "/d/modes", host="n2", **{"from": "-2h"}).text
    assert "disk swap" not in other and "disk-full</code>" not in other


def test_unknown_dashboards_and_values_are_refused_clearly(site: RexmonServer) -> None:
    missing = get(site, "/d/nope")
    assert missing.status_code == 404 and "no dashboard" in missing.text
    bad = login("victor").get(
        f"{site.url}/d/modes", params={"host": XSS}, headers={"Accept": "text/html"}, timeout=30
    )
    assert bad.status_code == 400 and bad.headers["Content-Type"].startswith("text/html")
    assert "not a value of {host} found in the archive" in bad.text
    assert XSS not in bad.text and "&lt;script&gt;" in bad.text
    assert get(site, "/d/modes/0.png", host="n9").status_code == 400
    assert get(site, "/d/modes/99.png", host="n1").status_code == 404
    assert get(site, "/d/modes", **{"from": "yesterday-ish"}).status_code == 400
    assert get(site, "/d/other").status_code == 200


def test_without_a_dashboards_file_the_list_says_so(server: RexmonServer) -> None:
    path: Path = server.config_path.with_name("dashboards.yaml")
    assert not path.exists()
    assert "No dashboards are defined" in get(server, "/dashboards").text


def test_a_panel_of_many_metrics_shows_the_alarm_of_one_of_them(
    site: RexmonServer, alarms: AlarmStore
) -> None:
    for number in range(12):  # more than overlays.PER_METRIC_QUERIES: one query, filtered
        last = push_history(site, f"host.many.load.m{number:02d}", [float(number)] * 5)
    set_alarm(alarms, "load-high", "host.n1.load.one", AlarmState.FIRING, at=last - 100,
              severity=Severity.WARNING, value=30.0)  # fmt: skip
    set_alarm(alarms, "load-high", "host.many.load.m03", AlarmState.FIRING, at=last - 60,
              severity=Severity.CRITICAL, value=50.0)  # fmt: skip
    answer = get(site, "/d/many/0.svg", **{"from": "-1h"})
    words = " " + " ".join(svg_texts(answer.content)) + " "
    assert "alarm fired (critical)" in words and "alarm fired (warning)" not in words
    assert " host.many.load.m11 " in words and "other (sum of 9 more)" in words
    changes = get(site, "/d/many", **{"from": "-1h"}).text.split("Alarm changes")[1]
    assert "host.many.load.m03" in changes and "host.n1.load.one" not in changes


def test_without_anonymous_viewing_the_pages_need_a_login(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = make_rexmon_server(anonymous="none")
    server.config_path.with_name("dashboards.yaml").write_text(DASHBOARDS)
    for path in ("/dashboards", "/d/other", "/d/other/0.png"):
        anonymous = requests.get(f"{server.url}{path}", timeout=10, allow_redirects=False)
        assert anonymous.status_code in (302, 401), (path, anonymous.status_code)
    assert get(server, "/dashboards").status_code == 200


def test_the_shipped_dashboards_open_on_an_empty_archive(server: RexmonServer) -> None:
    shipped = Path(__file__).resolve().parents[3] / "etc" / "dashboards.yaml"
    server.config_path.with_name("dashboards.yaml").write_text(shipped.read_text())
    for name in ("host", "batch", "batch-group"):
        answer = get(server, f"/d/{name}")
        assert answer.status_code == 200, answer.text
        assert "no value of" in answer.text and "<img" not in answer.text
