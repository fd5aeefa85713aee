from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from alarmd.alarmstate import AlarmState
from alarmd.heartbeat import TickReport
from alarmd.sdnotify import SystemdNotifier
from alarmd.statestore import AlarmStore
from rexmon.database import open_database
from rexmon.sample import Sample
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rrdarchive.verdict import STORED
from tests.alarmd.daemon_env import METRIC, Environment, Inbox, env, inbox

__all__ = ["env", "inbox"]  # fixtures

BIN = Path(sys.executable).parent


@pytest.fixture
def notify_socket(tmp_path: Path) -> Iterator[tuple[str, socket.socket]]:
    """A real unix datagram socket standing in for systemd's."""
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0)
    yield path, sock
    sock.close()


def received(sock: socket.socket) -> list[str]:
    found = []
    while True:
        try:
            found.append(sock.recv(4096).decode())
        except BlockingIOError:
            return found


def test_the_notifier_speaks_the_systemd_protocol_over_a_datagram_socket(
    notify_socket: tuple[str, socket.socket],
) -> None:
    path, sock = notify_socket
    notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"})
    assert notifier.enabled and notifier.watchdog == 20.0
    assert notifier.ready("up") and notifier.ping() and notifier.stopping()
    assert received(sock) == ["READY=1\nSTATUS=up", "WATCHDOG=1", "STOPPING=1"]


def test_the_notifier_does_nothing_outside_systemd_and_never_blocks_nor_raises(
    tmp_path: Path, notify_socket: tuple[str, socket.socket]
) -> None:
    assert not SystemdNotifier({}).ready()
    assert SystemdNotifier({}).watchdog is None
    assert not SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "missing.sock")}).ping()
    full = SystemdNotifier({"NOTIFY_SOCKET": notify_socket[0]})
    results = [full.ping() for _ in range(2000)]  # nobody reads: the queue fills up
    assert results[0] and not results[-1]


def test_run_ticks_every_interval_pings_the_watchdog_and_stops_on_sigterm(
    env: Environment, notify_socket: tuple[str, socket.socket]
) -> None:
    path, sock = notify_socket
    daemon = env.daemon
    daemon.systemd = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"})
    sleeps: list[float] = []
    ticks_at: list[float] = []
    original_tick = daemon.tick

    def tick() -> TickReport:
        ticks_at.append(env.clock.now)
        env.write(12)
        return original_tick()

    messages: list[str] = []

    def sleep(seconds: float) -> None:
        messages.extend(received(sock))  # as systemd would: the queue holds 10 datagrams
        sleeps.append(seconds)
        env.clock.now += seconds
        if len(ticks_at) == 3:
            os.kill(os.getpid(), signal.SIGTERM)

    before = signal.getsignal(signal.SIGTERM)
    daemon.tick = tick  # type: ignore[method-assign]
    daemon.sleep = sleep
    env.clock.now += 60
    start = env.clock.now
    daemon.run()
    assert ticks_at == [start, start + 30, start + 60]
    assert sleeps[:3] == [10.0, 10.0, 10.0]  # half the watchdog period
    messages.extend(received(sock))
    assert messages[0].startswith("READY=1")
    assert sum(m.startswith("WATCHDOG=1") for m in messages) >= 6
    assert messages[-1] == "STOPPING=1"
    assert signal.getsignal(signal.SIGTERM) is before  # handlers restored
    assert env.inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]


def test_sighup_reloads_the_rules_at_the_next_tick(env: Environment) -> None:
    daemon = env.daemon
    calls = 0

    def sleep(seconds: float) -> None:
        nonlocal calls
        calls += 1
        env.clock.now += seconds
        if calls == 1:
            env.rules_text = env.rules_text.replace("name: load", "name: load2")
            os.kill(os.getpid(), signal.SIGHUP)
        else:
            daemon.stop()

    daemon.sleep = sleep
    env.clock.now += 60
    env.write(1)
    daemon.run()
    assert [rule.name for rule in daemon.config.rules.rules] == ["load2"]


def test_a_failing_cycle_is_logged_and_the_loop_goes_on(
    env: Environment, caplog: pytest.LogCaptureFixture
) -> None:
    daemon = env.daemon
    ticks = 0

    def tick() -> TickReport:
        nonlocal ticks
        ticks += 1
        raise RuntimeError("database gone")

    def sleep(seconds: float) -> None:
        env.clock.now += seconds
        if ticks == 2:
            daemon.stop()

    daemon.tick = tick  # type: ignore[method-assign]
    daemon.sleep = sleep
    daemon.run()
    assert ticks == 2
    assert "alarm cycle failed" in caplog.text


