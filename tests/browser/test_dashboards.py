"""An operator opens a dashboard in Chromium, picks another host from the drop-down, and
zooms one panel: every panel follows and the range lands in the address. Screenshots land
in ``test-output/browser/dashboards/``."""

from __future__ import annotations

import pytest

from tests.browser.conftest import PHONE
from tests.fixtures_server import REPO, RexmonServer
from tests.web.monitored import push_history

pytestmark = pytest.mark.browser
SHOTS = REPO / "test-output" / "browser" / "dashboards"
DASHBOARDS = """
dashboards:
  host:
    title: "Host {host}"
    rows:
      - - {title: Load, metrics: "host.{host}.load.*", mode: lines}
        - {title: Load stacked, metrics: "host.{host}.load.*", mode: stacked}
      - - {title: Load sum, metrics: "host.{host}.load.*", mode: sum}
        - {title: Top load, metrics: "host.{host}.load.*", mode: top, top: 1}
"""
SETTLED = (
    "Array.from(document.querySelectorAll('.panel-chart'))"
    ".every(b => b.querySelector('canvas') && b.getAttribute('aria-busy') === null)"
)


def ranges(page: object) -> list[tuple[str | None, str | None]]:
    found = page.eval_on_selector_all(  # type: ignore[attr-defined]
        ".panel-chart", "boxes => boxes.map(b => [b.dataset.start, b.dataset.end])"
    )
    return [(start, end) for start, end in found]


def test_a_variable_changes_the_host_and_zooming_one_panel_zooms_all(
    server: RexmonServer, browser: object
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    server.config_path.with_name("dashboards.yaml").write_text(DASHBOARDS)
    for host in ("n1", "n2"):
        for name in ("one", "five"):
            push_history(server, f"host.{host}.load.{name}", [float(i % 7) for i in range(180)])
    context = browser.new_context(viewport={"width": 1200, "height": 1000})  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{server.url}/d/host?from=-3h")
    page.wait_for_function(SETTLED)
    assert page.locator(".panel-chart canvas").count() >= 4
    page.select_option("select[name=host]", "n2")
    page.click("#dashboard-form button[type=submit]")
    page.wait_for_url("**host=n2**")
    page.wait_for_function(SETTLED)
    assert "Host n2" in page.locator("h1").inner_text()
    before = ranges(page)
    assert len(set(before)) == 1, before
    page.screenshot(path=str(SHOTS / "before.png"), full_page=True)

    over = page.locator(".u-over").nth(1).bounding_box()
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.3, y)
    page.mouse.down()
    page.mouse.move(over["x"] + over["width"] * 0.7, y, steps=8)
    page.mouse.up()
    page.wait_for_function("/from=\\d+/.test(location.search)")
    page.wait_for_function(
        f"({SETTLED}) && new Set(Array.from(document.querySelectorAll('.panel-chart'))"
        f".map(b => b.dataset.start)).size === 1"
        f" && document.querySelector('.panel-chart').dataset.start !== '{before[0][0]}'"
    )
    after = ranges(page)
    assert len(set(after)) == 1, after
    (start, end), (old_start, old_end) = after[0], before[0]
    assert start and end and old_start and old_end
    assert int(old_start) < int(start) < int(end) < int(old_end)
    assert int(end) - int(start) < 0.6 * (int(old_end) - int(old_start))
    assert "host=n2" in page.url
    page.screenshot(path=str(SHOTS / "zoomed.png"), full_page=True)
    assert errors == []
    context.close()


def test_on_a_phone_the_panels_stack_without_sideways_scrolling(
    server: RexmonServer, browser: object
) -> None:
    server.config_path.with_name("dashboards.yaml").write_text(DASHBOARDS)
    for name in ("one", "five"):
        push_history(server, f"host.n1.load.{name}", [float(i % 7) for i in range(30)])
    context = browser.new_context(viewport=PHONE)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto(f"{server.url}/d/host?from=-1h")
    page.wait_for_function(SETTLED)
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE["width"] + 1, f"the page is {width} px wide on a phone"
    page.screenshot(path=str(SHOTS / "phone.png"), full_page=True)
    context.close()
