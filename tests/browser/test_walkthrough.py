"""The operator's walk through the web app in a real browser (Debian's Chromium).

Samples go in through the ingest API and the alarm comes from a real alarmd tick, so
every page shows what production would. Screenshots land in ``test-output/browser/``.
"""

from __future__ import annotations

import base64
import re
import shutil
from collections.abc import Iterator

import pytest

from alarmd.alarmstate import AlarmState
from alarmd.config import AlarmdConfig, DaemonConfig
from alarmd.daemon import Daemon
from alarmd.notify import Notifier
from alarmd.rules import load_rules_without_secrets
from alarmd.statestore import AlarmStore
from downtime.store import DowntimeStore
from rexmon.database import open_database
from rrdarchive.archive import Archive
from tests.fixtures_server import REPO, USERS, RexmonServer
from tests.web.monitored import push_history
from web.services import get_services

pytestmark = pytest.mark.browser
playwright = pytest.importorskip("playwright.sync_api")

SHOTS = REPO / "test-output" / "browser"
DISK = "host.node01.disk.root.used_ratio"
CALM = "host.node02.disk.root.used_ratio"
REASON = "disk swap <b>bold?</b>"
LOGIN = base64.b64encode(f"olivia:{USERS['olivia'][0]}".encode()).decode()


class Alarmd:
    """alarmd as it runs in production, driven one tick at a time."""

    def __init__(self, server: RexmonServer) -> None:
        config = get_services(server.app).config
        directory = server.config_path.parent
        self.engine = open_database(config.database.url)
        DowntimeStore(self.engine).migrate()
        self.store = AlarmStore(self.engine)
        self.store.migrate()
        rules = load_rules_without_secrets(directory / "alarms.yaml")
        settings = AlarmdConfig(
            rules=directory / "alarms.yaml", lock_file=directory / "alarmd.lock"
        )
        self.archive = Archive(config.archive)
        self.daemon = Daemon(
            DaemonConfig(rules, settings),
            self.archive,
            DowntimeStore(self.engine),
            Notifier(rules.receivers),
        )

    def tick(self) -> AlarmState:
        self.daemon.tick()
        record = self.store.record("disk-full", DISK)
        assert record is not None
        return record.shown_state

    def close(self) -> None:
        self.daemon.close(timeout=5)
        self.archive.close()
        self.engine.dispose()


@pytest.fixture
def alarmd(server: RexmonServer) -> Iterator[Alarmd]:
    daemon = Alarmd(server)
    yield daemon
    daemon.close()


