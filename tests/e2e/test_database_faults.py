"""Faults of the database, end to end (the installation of test_alarmd_faults: gunicorn,
``rexmon-alarmd``, a local apprise endpoint): SQLite locked by another process for longer
than the busy timeout, PostgreSQL restarted. Meanwhile the downtime API answers 503 with
a readable reason, the server and alarmd stay up, a send the provider accepted waits in
memory to be marked; afterwards everything works and every message arrives once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from tests.e2e.test_alarmd_faults import (
    FIRE,
    STEP,
    WAVES,
    Alarmd,
    Stack,
    assert_every_event_told_once,
    opened,
    running_stack,
    wait_for,
)
from tests.faults import exclusive_lock
from tests.fixtures_postgres import PostgresServer
from tests.fixtures_server import USERS

BUSY_TIMEOUT = 1  # seconds, set in the SQLite url: the lock is held for longer
DOWNTIME = {"scopes": ["host.elsewhere.*"], "start": "+1h", "duration": "1h", "reason": "fw"}


def file_downtime(stack: Stack) -> requests.Response:
    user = "olivia"  # an operator
    return requests.post(
        f"{stack.web.url}/api/v1/downtimes",
        json=DOWNTIME,
        auth=(user, USERS[user][0]),
        timeout=30,
    )


def assert_unavailable(answer: requests.Response) -> None:
    """A clear 503 for an API client: JSON with a readable reason and a Retry-After."""
    assert answer.status_code == 503, answer.text
    body: dict[str, Any] = answer.json()
    assert body == {"error": body["error"], "status": 503}
    assert "database" in body["error"] and "Traceback" not in answer.text
    assert int(answer.headers["Retry-After"]) > 0


def send_owed_then_break(stack: Stack, at: int) -> None:
    """Clear the alarms; the provider holds the first message (it has it, alarmd waits
    for the answer) until ``stack.provider.release`` is set."""
    provider = stack.provider
    provider.hold(len(provider.bodies) + 1)
    stack.push(WAVES[1], at)
    assert provider.reached.wait(30), stack.alarmd.log()[-3000:]
    stack.wait_evaluated(WAVES[1])


def finish_and_check(stack: Stack, at: int) -> None:
    """The last two waves (the first may be pushed during the fault), then: every
    message once, alarmd never restarted."""
    stack.wait_evaluated(WAVES[2])
    stack.push(WAVES[3], at)
    stack.wait_evaluated(WAVES[3])
    outbox = stack.wait_all_sent()
    assert stack.alarmd.running, stack.alarmd.log()[-3000:]
    stack.alarmd.stop()
    received = stack.provider.received
    assert_every_event_told_once(received, outbox)
    assert set(received.values()) == {1}, "a message came twice"
    assert stack.alarmd.starts == 1
    assert "cannot log the send" in stack.alarmd.log()  # the held message waited in memory


def test_a_locked_sqlite_database_gives_503_keeps_both_programs_up_and_then_recovers(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///rexmon.db?timeout={BUSY_TIMEOUT}"
    with running_stack(tmp_path / "site", database_url=url) as stack:
        at = opened(stack, FIRE)
        stack.wait_evaluated(FIRE)
        send_owed_then_break(stack, at)
        with exclusive_lock(stack.web.directory / "rexmon.db"):
            stack.provider.release.set()
            assert_unavailable(file_downtime(stack))
            stack.push(WAVES[2], at + STEP)  # alarmd cannot store what it sees
            wait_for("a failed cycle", lambda: stack.alarmd.said("STATUS=last cycle failed"))
            assert stack.firing() == set()  # reading goes on (WAL)
            standby = Alarmd(stack.web.config_path, name="standby")
            try:
                standby.start()  # a restart, or a second host: it starts and waits
                wait_for("it to stand by", lambda: standby.said("STATUS=standing by"))
            finally:
                standby.close()
            assert requests.get(f"{stack.web.url}/healthz", timeout=10).ok
            assert stack.alarmd.running and stack.web.process is not None
            assert stack.web.process.poll() is None
        assert file_downtime(stack).status_code == 201
        finish_and_check(stack, at + 2 * STEP)
        assert "Traceback" not in stack.web.log()


@pytest.mark.postgres
def test_a_postgresql_restart_gives_503_meanwhile_and_alarmd_then_delivers_what_it_owed(
    tmp_path: Path, restartable_postgres: PostgresServer
) -> None:
    postgres = restartable_postgres
    with running_stack(tmp_path / "site", database_url=postgres.url) as stack:
        at = opened(stack, FIRE)
        stack.wait_evaluated(FIRE)
        send_owed_then_break(stack, at)
        postgres.stop()
        try:
            stack.provider.release.set()
            assert_unavailable(file_downtime(stack))
            alarms = requests.get(f"{stack.web.url}/api/v1/alarms", timeout=30)
            assert_unavailable(alarms)
            stack.push(WAVES[2], at + STEP)  # ingest needs no database
            wait_for("alarmd to stand by", lambda: stack.alarmd.said("STATUS=standing by"))
            assert stack.alarmd.running
        finally:
            postgres.start()
        assert file_downtime(stack).status_code == 201
        finish_and_check(stack, at + 2 * STEP)
        assert "Traceback" not in stack.web.log()
