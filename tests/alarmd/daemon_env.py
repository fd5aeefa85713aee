"""A real environment for daemon tests: archive files, SQLite, a local HTTP receiver.

Time is injected (one fake clock shared by the archive, the downtime store and the
daemon); only sends run in real threads, and :meth:`Environment.step` waits for them.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from alarmd.config import AlarmdConfig, DaemonConfig
from alarmd.daemon import Daemon
from alarmd.heartbeat import TickReport
from alarmd.leader import AlwaysLeader, Leadership
from alarmd.notify import Notifier
from alarmd.rules import AlarmConfig, parse_config
from alarmd.statestore import AlarmStore
from downtime.model import Draft, Kind
from downtime.policy import Actor
from downtime.store import DowntimeStore
from rexmon.database import open_database
from rexmon.sample import Sample
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rrdarchive.verdict import STORED
from tests.clock import Clock

STEP = 60
START = 1_800_000_000  # a multiple of STEP
METRIC = "host.n01.load"
ADMIN = Actor("admin")
NO_LOCK = AlwaysLeader()

RULES = """
receivers:
  oncall: json://127.0.0.1:{port}/
rules:
  - name: load
    match: host.*.load
    warning: "> 5"
    critical: "> 10"
    repeat: 30m
    receivers: [oncall]
"""


@dataclass
class Inbox:
    """A local HTTP endpoint for apprise's ``json://``; ``status`` 500 = provider down."""

    port: int = 0
    status: int = 200
    bodies: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0

    @property
    def titles(self) -> list[str]:
        return [body["title"] for body in self.bodies]


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    box = Inbox()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if box.status == 200:
                box.bodies.append(json.loads(data))
            else:
                box.refused += 1
            self.send_response(box.status)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    box.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box
    server.shutdown()
    server.server_close()
    thread.join()


class Environment:
    """Archive + database + receiver + daemon(s), all driven by one fake clock."""

    def __init__(
        self, tmp_path: Path, inbox: Inbox, rules: str = RULES, rrdcached: str | None = None
    ) -> None:
        self.tmp_path = tmp_path
        self.inbox = inbox
        self.clock = Clock(float(START))
        wal = tmp_path / "wal" if rrdcached else None
        config = ArchiveConfig.simple(tmp_path / "rrd", step=STEP, rrdcached=rrdcached, wal=wal)
        self.archive = Archive(config, self.clock)
        self.database_url = f"sqlite:///{tmp_path / 'rexmon.db'}"
        self.engine = open_database(self.database_url)
        self.downtimes = DowntimeStore(self.engine, clock=self.clock)
        self.downtimes.migrate()
        self.store = AlarmStore(self.engine)
        self.store.migrate()
        self.rules_text = rules.format(port=inbox.port)
        self.daemons: list[Daemon] = []
        self.daemon = self.new_daemon()

    def rules(self) -> AlarmConfig:
        return parse_config(self.rules_text, {}, "alarms.yaml")

    def new_daemon(
        self,
        leadership: Leadership | None = NO_LOCK,  # None: the daemon's default lock
        engine: Engine | None = None,
        settings: AlarmdConfig | None = None,
    ) -> Daemon:
        rules = self.rules()
        config = DaemonConfig(
            rules,
            settings or AlarmdConfig(rules=self.tmp_path / "alarms.yaml", send_timeout=5.0),
            load_rules=self.rules,
        )
        downtimes = self.downtimes if engine is None else DowntimeStore(engine, clock=self.clock)
        daemon = Daemon(
            config,
            self.archive,
            downtimes,
            Notifier(rules.receivers, timeout=5.0),
            self.clock,
            lambda seconds: None,
            leadership=leadership,
        )
        self.daemons.append(daemon)
        return daemon

    def write(self, value: float | None, metric: str = METRIC) -> None:
        if value is not None:
            assert self.archive.write([Sample(metric, int(self.clock.now), value)]) == [STORED]

    def step(self, value: float | None, metric: str = METRIC) -> TickReport:
        """One minute later: store ``value`` (None: no sample), tick, wait for the sends."""
        self.clock.now += STEP
        self.write(value, metric)
        report = self.daemon.tick()
        self.daemon.dispatcher.drain(10.0)
        return report

    def run(self, *values: float | None) -> list[TickReport]:
        return [self.step(value) for value in values]

    def downtime(self, start: float, end: float, scope: str = "host.n01.*", **extra: Any) -> int:
        extra.setdefault("kind", Kind.PLANNED)
        draft = Draft((scope,), int(start), int(end), "kernel update", **extra)
        return self.downtimes.add(draft, ADMIN).id

    def close(self) -> None:
        for daemon in self.daemons:
            daemon.close(timeout=1.0)
        self.archive.close()
        self.engine.dispose()


@pytest.fixture
def env(tmp_path: Path, inbox: Inbox) -> Iterator[Environment]:
    environment = Environment(tmp_path, inbox)
    yield environment
    environment.close()
