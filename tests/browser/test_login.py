"""An operator on call, in Chromium: lands on the alarms page anonymous, logs in through
the header's link, acknowledges the firing alarm there, and logs out; on a phone too.
Screenshots land in ``test-output/browser/login/``."""

from __future__ import annotations

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
SHOTS = REPO / "test-output" / "browser" / "login"
METRIC = "host.node01.load.5m"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[RexmonServer]:
    server = start_server(tmp_path / "server")
    push_history(server, METRIC, [3.0, 45.0])
    store = alarm_store(server)
    set_alarm(
        store,
        "load-high",
        METRIC,
        AlarmState.FIRING,
        at=time.time() - 120,
        severity=Severity.CRITICAL,
        value=45.0,
    )
    store.engine.dispose()
    yield server
    server.stop()
    get_services(server.app).close()


@pytest.mark.parametrize(
    "viewport", [{"width": 1200, "height": 900}, PHONE], ids=["desktop", "phone"]
)
def test_an_operator_logs_in_from_the_header_acknowledges_and_logs_out(
    site: RexmonServer, browser: object, viewport: dict[str, int]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = "phone" if viewport == PHONE else "desktop"
    context = browser.new_context(viewport=viewport)  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))

    page.goto(f"{site.url}/alarms")
    assert page.locator("form.ack").count() == 0, "anonymous sees no Acknowledge"
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url(lambda url: "/login?next=" in url)
    page.fill("#username", "olivia")
    page.fill("#password", USERS["olivia"][0])
    page.screenshot(path=str(SHOTS / f"{name}-1-form.png"), full_page=True)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{site.url}/alarms")
    assert "olivia (operator)" in page.inner_text("header")

    acknowledge = page.locator("form.ack button", has_text="Acknowledge").first
    acknowledge.scroll_into_view_if_needed()
    assert acknowledge.is_visible()
    page.screenshot(path=str(SHOTS / f"{name}-2-alarms.png"), full_page=True)
    acknowledge.click()
    page.wait_for_load_state()
    assert "olivia" in page.locator(f'tr[data-alarm="load-high:{METRIC}"]').inner_text()

    page.goto(f"{site.url}/")
    assert "olivia (operator)" in page.inner_text("header"), "the session holds on every page"
    page.get_by_role("button", name="Log out").click()
    page.wait_for_load_state()
    assert "anonymous" in page.inner_text("header")
    page.screenshot(path=str(SHOTS / f"{name}-3-logged-out.png"), full_page=True)
    assert errors == []
    context.close()
