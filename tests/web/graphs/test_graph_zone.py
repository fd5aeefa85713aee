from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from tests.fixtures_server import RexmonServer
from tests.web.graphs.zoned import ZONE, clock_labels, numbers, svg_texts, zoned_server
from tests.web.monitored import push_history

DISK = "host.n1.disk.root.used_ratio"


def label_times(labels: list[str], start: int, end: int, zone: ZoneInfo) -> list[datetime]:
    """Each HH:MM label read as the time of that name in ``zone`` inside the window
    (or a day off, which puts it outside)."""
    first = datetime.fromtimestamp(start, zone)
    read = []
    for label in labels:
        hour, minute = map(int, label.split(":"))
        moment = first.replace(hour=hour, minute=minute, second=0)
        if moment.timestamp() < start - 60:
            moment += timedelta(days=1)
        read.append(moment)
    return read


def test_the_svg_time_axis_is_labelled_in_the_site_zone_and_names_it(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = zoned_server(make_rexmon_server)
    last = push_history(server, DISK, [0.5] * 120)
    start, end = last - 3600, last
    answer = requests.get(
        f"{server.url}/graph/{DISK}.svg?start={start}&end={end}&width=600", timeout=30
    )
    assert answer.status_code == 200, answer.text
    texts = svg_texts(answer.content)
    labels = clock_labels(texts)
    assert len(labels) >= 3, texts
    for moment in label_times(labels, start, end, ZoneInfo(ZONE)):
        assert start - 60 <= moment.timestamp() <= end + 60, (labels, start, end)
    # the same labels read as UTC fall hours away from the window
    for moment in label_times(labels, start, end, ZoneInfo("UTC")):
        assert not start - 60 <= moment.timestamp() <= end + 60, labels
    assert f"times in {ZONE} (24-hour)" in " ".join(texts), texts


def test_drawing_in_the_site_zone_leaves_the_process_zone_as_it_was(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    import os
    import time

    before = (os.environ.get("TZ"), time.timezone, time.tzname)
    server = zoned_server(make_rexmon_server)
    push_history(server, DISK, [0.5] * 10)
    assert requests.get(f"{server.url}/graph/{DISK}.png?start=-1h", timeout=30).ok
    assert (os.environ.get("TZ"), time.timezone, time.tzname) == before


def test_two_sites_in_one_process_each_get_their_own_zone_while_drawing_at_once(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    from concurrent.futures import ThreadPoolExecutor

    sites = {
        ZONE: zoned_server(make_rexmon_server),
        "America/Chicago": zoned_server(make_rexmon_server, "America/Chicago"),
    }
    lasts = {zone: push_history(server, DISK, [0.5] * 70) for zone, server in sites.items()}

    def draw(zone: str) -> tuple[str, list[str]]:
        last = lasts[zone]
        url = f"{sites[zone].url}/graph/{DISK}.svg?start={last - 3600}&end={last}"
        return zone, clock_labels(svg_texts(requests.get(url, timeout=30).content))

    with ThreadPoolExecutor(4) as pool:
        drawn = list(pool.map(draw, [*sites] * 6))
    for zone, labels in drawn:
        last = lasts[zone]
        for moment in label_times(labels, last - 3600, last, ZoneInfo(zone)):
            assert last - 3660 <= moment.timestamp() <= last + 60, (zone, labels)


def test_a_ratio_is_drawn_as_percent_with_its_thresholds_in_range(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = zoned_server(make_rexmon_server)
    push_history(server, DISK, [0.5 + i / 1000 for i in range(60)])
    answer = requests.get(f"{server.url}/graph/{DISK}.svg?start=-1h", timeout=30)
    assert answer.status_code == 200, answer.text
    texts = svg_texts(answer.content)
    values = numbers(texts)
    # data 50-56 %, warning at 85 %, critical at 95 %: the axis reaches past 95
    assert max(values) >= 95 and min(values) <= 50, texts


def test_the_one_year_legend_says_the_last_value_not_the_last_days_average(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    server = zoned_server(make_rexmon_server)
    push_history(server, DISK, [0.5] * 59 + [0.9])
    answer = requests.get(f"{server.url}/graph/{DISK}.svg?start=-1y", timeout=30)
    assert answer.status_code == 200, answer.text
    texts = svg_texts(answer.content)
    assert texts[texts.index("last") + 1] == "90.00", texts
    series = requests.get(f"{server.url}/api/v1/series/{DISK}?start=-1y", timeout=30).json()
    assert series["last_value"] == 0.9


def test_the_metric_page_shows_a_range_in_unix_seconds_as_site_zone_times_that_read_back(
    make_rexmon_server: Callable[..., RexmonServer],
) -> None:
    import re

    server = zoned_server(make_rexmon_server)
    last = push_history(server, DISK, [0.5] * 10)
    start, end = last - 5400, last
    page = requests.get(f"{server.url}/metric/{DISK}?start={start}&end={end}", timeout=30)
    assert page.status_code == 200, page.text
    zone = ZoneInfo(ZONE)
    fields = re.findall(r'<input name="(start|end)" value="([^"]*)"', page.text)
    expected = [
        ("start", datetime.fromtimestamp(start, zone).strftime("%Y-%m-%d %H:%M")),
        ("end", datetime.fromtimestamp(end, zone).strftime("%Y-%m-%d %H:%M")),
    ]
    assert fields == expected, fields
    assert f"Times in {ZONE}, 24-hour." in page.text
    typed = requests.get(
        f"{server.url}/metric/{DISK}",
        params={"start": expected[0][1], "end": expected[1][1]},
        timeout=30,
    )
    shown = re.search(r'<p class="range-shown">([^<]*)</p>', page.text)
    assert shown and shown.group(1) in typed.text
