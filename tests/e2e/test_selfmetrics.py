"""``/metrics`` as Prometheus scrapes it from ``rexmon-web serve`` with two workers:
whichever worker answers, counters add up every worker's and never go backwards; and
alarmd's last cycle, which ``rexmon-alarmd`` left in the database the web shares."""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_faults import BIN, STEP, Served, aligned
from tests.faults import free_port
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


def test_alarmds_last_cycle_is_scraped_from_the_database_it_shares_with_the_web(
    tmp_path: Path,
) -> None:
    web = Served(tmp_path, workers=1)
    config = yaml.safe_load(web.config_path.read_text())
    config["alarmd"] = {"rules": "alarms.yaml", "send_timeout": "2s"}
    web.config_path.write_text(yaml.safe_dump(config))
    nobody = f"json://127.0.0.1:{free_port()}/"  # the provider is down: the message stays
    (tmp_path / "alarms.yaml").write_text(
        f"receivers:\n  oncall: {nobody}\nrules:\n"
        "  - {name: load, match: 'host.*.load', critical: '> 10', nodata: 1h,"
        " receivers: [oncall]}\n"
    )
    web.start()
    try:
        assert not [key for key in scrape(web.url) if key[0].startswith("rexmon_alarmd_")]
        at = aligned(5 * STEP)
        samples = [
            {"metric": f"host.n0{n}.load", "time": at + STEP * k, "value": 12.0}
            for n in range(2)
            for k in range(3)
        ]
        assert web.push(samples).status_code == 200
        before = time.time()
        command = [str(BIN / "rexmon-alarmd"), "--config", str(web.config_path), "run", "--once"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
        after = time.time()
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith("2 alarms, 2 changed, 2 events, 1 messages"), done.stdout
        figures = scrape(web.url)
    finally:
        web.stop()
    assert before <= figures[("rexmon_alarmd_last_cycle_timestamp_seconds", ())] <= after
    assert 0 < figures[("rexmon_alarmd_cycle_seconds", ())] < after - before
    assert figures[("rexmon_alarmd_outbox_depth", ())] == 1  # both alarms in one message