def write_site(directory: Path, inbox: Inbox) -> Path:
    """A site config with one rule on ``host.*.load`` that tells ``inbox``."""
    (directory / "archive.yaml").write_text(
        "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:1d\n"
    )
    (directory / "alarms.yaml").write_text(
        f"receivers:\n  oncall: json://127.0.0.1:{inbox.port}/\nrules:\n"
        "  - {name: load, match: 'host.*.load', critical: '> 10', receivers: [oncall]}\n"
    )
    config = directory / "rexmon.yaml"
    config.write_text(
        "site: {timezone: UTC}\narchive: {root: rrd, schemas: archive.yaml}\n"
        "database: {url: 'sqlite:///rexmon.db'}\nalarmd: {rules: alarms.yaml, interval: 1m}\n"
    )
    return config


def test_rexmon_alarmd_run_once_as_a_real_process(tmp_path: Path, inbox: Inbox) -> None:
    config = write_site(tmp_path, inbox)
    now = int(time.time()) // 60 * 60
    with Archive(ArchiveConfig.simple(tmp_path / "rrd", step=60)) as archive:
        assert (
            archive.write([Sample(METRIC, now - 120, 3.0), Sample(METRIC, now - 60, 12.0)])
            == [STORED] * 2
        )
    command = [str(BIN / "rexmon-alarmd"), "run", "--config", str(config), "--once"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert "1 alarms, 1 changed, 1 events, 1 messages" in result.stdout
    assert inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]
    engine = open_database(f"sqlite:///{tmp_path / 'rexmon.db'}")
    try:
        [record] = AlarmStore(engine).records()
        assert record.state is AlarmState.FIRING
        assert AlarmStore(engine).outbox.log()[0].outcome == "sent"
    finally:
        engine.dispose()
    again = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert again.returncode == 0, again.stderr
    assert len(inbox.bodies) == 1


def test_run_reports_a_bad_config_without_a_traceback(tmp_path: Path) -> None:
    config = tmp_path / "rexmon.yaml"
    config.write_text("archive: {root: rrd}\nalarmd: {interval: often}\n")
    (tmp_path / "archive.yaml").write_text(
        "schemas:\n  - {match: '*', step: 1m, retention: 1m:1d}\n"
    )
    result = subprocess.run(
        [str(BIN / "rexmon-alarmd"), "run", "--config", str(config), "--once"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"{config}:2: alarmd.interval: expected a duration" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_flexible_downtime_filed_over_a_firing_alarm_silences_its_recovery(
    tmp_path: Path, inbox: Inbox
) -> None:
    """Through the real programs: ``rexmon-downtime add --flexible`` over an alarm that
    fires, then ``rexmon-alarmd run --once``: the downtime starts at once, and the
    recovery inside it is not sent."""
    config = write_site(tmp_path, inbox)
    now = int(time.time()) // 60 * 60
    archive_config = ArchiveConfig.simple(tmp_path / "rrd", step=60)
    with Archive(archive_config) as archive:
        assert archive.write([Sample(METRIC, now - 120, 3.0), Sample(METRIC, now - 60, 12.0)])
    alarmd = [str(BIN / "rexmon-alarmd"), "run", "--config", str(config), "--once"]
    downtime = [str(BIN / "rexmon-downtime"), "--config", str(config)]

    def run(command: list[str]) -> str:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        assert done.returncode == 0, done.stderr
        return done.stdout

    run(alarmd)
    assert inbox.titles == ["[rexmon] CRITICAL FIRING: load on host.n01.load"]
    run(
        [*downtime, "add", "--scope", "host.n01.*", "--flexible", "--start", "now"]
        + ["--end", "+30m", "--duration", "20m", "--reason", "reboot if it stays"]
    )
    assert "window open, waiting for a problem" in run([*downtime, "show", "1"])
    run(alarmd)
    shown = run([*downtime, "show", "1"])
    assert "state:    active" in shown and "triggered:" in shown
    with Archive(archive_config) as archive:
        assert archive.write([Sample(METRIC, now, 3.0)]) == [STORED]
    run(alarmd)
    assert len(inbox.bodies) == 1  # the recovery waits for the end of the downtime


def test_run_logs_with_journald_priorities_or_as_json(tmp_path: Path, inbox: Inbox) -> None:
    config = write_site(tmp_path, inbox)
    command = [str(BIN / "rexmon-alarmd"), "--config", str(config), "run", "--once"]

    def stderr_of(*extra: str, **env: str) -> list[str]:
        environ = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"} | env
        done = subprocess.run(
            [*command, *extra], capture_output=True, text=True, timeout=60, env=environ
        )
        assert done.returncode == 0, done.stderr
        return done.stderr.splitlines()

    journal = stderr_of(JOURNAL_STREAM="8:1234")
    assert journal and all(line.startswith("<6>") for line in journal), journal
    assert any("using " in line and "(--config)" in line for line in journal)
    lines = [json.loads(line) for line in stderr_of("--log-format", "json")]
    assert {line["level"] for line in lines} == {"info"}
    assert any(line["message"].startswith("using ") for line in lines)
