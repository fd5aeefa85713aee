"""A shift crew member reads a metric page in Chromium: the time axis is in the site's
zone, 24-hour; dragging across the chart zooms and the from/to fields then show the new
range as site-zone times; on a phone a finger slides to zoom. Screenshots land in
``test-output/browser/graphs/``."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from tests.browser.conftest import PHONE
from tests.fixtures_server import REPO, RexmonServer
from tests.web.graphs.zoned import ZONE, zoned_server
from tests.web.monitored import push_history

pytestmark = pytest.mark.browser
SHOTS = REPO / "test-output" / "browser" / "graphs"
DISK = "host.n1.disk.root.used_ratio"
FIELD = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)?\Z")


def read_field(text: str) -> float:
    assert FIELD.match(text), text
    return datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(ZONE)).timestamp()


def axis_labels(page: object) -> list[str]:
    label = page.locator("#chart").get_attribute("aria-label") or ""  # type: ignore[attr-defined]
    assert f"time axis in {ZONE} (24-hour)" in label, label
    return label.split(": ", 1)[1].split(", ")


@pytest.fixture
def site(make_rexmon_server: Callable[..., RexmonServer]) -> tuple[RexmonServer, int]:
    server = zoned_server(make_rexmon_server)
    last = push_history(server, DISK, [0.5 + (i % 30) / 100 for i in range(180)])
    return server, last


def open_chart(browser: object, url: str, **context_options: object) -> tuple[object, object]:
    context = browser.new_context(**context_options)  # type: ignore[attr-defined]
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    page.wait_for_selector("#chart canvas")
    page.wait_for_function("document.getElementById('chart').getAttribute('aria-busy') === null")
    assert errors == []
    return context, page


def test_dragging_zooms_and_the_fields_and_axis_speak_the_site_zone(
    site: tuple[RexmonServer, int], browser: object
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    server, last = site
    start, end = last - 3 * 3600, last
    context, page = open_chart(
        browser,
        f"{server.url}/metric/{DISK}?start={start}&end={end}",
        viewport={"width": 1200, "height": 900},
    )
    labels = axis_labels(page)
    clock = [label for label in labels if re.fullmatch(r"\d\d:\d\d", label)]
    assert len(clock) >= 3, labels
    day = datetime.fromtimestamp(start, ZoneInfo(ZONE))
    for label in clock:  # each label names a site-zone time inside the range (24-hour)
        hour, minute = map(int, label.split(":"))
        moment = day.replace(hour=hour, minute=minute, second=0).timestamp()
        moment += 86400 if moment < start - 60 else 0
        assert start - 60 <= moment <= end + 60, (label, labels)
    page.screenshot(path=str(SHOTS / "desktop-before.png"), full_page=True)  # type: ignore[attr-defined]

    over = page.locator(".u-over").bounding_box()  # type: ignore[attr-defined]
    y = over["y"] + over["height"] / 2
    page.mouse.move(over["x"] + over["width"] * 0.25, y)  # type: ignore[attr-defined]
    page.mouse.down()  # type: ignore[attr-defined]
    page.mouse.move(over["x"] + over["width"] * 0.75, y, steps=8)  # type: ignore[attr-defined]
    page.mouse.up()  # type: ignore[attr-defined]
    page.wait_for_function("/start=/.test(location.search)")  # type: ignore[attr-defined]
    page.wait_for_function("document.getElementById('chart').getAttribute('aria-busy') === null")  # type: ignore[attr-defined]
    zoomed_from = read_field(page.locator("input[name=start]").input_value())  # type: ignore[attr-defined]
    zoomed_to = read_field(page.locator("input[name=end]").input_value())  # type: ignore[attr-defined]
    span = end - start
    assert start + 0.15 * span <= zoomed_from <= start + 0.35 * span, (zoomed_from, start)
    assert start + 0.65 * span <= zoomed_to <= start + 0.85 * span, (zoomed_to, end)
    assert page.locator("nav.presets a.current").count() == 0  # type: ignore[attr-defined]
    assert axis_labels(page) != labels
    page.screenshot(path=str(SHOTS / "desktop-zoomed.png"), full_page=True)  # type: ignore[attr-defined]

    page.go_back()  # type: ignore[attr-defined]
    page.wait_for_function("document.getElementById('chart').getAttribute('aria-busy') === null")  # type: ignore[attr-defined]
    assert read_field(page.locator("input[name=start]").input_value()) == start  # type: ignore[attr-defined]
    context.close()  # type: ignore[attr-defined]


def test_on_a_phone_a_finger_slides_to_zoom_and_the_hint_says_so(
    site: tuple[RexmonServer, int], browser: object
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    server, last = site
    context, page = open_chart(
        browser,
        f"{server.url}/metric/{DISK}?start=-1d",
        viewport=PHONE,
        has_touch=True,
        is_mobile=True,
    )
    assert "finger" in page.locator("#chart-hint").inner_text()  # type: ignore[attr-defined]
    assert page.locator("nav.presets a.current").inner_text() == "1d"  # type: ignore[attr-defined]
    over = page.locator(".u-over").bounding_box()  # type: ignore[attr-defined]
    y = over["y"] + over["height"] / 2
    cdp = context.new_cdp_session(page)  # type: ignore[attr-defined]

    def touch(kind: str, x: float) -> None:
        points = [] if kind == "touchEnd" else [{"x": x, "y": y}]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    touch("touchStart", over["x"] + over["width"] * 0.6)
    for step in range(1, 9):
        touch("touchMove", over["x"] + over["width"] * (0.6 + 0.35 * step / 8))
    touch("touchEnd", 0)
    page.wait_for_function("/start=/.test(location.search)")  # type: ignore[attr-defined]
    zoomed_from = read_field(page.locator("input[name=start]").input_value())  # type: ignore[attr-defined]
    zoomed_to = read_field(page.locator("input[name=end]").input_value())  # type: ignore[attr-defined]
    assert 3600 < zoomed_to - zoomed_from < 12 * 3600, (zoomed_from, zoomed_to)
    assert page.locator("nav.presets a.current").count() == 0  # type: ignore[attr-defined]
    for field in ("start", "end"):  # the whole time shows in the field, none cut off
        width = PHONE["width"]
        fits = f"e => e.scrollWidth <= e.clientWidth && e.getBoundingClientRect().right <= {width}"
        assert page.eval_on_selector(f"input[name={field}]", fits), field  # type: ignore[attr-defined]
    page.screenshot(path=str(SHOTS / "phone-zoomed.png"), full_page=True)  # type: ignore[attr-defined]
    context.close()  # type: ignore[attr-defined]


MONTHS = "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split()


def test_the_one_year_axis_names_each_month_once_and_shown_counts_what_is_visible(
    site: tuple[RexmonServer, int], browser: object
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    server, last = site
    context, page = open_chart(
        browser, f"{server.url}/metric/{DISK}?start=-1y", viewport={"width": 1200, "height": 900}
    )
    labels = [label for label in axis_labels(page) if label]
    months = [label.split()[0] for label in labels]
    assert set(months) <= set(MONTHS), labels
    assert len(months) == len(set(months)) >= 6, labels
    # warning 85 % and critical 95 % stretch the axis; no downtime or alarm in range
    note = page.locator("#chart-overlays").inner_text()  # type: ignore[attr-defined]
    assert "2 threshold line(s)" in note and "downtime" not in note, note
    assert "Last value: 79 %" in note, note
    page.screenshot(path=str(SHOTS / "desktop-1y.png"), full_page=True)  # type: ignore[attr-defined]
    context.close()  # type: ignore[attr-defined]
