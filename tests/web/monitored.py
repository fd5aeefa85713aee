"""A real rexmon server with alarm rules, and helpers that give it data the real way.

Samples go in through the ingest API; alarm state is written with alarmd's own
``AlarmStore.save`` (what the daemon does after each evaluation), so the web pages read
exactly what production reads.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests
import yaml

from alarmd.alarmstate import AlarmState, Severity
from alarmd.record import AlarmRecord, new_record
from alarmd.statestore import AlarmStore, Change
from rexmon.database import open_database
from tests.fixtures_server import USERS, RexmonServer, write_server_config
from web.app import create_app
from web.auth.tokens import new_token
from web.services import get_services

RULES = """
rules:
  - name: disk-full
    match: host.*.disk.*.used_ratio
    warning: "> 0.85"
    critical: "> 0.95"
  - name: load-high
    match: host.*.load.*
    warning: "> 20"
    critical: "outside 0..40"
"""


@pytest.fixture
def rules() -> str:
    """The alarm rules of the ``server`` fixture; override it in a test module."""
    return RULES


@pytest.fixture
def server(tmp_path: Path, rules: str) -> Iterator[RexmonServer]:
    """A running server with alarm rules (thresholds on graphs, status, alarms)."""
    running = start_server(tmp_path / "server", rules)
    yield running
    running.stop()
    get_services(running.app).close()


@pytest.fixture
def alarms(server: RexmonServer) -> Iterator[AlarmStore]:
    """alarmd's state store in the ``server``'s database."""
    store = alarm_store(server)
    yield store
    store.engine.dispose()


def start_server(
    directory: Path, rules: str = RULES, sections: dict[str, object] | None = None
) -> RexmonServer:
    """A running server whose config names an alarm rules file (thresholds on graphs), with
    the config ``sections`` given (``{"gates": [...]}``)."""
    directory.mkdir(parents=True, exist_ok=True)
    token = new_token()
    config_path = write_server_config(directory, token)
    config = yaml.safe_load(config_path.read_text())
    (directory / "alarms.yaml").write_text(rules)
    config["alarmd"] = {"rules": "alarms.yaml"}
    config.update(sections or {})
    config_path.write_text(yaml.safe_dump(config))
    server = RexmonServer(create_app(config_path), token, directory / "rrd", config_path)
    server.start()
    return server


def csrf_of(page: str) -> str:
    """The CSRF token of the (first) form on ``page``, as a browser would send it."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the page carries a CSRF token"
    return match.group(1)


def login(user: str | None = None) -> requests.Session:
    http = requests.Session()
    if user:
        http.auth = (user, USERS[user][0])
    return http


def push(server: RexmonServer, samples: Iterable[tuple[str, int, float | None]]) -> None:
    """Samples ``(metric, time, value)`` through ``POST /api/v1/samples``; all must pass."""
    body = {"samples": [{"metric": m, "time": t, "value": v} for m, t, v in samples]}
    answer = requests.post(
        f"{server.url}/api/v1/samples",
        json=body,
        headers={"Authorization": f"Bearer {server.token}"},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["rejected"] == [], answer.text


def push_history(
    server: RexmonServer, metric: str, values: list[float], now: int | None = None
) -> int:
    """One value a minute, the last one a minute ago; returns the last time."""
    now = int(now or time.time())
    last = now // 60 * 60 - 60
    first = last - 60 * (len(values) - 1)
    push(server, [(metric, first + 60 * i, v) for i, v in enumerate(values)])
    return last


def alarm_store(server: RexmonServer) -> AlarmStore:
    """alarmd's store in the server's database (its own engine, as alarmd has)."""
    store = AlarmStore(open_database(get_services(server.app).config.database.url))
    store.migrate()
    return store


def set_alarm(
    store: AlarmStore,
    rule: str,
    metric: str,
    state: AlarmState,
    *,
    at: float,
    severity: Severity | None = None,
    value: float | None = None,
    muted: bool = False,
    flapping: bool = False,
) -> AlarmRecord:
    """Store the next record of an alarm as the daemon would (with its transition)."""
    previous, version = store.load().get((rule, metric), (None, None))
    base = previous or new_record(rule, metric, at)
    record = replace(
        base,
        state=state,
        severity=severity if state is AlarmState.FIRING else None,
        level=severity,
        since=at,
        value=value,
        last_data_at=at,
        muted=muted,
        flapping=flapping,
        problem_since=at if state.is_problem else None,
    )
    assert store.save([Change(previous, version, record)], [], [], at) == []
    return record
