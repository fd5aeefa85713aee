"""An operator in Chromium: files a downtime from the form with a typed start and end
and sees the resolved times as they type, cancels it after the confirmation, filters
the alarms page, reaches Acknowledge on a phone without scrolling sideways, and meets a
404 page with a way on. Screenshots land in ``test-output/browser/alarms-downtimes/``."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from alarmd.alarmstate import AlarmState, Severity
from tests.browser.conftest import PHONE
from tests.fixtures_server import REPO, USERS, RexmonServer
from tests.web.monitored import alarm_store, push_history, set_alarm, start_server
from web.services import get_services

pytestmark = pytest.mark.browser
SHOTS = REPO / "test-output" / "browser" / "alarms-downtimes"
CRITICAL = "host.node01.load.5m"
WARNING = "host.node02.load.5m"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[RexmonServer]:
    server = start_server(tmp_path / "server")
    for metric in (CRITICAL, WARNING):
        push_history(server, metric, [3.0, 45.0])
    store = alarm_store(server)
    now = time.time()
    set_alarm(
        store, "load-high", WARNING, AlarmState.FIRING, at=now - 300, severity=Severity.WARNING
    )
    set_alarm(
        store, "load-high", CRITICAL, AlarmState.FIRING, at=now - 60, severity=Severity.CRITICAL
    )
    store.engine.dispose()
    yield server
    server.stop()
    get_services(server.app).close()


def logged_in(browser: Any, site: RexmonServer, viewport: dict[str, int], errors: list[str]) -> Any:
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{site.url}/login?next=/alarms")
    page.fill("#username", "olivia")
    page.fill("#password", USERS["olivia"][0])
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site.url}/alarms")
    return page


def test_an_operator_files_and_cancels_a_downtime_and_filters_the_alarms(
    site: RexmonServer, browser: Any
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page = logged_in(browser, site, {"width": 1200, "height": 900}, errors)

    # the alarms page: critical first, then the filter (a plain GET form)
    rows = page.locator("#firing tr[data-alarm]")
    assert rows.nth(0).get_attribute("data-alarm") == f"load-high:{CRITICAL}"
    page.select_option("select[name=state]", "warning")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(r"state=warning"))
    assert page.locator("#firing tr[data-alarm]").count() == 1
    assert page.locator("#firing tr[data-alarm]").first.get_attribute("data-alarm") == (
        f"load-high:{WARNING}"
    )
    page.screenshot(path=str(SHOTS / "1-alarms-filtered.png"), full_page=True)

    # file a downtime with a typed start and end: the resolved times show as one types
    page.goto(f"{site.url}/downtimes/new")
    assert page.input_value("#duration") == ""
    page.fill("#scopes", "host.node02.*")
    page.fill("#start", "tomorrow 08:00")
    page.fill("#end", "tomorrow 09:30")
    resolved = page.locator("#resolved")
    resolved.filter(has_text="09:30").wait_for(timeout=5000)
    assert re.search(r"From .*08:00 UTC to .*09:30 UTC \(1h30m\)", resolved.inner_text())
    page.fill("#reason", "load test on node02")
    page.screenshot(path=str(SHOTS / "2-form-resolved.png"), full_page=True)
    page.get_by_role("button", name="Save").click()
    page.wait_for_url(re.compile(r"/downtimes/\d+$"))
    assert "filed" in page.inner_text("main")

    # cancel: the button leads to a confirmation; only "Yes" cancels
    page.get_by_role("link", name="Cancel…").click()
    page.wait_for_url(re.compile(r"/downtimes/\d+/cancel$"))
    assert "cannot be undone" in page.inner_text("main")
    page.screenshot(path=str(SHOTS / "3-cancel-confirm.png"), full_page=True)
    page.get_by_role("button", name=re.compile("Yes, cancel downtime")).click()
    page.wait_for_url(re.compile(r"/downtimes/\d+$"))
    assert "cancelled" in page.inner_text("main")

    # a 404 in the site's header, with a search and a way home
    missing = page.goto(f"{site.url}/no/such/page")
    assert missing is not None and missing.status == 404
    assert "olivia (operator)" in page.inner_text("header")
    assert page.locator("main input[name=q]").count() == 1
    page.screenshot(path=str(SHOTS / "4-not-found.png"), full_page=True)
    assert errors == []
    page.context.close()


def test_acknowledge_is_reachable_on_a_phone_without_scrolling_sideways(
    site: RexmonServer, browser: Any
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    errors: list[str] = []
    page = logged_in(browser, site, PHONE, errors)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways: {width} px"
    for button in page.locator("form.ack button").all():
        button.scroll_into_view_if_needed()
        box = button.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    comment = page.locator("form.ack input[name=comment]").first
    assert (comment.bounding_box() or {"x": -1})["x"] >= 0
    comment.fill("on it")
    page.screenshot(path=str(SHOTS / "5-phone-alarms.png"), full_page=True)
    page.locator("form.ack button").first.click()
    page.wait_for_load_state()
    assert "Acknowledged" in page.inner_text("main")
    assert errors == []
    page.context.close()
