"""``/metrics`` as Prometheus scrapes it from ``rexmon-web serve`` with two workers:
whichever worker answers, counters add up every worker's and never go backwards."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_faults import Served, aligned
from tests.fixtures_rrdcached import Rrdcached

SCRAPES = 40


@pytest.fixture
def served(tmp_path: Path, rrdcached: Rrdcached) -> Iterator[Served]:
    web = Served(tmp_path, rrdcached=rrdcached.address, workers=2)
    web.start()
    yield web
    web.stop()


def scrape(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = requests.get(url + "/metrics", timeout=30)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def test_counters_add_up_both_workers_and_never_go_backwards(served: Served) -> None:
    start = aligned(60 * (SCRAPES + 2))
    previous: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    pushed = 0
    for round_number in range(SCRAPES):
        samples = [
            {"metric": f"selfmetrics.m{n}", "time": start + 60 * round_number, "value": 1.0}
            for n in range(3)
        ]
        answer = requests.post(
            served.url + "/api/v1/samples",
            json={"samples": samples},
            headers={"Authorization": f"Bearer {served.token}"},
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        pushed += 3
        figures = scrape(served.url)
        assert figures[("rexmon_samples_accepted_total", ())] == pushed  # both workers' sum
        for key, value in previous.items():
            if key[0].endswith(("_total", "_count", "_bucket", "_sum")):
                assert figures.get(key, 0) >= value, key
        previous = figures
    assert previous[("rexmon_archive_write_seconds_count", ())] == SCRAPES
    timed = ("endpoint", "ingest.post_samples")
    assert previous[("rexmon_http_request_duration_seconds_count", (timed,))] == SCRAPES
    assert ("rexmon_wal_segments", ()) in previous and ("rexmon_wal_bytes", ()) in previous
    assert ("rexmon_rrdcached_queue_length", ()) in previous
    assert ("rexmon_notifications_pending", ()) in previous


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
def test_promtool_accepts_the_exposition(served: Served) -> None:
    text = requests.get(served.url + "/metrics", timeout=30).text
    checked = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
