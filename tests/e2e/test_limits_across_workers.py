"""Limits that must hold across gunicorn workers and restarts: ``rexmon-web serve`` with
2 workers, every request on a fresh connection (so the kernel hands them to either
worker), then a HUP (new workers) in the middle. Each worker used to count for itself:
2 workers allowed twice ``max_failures`` and twice a token's ``max_new_metrics``, and a
HUP forgot both."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.e2e.test_faults import Served, aligned
from tests.fixtures_server import USERS
from web.auth.tokens import digest_token, new_token

MAX_FAILURES = 3
QUOTA = 5


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Served, str]]:
    web = Served(tmp_path, workers=2)
    limited = new_token()
    config = yaml.safe_load(web.config_path.read_text())
    config["web"]["auth"]["max_failures"] = MAX_FAILURES
    entry = {"name": "limited", "digest": digest_token(limited), "max_new_metrics": QUOTA}
    config["web"]["tokens"].append(entry | {"metrics": ["*"]})
    web.config_path.write_text(yaml.safe_dump(config))
    web.start()
    yield web, limited
    web.stop()


def restart_workers(web: Served) -> None:
    """SIGHUP to the gunicorn master; wait until both workers are new and serving."""
    assert web.process is not None
    before = set(web.worker_pids())
    os.kill(web.process.pid, signal.SIGHUP)
    deadline = time.monotonic() + 30
    while True:
        now = set(web.worker_pids())
        if len(now) == 2 and not now & before:
            break
        assert time.monotonic() < deadline, "workers were not replaced after HUP"
        time.sleep(0.1)
    for _ in range(10):
        assert requests.get(web.url + "/healthz", timeout=10).ok


def login_as_alice(web: Served, password: str) -> int:
    url = f"{web.url}/api/v1/downtimes"
    return requests.get(url, auth=("alice", password), timeout=30).status_code


def test_failed_logins_are_counted_across_workers_and_a_hup(served: tuple[Served, str]) -> None:
    web, _ = served
    assert [login_as_alice(web, "wrong") for _ in range(MAX_FAILURES)] == [401] * MAX_FAILURES
    assert [login_as_alice(web, "wrong") for _ in range(8)] == [429] * 8
    assert login_as_alice(web, USERS["alice"][0]) == 429
    restart_workers(web)
    assert [login_as_alice(web, USERS["alice"][0]) for _ in range(6)] == [429] * 6


def test_the_new_metric_quota_admits_exactly_n_across_workers_and_a_hup(
    served: tuple[Served, str],
) -> None:
    web, limited = served
    now = aligned(0)

    def accepted(names: range) -> int:
        total = 0
        for n in names:
            body = {"samples": [{"metric": f"spam.m{n}.value", "time": now, "value": n}]}
            answer = requests.post(
                f"{web.url}/api/v1/samples",
                json=body,
                headers={"Authorization": f"Bearer {limited}"},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
            total += answer.json()["accepted"]
        return total

    assert accepted(range(20)) == QUOTA
    stored = sorted(path.parent.name for path in (web.root / "spam").glob("*/value.rrd"))
    assert len(stored) == QUOTA
    restart_workers(web)
    assert accepted(range(20, 30)) == 0
    assert len(list((web.root / "spam").glob("*/value.rrd"))) == QUOTA
