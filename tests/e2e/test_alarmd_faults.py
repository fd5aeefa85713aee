"""Faults of the alarm daemon, end to end: gunicorn (``rexmon-web serve``) and
``rexmon-alarmd run`` started as their systemd units start them, in a temporary
directory; samples pushed over HTTP, alarm state read back over HTTP, notifications
posted by apprise (``json://``) to a local HTTP provider that can hold a request, go
down (connection refused) or hang (accepts, never answers).

The guarantee checked (docs/alarmd.md, "Delivery: at least once"): no notification is
lost; a message marked sent is never sent again; a message is sent twice only when
alarmd died after the provider had it and before it was marked sent — then the second
copy is identical (the dedup key of a receiver is the message's title and body), and
that is counted here kill by kill from the outbox as the killed process left it.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
import requests
import sqlalchemy as sa
import yaml

from alarmd import schema
from alarmd.outbox import Outcome
from downtime.config import resolve_url
from rexmon.database import open_database
from tests.e2e.test_faults import BIN, STEP, Served, aligned
from tests.faults import Key, Provider, stop_process

GROUPS = "abcdef"  # one rule and one receiver each
PER_GROUP = 4
METRICS = [f"host.{group}{n:02d}.load" for group in GROUPS for n in range(PER_GROUP)]
FIRE, CLEAR = 12.0, 1.0
WAVES = (FIRE, CLEAR, FIRE, CLEAR)
EXPECTED = ["CRITICAL FIRING", "RESOLVED", "CRITICAL FIRING", "RESOLVED"]
ALARMD = {"interval": "1s", "send_timeout": "2s", "send_workers": 4, "retry_delay": "1s"}
_EVENT = re.compile(r"(?P<what>.+): rule (?P<rule>\S+) on (?P<metric>\S+)\Z")


def wait_for(what: str, condition: Callable[[], object], timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# -- the daemon and the whole installation ---------------------------------------------------


class Alarmd:
    """``rexmon-alarmd run --config C`` in its own process, as its systemd unit runs it
    (``Type=notify``: started once it said ``READY=1`` on ``$NOTIFY_SOCKET``, which this
    object listens on; ``lines`` keeps what it said there, ``STATUS=`` after each cycle)."""

    def __init__(self, config_path: Path, name: str = "alarmd") -> None:
        self.config_path = config_path
        self.log_path = config_path.parent / f"{name}.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.lines: list[str] = []
        self._address = f"rexmon-test-{uuid4().hex}"  # abstract namespace
        self._socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._socket.bind("\0" + self._address)
        self._socket.settimeout(0.1)
        self._closed = threading.Event()
        self._listener = threading.Thread(target=self._listen, daemon=True)
        self._listener.start()

    def _listen(self) -> None:
        while not self._closed.is_set():
            try:
                self.lines.extend(self._socket.recv(4096).decode().splitlines())
            except TimeoutError:
                continue

    def said(self, line: str) -> int:
        """How many times it sent ``line`` (or a ``STATUS=`` starting with it)."""
        return sum(1 for said in list(self.lines) if said.startswith(line))

    def start(self) -> None:
        command = [str(BIN / "rexmon-alarmd"), "run", "--config", str(self.config_path)]
        environment = {**os.environ, "NOTIFY_SOCKET": "@" + self._address}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=log, cwd=self.config_path.parent, env=environment
            )
        self.starts += 1
        wait_for("READY=1", lambda: self.said("READY=1") == self.starts or not self.running)
        assert self.running, self.log()[-3000:]

    def kill(self) -> None:
        assert self.process is not None and self.process.poll() is None, self.log()[-3000:]
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)
        self.process = None

    def stop(self) -> None:
        """SIGTERM, as ``systemctl stop``: the cycle ends, the sends in flight finish."""
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def close(self) -> None:
        self.stop()
        self._closed.set()
        self._listener.join()
        self._socket.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


@dataclass
class Stack:
    """web + alarmd + provider sharing one config file, database and archive."""

    web: Served
    alarmd: Alarmd
    provider: Provider
    database_url: str

    def push(self, value: float, at: int) -> None:
        """``value`` for every metric at ``at``, over HTTP."""
        answer = self.web.push([{"metric": m, "time": at, "value": value} for m in METRICS])
        assert answer.status_code == 200 and answer.json()["accepted"] == len(METRICS), answer.text

    def alarms(self) -> dict[str, Any]:
        answer = requests.get(f"{self.web.url}/api/v1/alarms", timeout=10)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def firing(self) -> set[str]:
        return {alarm["metric"] for alarm in self.alarms()["firing"]}

    def wait_evaluated(self, value: float) -> None:
        """Until alarmd has stored the transitions caused by a wave of ``value``."""
        if value == FIRE:
            wait_for("the alarms to fire", lambda: self.firing() == set(METRICS))
        else:
            wait_for("the alarms to clear", lambda: self.firing() == set())

    def outbox(self) -> dict[Key, str]:
        """Every stored message and its status, read from the database."""
        engine = open_database(self.database_url)
        try:
            with engine.connect() as connection:
                rows = connection.execute(sa.select(schema.outbox)).mappings().all()
        finally:
            engine.dispose()
        keys = [(row["title"], row["body"]) for row in rows]
        assert len(set(keys)) == len(keys), "two stored messages a receiver cannot tell apart"
        return {(row["title"], row["body"]): row["status"] for row in rows}

    def wait_all_sent(self, timeout: float = 30) -> dict[Key, str]:
        outbox: dict[Key, str] = {}

        def all_sent() -> bool:
            nonlocal outbox
            outbox = self.outbox()
            return bool(outbox) and set(outbox.values()) == {Outcome.SENT}

        wait_for("every message to be sent", all_sent, timeout)
        return outbox


def rules_yaml(provider: Provider) -> str:
    rules = {
        "receivers": {group: provider.url(group) for group in GROUPS},
        "rules": [
            {
                "name": f"load-{group}",
                "match": f"host.{group}*.load",
                "critical": "> 10",
                "nodata": "1h",
                "receivers": [group],
            }
            for group in GROUPS
        ],
    }
    return yaml.safe_dump(rules)


@contextmanager
def running_stack(
    directory: Path, database_url: str | None = None, **settings: str
) -> Iterator[Stack]:
    """Web served, provider up, alarmd configured with :data:`ALARMD` and ``settings``
    (not started: see :func:`opened`)."""
    directory.mkdir(exist_ok=True)
    provider = Provider()
    web = Served(directory, workers=2)
    config = yaml.safe_load(web.config_path.read_text())
    if database_url is not None:
        config["database"]["url"] = database_url
    config["alarmd"] = {"rules": "alarms.yaml", **ALARMD, **settings}
    (directory / "alarms.yaml").write_text(rules_yaml(provider))
    web.config_path.write_text(yaml.safe_dump(config))
    alarmd = Alarmd(web.config_path)
    stack = Stack(web, alarmd, provider, resolve_url(config["database"]["url"], directory))
    try:
        provider.up()
        web.start()
        yield stack
    finally:
        alarmd.close()
        web.stop()
        provider.close()


def opened(stack: Stack, *values: float) -> int:
    """Every metric created with a quiet history (and ``values``), then alarmd started;
    the time to push the next wave at (one step apart from the next)."""
    at = aligned(30 * 60)
    for value in (CLEAR, CLEAR, *values):  # the first opens the files
        stack.push(value, at)
        at += STEP
    stack.alarmd.start()
    return at


def events(received: Counter[Key]) -> dict[Key, list[str]]:
    """(rule, metric) -> what the distinct messages said about it, in the order sent."""
    found: dict[Key, list[str]] = {}
    for _title, body in received:  # a Counter keeps the order of first arrival
        for paragraph in body.split("\n\n"):
            match = _EVENT.match(paragraph.splitlines()[0])
            assert match, paragraph
            found.setdefault((match["rule"], match["metric"]), []).append(match["what"])
    return found


def assert_every_event_told_once(
    received: Counter[Key], outbox: dict[Key, str], waves: int = len(WAVES)
) -> None:
    """No loss (each stored message arrived, each alarm's story of ``waves`` complete) and
    nothing a receiver could not deduplicate (no copy of anything that was not stored)."""
    assert set(received) == set(outbox), "received and stored messages differ"
    expected = {(f"load-{m.split('.')[1][0]}", m): EXPECTED[:waves] for m in METRICS}
    assert events(received) == expected


# -- tests ---------------------------------------------------------------------------------


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    with running_stack(tmp_path / "site") as running:
        yield running


def test_a_killed_alarmd_loses_no_notification_and_resends_only_what_it_had_not_marked(
    stack: Stack,
) -> None:
    provider, alarmd = stack.provider, stack.alarmd
    at = opened(stack)
    unmarked: Counter[Key] = Counter()  # kills that found the message stored, not sent
    marked: list[tuple[Key, int]] = []  # (message, copies) when a kill found it sent

    def kill_and_restart() -> None:
        alarmd.kill()
        left = stack.outbox()  # as the killed process left it: nothing changes it now
        copies = provider.received  # a message marked sent had arrived before its mark
        unmarked.update(key for key, status in left.items() if status != Outcome.SENT)
        marked.extend((key, copies[key]) for key, status in left.items() if status == Outcome.SENT)
        alarmd.start()

    # 1: the provider has the second message of the wave and has not answered yet
    provider.hold(len(provider.bodies) + 2)
    stack.push(WAVES[0], at)
    assert provider.reached.wait(30), alarmd.log()[-3000:]
    held = provider.reached_with
    assert held is not None
    kill_and_restart()
    provider.release.set()
    stack.wait_evaluated(WAVES[0])
    stack.wait_all_sent()

    # 2: just after the provider answered the third message of the wave
    provider.after(len(provider.bodies) + 3)
    stack.push(WAVES[1], at + STEP)
    assert provider.reached.wait(30), alarmd.log()[-3000:]
    kill_and_restart()
    stack.wait_evaluated(WAVES[1])

    # 3: right after the samples went in, evaluation and sending not done (or not begun)
    stack.push(WAVES[2], at + 2 * STEP)
    kill_and_restart()
    stack.wait_evaluated(WAVES[2])

    # 4: twice in a row: the first message of the wave held, then the restarted daemon
    # killed again as soon as it sent anything (the held message, most likely)
    provider.hold(len(provider.bodies) + 1)
    stack.push(WAVES[3], at + 3 * STEP)
    assert provider.reached.wait(30), alarmd.log()[-3000:]
    sent_before = len(provider.bodies)
    kill_and_restart()
    provider.release.set()
    wait_for("the restarted alarmd to send", lambda: len(provider.bodies) > sent_before)
    kill_and_restart()
    stack.wait_evaluated(WAVES[3])

    outbox = stack.wait_all_sent()
    alarmd.stop()
    received = provider.received
    assert_every_event_told_once(received, outbox)
    assert [(key, received[key]) for key, _ in marked] == marked, "sent again once marked"
    extra = {key: count - 1 for key, count in received.items() if count > 1}
    assert all(extra[key] <= unmarked[key] for key in extra), (extra, unmarked)
    assert extra.get(held) == 1, "the message the provider had at the kill came again"
    assert alarmd.starts == 6 and "Traceback" not in alarmd.log()


def test_a_provider_down_then_hanging_holds_up_nothing_and_then_gets_each_message_once(
    stack: Stack,
) -> None:
    provider, alarmd = stack.provider, stack.alarmd
    at = opened(stack)
    provider.down()
    stack.push(WAVES[0], at)
    stack.wait_evaluated(WAVES[0])  # evaluation goes on, the state is on the web

    def failures() -> int:
        log = stack.alarms()["notifications"]
        return sum(1 for row in log if row["outcome"] == "failed")

    wait_for("a failed attempt in the log on the web", lambda: failures() > 0)
    status = requests.get(f"{stack.web.url}/api/v1/status", timeout=10).json()
    assert status["state"] == "critical" and len(status["alarms"]) == len(METRICS)

    provider.hang()
    stack.push(WAVES[1], at + STEP)
    stack.wait_evaluated(WAVES[1])  # while a send hangs
    wait_for("a send to hang", lambda: provider.hung)
    before = failures()
    wait_for("the hanging send to count as failed", lambda: failures() > before)
    assert stack.outbox() and provider.bodies == []

    provider.up()
    outbox = stack.wait_all_sent(timeout=40)
    alarmd.stop()
    received = provider.received
    assert_every_event_told_once(received, outbox, waves=2)
    assert set(received.values()) == {1}, "a message came twice"
    assert alarmd.starts == 1 and "Traceback" not in alarmd.log()


def test_a_message_is_marked_sent_when_the_provider_answers_so_a_kill_then_repeats_nothing(
    tmp_path: Path,
) -> None:
    with running_stack(tmp_path / "site", interval="1h") as stack:  # one cycle, at start
        opened(stack, FIRE)
        outbox = stack.wait_all_sent()  # not at the next cycle, an hour away
        cycles = stack.alarmd.said("WATCHDOG=1")  # sent after each cycle
        stack.alarmd.kill()
        stack.alarmd.start()
        wait_for("a cycle of the new alarmd", lambda: stack.alarmd.said("WATCHDOG=1") > cycles)
        stack.alarmd.stop()
        assert stack.outbox() == outbox
        received = stack.provider.received
        assert_every_event_told_once(received, outbox, waves=1)
        assert set(received.values()) == {1}, "a message came twice"
