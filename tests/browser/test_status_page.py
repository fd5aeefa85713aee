"""A shift crew's status page in Chromium: an operator logs in, acknowledges the critical
alarm from the status page's problem list, opens a host page from its tile; on a phone
the problem list reads without sideways scrolling. Screenshots in
``test-output/browser/status/``."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alarmd.alarmstate import AlarmState, Severity
from tests.browser.conftest import PHONE
from tests.fixtures_server import REPO, USERS, RexmonServer
from tests.web.monitored import alarm_store, push_history, set_alarm, start_server
from web.services import get_services

pytestmark = pytest.mark.browser
SHOTS = REPO / "test-output" / "browser" / "status"
LOAD = "host.node01.load.5m"
DISK = "host.node02.disk.root.used_ratio"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[RexmonServer]:
    server = start_server(tmp_path / "server")
    push_history(server, LOAD, [3.0, 45.0])
    push_history(server, DISK, [0.5, 0.9])
    for number in range(3, 40):
        push_history(server, f"host.node{number:02d}.load.5m", [1.0, 2.0])
    store = alarm_store(server)
    at = time.time() - 120
    set_alarm(store, "load-high", LOAD, AlarmState.FIRING, at=at, severity=Severity.CRITICAL,
              value=45.0)  # fmt: skip
    set_alarm(store, "disk-full", DISK, AlarmState.FIRING, at=at, severity=Severity.WARNING,
              value=0.9)  # fmt: skip
    store.engine.dispose()
    yield server
    server.stop()
    get_services(server.app).close()


def log_in(page: object, url: str) -> None:
    page.goto(f"{url}/login?next=/")  # type: ignore[attr-defined]
    page.fill("#username", "olivia")  # type: ignore[attr-defined]
    page.fill("#password", USERS["olivia"][0])  # type: ignore[attr-defined]
    page.get_by_role("button", name="Log in").click()  # type: ignore[attr-defined]
    page.wait_for_url(f"{url}/")  # type: ignore[attr-defined]


def test_an_operator_acknowledges_from_the_status_page_and_opens_a_host_from_its_tile(
    site: RexmonServer, browser: object
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context(viewport={"width": 1200, "height": 900})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    log_in(page, site.url)
    rows = page.locator("#problems tr[data-metric]")
    assert [rows.nth(i).get_attribute("data-metric") for i in range(rows.count())] == [LOAD, DISK]
    assert page.locator("#status-live .js-only").is_visible()  # the script refreshes
    page.screenshot(path=str(SHOTS / "1-problems.png"), full_page=True)

    row = page.locator(f'#problems tr[data-metric="{LOAD}"]')
    row.locator("input[name=comment]").fill("rebooting it")
    row.get_by_role("button", name="Acknowledge").click()
    page.wait_for_load_state()
    page.goto(f"{site.url}/")
    acked = page.locator(f'#problems tr[data-metric="{LOAD}"]')
    assert acked.get_attribute("data-status") == "acknowledged"
    assert "acknowledged by olivia: “rebooting it”" in acked.inner_text()
    assert rows.first.get_attribute("data-metric") == DISK  # the warning now comes first

    tile = page.locator('li[data-host="host.node02"] a')
    assert tile.locator("abbr").inner_text() == "W"  # the state is text, not colour only
    tile.click()
    page.wait_for_url(f"{site.url}/hosts/node02")
    assert page.locator(f'tr[data-metric="{DISK}"] [data-role=status]').inner_text() == "WARNING"
    assert page.locator("#file-downtime").get_attribute("href") == (
        "/downtimes/new?scope=host.node02.*"
    )
    page.screenshot(path=str(SHOTS / "2-host.png"), full_page=True)

    # file a downtime from the host page: the form comes with the host's scope
    page.locator("#file-downtime").click()
    page.wait_for_url(re.compile(r"/downtimes/new"))
    assert page.input_value("#scopes") == "host.node02.*"
    page.fill("#start", "now")
    page.fill("#end", "+2h")
    page.fill("#reason", "disk swap on node02")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/downtimes/\d+$"))
    page.goto(f"{site.url}/hosts/node02")
    assert "disk swap on node02" in page.inner_text("#downtimes")
    page.screenshot(path=str(SHOTS / "3-host-in-downtime.png"), full_page=True)
    context.close()
    assert errors == []


def test_on_a_phone_the_problem_list_reads_without_scrolling_sideways(
    site: RexmonServer, browser: object
) -> None:
    context = browser.new_context(viewport=PHONE)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{site.url}/")
    row = page.locator(f'#problems tr[data-metric="{LOAD}"]')
    assert row.is_visible() and "CRITICAL" in row.inner_text()
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, (
        f"the page is {width} px wide on a {PHONE['width']} px phone"
    )
    box = row.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 1
    page.screenshot(path=str(SHOTS / "3-phone.png"), full_page=True)
    context.close()