def test_an_operator_sees_a_critical_alarm_zooms_its_graph_and_silences_it_with_a_downtime(
    server: RexmonServer, alarmd: Alarmd, browser: object
) -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    push_history(server, DISK, [0.90 + i / 1000 for i in range(100)])
    push_history(server, CALM, [0.5] * 100)
    assert alarmd.tick() is AlarmState.FIRING

    context = browser.new_context(  # type: ignore[attr-defined]
        # anonymous users may view, so no 401 ever asks: send the login with every request
        extra_http_headers={"Authorization": f"Basic {LOGIN}"},
        viewport={"width": 1200, "height": 900},
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    # the status page shows the critical alarm, problems first
    page.goto(f"{server.url}/")
    assert page.inner_text("h1 .badge") == "CRITICAL"
    row = page.locator(f'tr[data-metric="{DISK}"]')
    assert row.locator("[data-role=status]").inner_text() == "CRITICAL"
    assert page.locator('li[data-host="host.node01"]').count() == 1
    page.screenshot(path=str(SHOTS / "1-status.png"), full_page=True)
    watcher = context.new_page()  # a status page left open, refreshing every second
    watcher.goto(f"{server.url}/?refresh=1")
    watcher.evaluate("() => { window.notReloaded = true; }")
    page.bring_to_front()  # a background tab gets no animation frames

    # its graph: uPlot replaces the PNG, with the threshold lines from the rule
    row.locator(f'a[href="/metric/{DISK}"]').click()
    page.wait_for_url(re.compile(r"/metric/"))
    page.wait_for_selector("#chart .uplot canvas")
    assert page.locator("#graph-png").is_hidden()
    assert "threshold line" in page.inner_text("#chart-overlays")
    page.screenshot(path=str(SHOTS / "2-graph.png"), full_page=True)

    # drag across the middle of the chart to zoom: the data are fetched for the new range
    area = page.locator("#chart .u-over").bounding_box()
    assert area is not None
    y = area["y"] + area["height"] / 2
    with page.expect_response(re.compile(r"/api/v1/series/.*start=\d+&end=\d+")) as zoomed:
        page.mouse.move(area["x"] + area["width"] * 0.5, y)
        page.mouse.down()
        page.mouse.move(area["x"] + area["width"] * 0.7, y, steps=8)
        page.mouse.move(area["x"] + area["width"] * 0.9, y, steps=8)
        page.mouse.up()
    data = zoomed.value.json()
    assert re.search(r"\?start=\d+&end=\d+$", page.url)
    assert 0 < data["end"] - data["start"] < 86400 * 0.5
    page.screenshot(path=str(SHOTS / "3-zoomed.png"), full_page=True)

    # file a planned downtime through the form, from the graph page's link
    page.goto(f"{server.url}/metric/{DISK}?start=-3h")
    page.click("text=File a downtime for this metric")
    assert page.input_value("#scopes") == DISK
    page.fill("#start", "-30m")
    page.fill("#duration", "2h")
    page.fill("#reason", REASON)
    page.click("button[value=save]")
    page.wait_for_url(re.compile(r"/downtimes/\d+$"))
    assert "filed" in page.inner_text(".flash")
    page.screenshot(path=str(SHOTS / "4-downtime.png"), full_page=True)

    # alarmd's next tick silences the alarm
    assert alarmd.tick() is AlarmState.SILENCED

    # the graph shows the band (canvas and PNG) and the reason, escaped
    page.goto(f"{server.url}/metric/{DISK}?start=-3h")
    page.wait_for_selector("#chart .uplot canvas")
    assert "1 planned downtime window" in page.inner_text("#chart-overlays")
    assert page.inner_text("table.downtimes td.reason") == REASON
    assert page.locator("table.downtimes b").count() == 0
    shaded = page.evaluate(
        """() => {
          const canvas = document.querySelector('#chart .uplot canvas');
          const ctx = canvas.getContext('2d');
          const w = canvas.width, h = canvas.height;
          const pixel = ctx.getImageData(Math.round(w * 0.93), Math.round(h * 0.3), 1, 1).data;
          return Array.from(pixel);
        }"""
    )
    assert shaded[2] > shaded[1], f"a purple band at the right end, got {shaded}"
    png = page.request.get(f"{server.url}/graph/{DISK}.png?start=-3h")
    assert png.ok and png.headers["content-type"] == "image/png"
    page.screenshot(path=str(SHOTS / "5-graph-with-downtime.png"), full_page=True)
    (SHOTS / "5-graph.png").write_bytes(png.body())

    # and the alarm is listed as silenced; the status page shows the host in downtime
    page.goto(f"{server.url}/alarms")
    assert DISK in page.inner_text("#silenced")
    assert DISK not in page.inner_text("#firing")
    page.goto(f"{server.url}/")
    status = page.locator(f'tr[data-metric="{DISK}"] [data-role=status]').text_content()
    assert status == "IN DOWNTIME"  # in a group shown closed: downtime is no problem
    # the page left open caught up by itself, without a reload
    watcher.wait_for_function(
        "metric => document.querySelector(`tr[data-metric='${metric}'] [data-role=status]`)"
        ".textContent === 'IN DOWNTIME'",
        arg=DISK,
        timeout=10_000,
    )
    assert watcher.evaluate("() => window.notReloaded") is True
    assert watcher.inner_text("h1 .badge") == "IN DOWNTIME"
    watcher.screenshot(path=str(SHOTS / "7-status-refreshed.png"), full_page=True)
    page.screenshot(path=str(SHOTS / "6-status-after.png"), full_page=True)
    context.close()
    assert errors == []


def test_the_pages_fit_a_phone_screen(
    server: RexmonServer, alarmd: Alarmd, browser: object
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    push_history(server, DISK, [0.99] * 30)
    alarmd.tick()
    context = browser.new_context(  # type: ignore[attr-defined]
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    for name, path in (("status", "/"), ("metric", f"/metric/{DISK}"), ("alarms", "/alarms")):
        page.goto(f"{server.url}{path}")
        if name == "metric":
            page.wait_for_selector("#chart .uplot canvas")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - 390")
        assert overflow <= 0, f"{name} is {overflow}px wider than the phone"
        page.screenshot(path=str(SHOTS / f"phone-{name}.png"), full_page=True)
    context.close()
