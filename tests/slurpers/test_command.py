"""The command source, with real plugins from Debian's monitoring-plugins-basic."""

from __future__ import annotations

from pathlib import Path

import pytest

from rexmon.sample import DsType
from slurpers.sources.command import CommandOptions, collect
from tests.slurpers.helpers import fake_executable, make_run, values

PLUGINS = Path("/usr/lib/nagios/plugins")
needs_plugins = pytest.mark.skipif(
    not (PLUGINS / "check_load").exists(),
    reason="install monitoring-plugins-basic (Debian) for the real plugins",
)


@needs_plugins
def test_check_load_gives_its_state_and_three_load_averages() -> None:
    run = make_run(("host", "node01", "load"))
    options = CommandOptions((str(PLUGINS / "check_load"), "-w", "99,99,99", "-c", "99,99,99"))
    got = values(collect(options, run))
    assert got["host.node01.load.state"] == 0
    assert {"host.node01.load.load1", "host.node01.load.load5", "host.node01.load.load15"} <= set(
        got
    )
    assert run.problems == []


@needs_plugins
def test_check_disk_reports_the_root_mount_in_bytes() -> None:
    run = make_run(("host", "node01", "disk"))
    options = CommandOptions((str(PLUGINS / "check_disk"), "-w", "1%", "-c", "1%", "-p", "/"))
    got = values(collect(options, run))
    assert got["host.node01.disk.state"] in (0, 1, 2)
    assert got["host.node01.disk.root_bytes"] > 0
    assert run.problems == []


@needs_plugins
def test_check_procs_counts_processes_and_a_critical_plugin_says_state_2() -> None:
    run = make_run(("host", "node01", "procs"))
    got = values(collect(CommandOptions((str(PLUGINS / "check_procs"), "-c", "0:1")), run))
    assert got["host.node01.procs.state"] == 2
    assert got["host.node01.procs.procs"] > 1


@needs_plugins
def test_a_plugin_called_wrongly_is_unknown() -> None:
    run = make_run()
    got = values(collect(CommandOptions((str(PLUGINS / "check_load"),)), run))
    assert got == {"test.node01.state": 3}


def test_counters_and_plain_lines_are_read(tmp_path: Path) -> None:
    plugin = fake_executable(tmp_path, "check_x", "echo 'X OK | hits=42c t=5ms'\nexit 0\n")
    samples = list(collect(CommandOptions((str(plugin),)), make_run()))
    types = {s.metric: s.type for s in samples}
    assert types["test.node01.hits"] is DsType.COUNTER
    assert values(samples)["test.node01.t_seconds"] == pytest.approx(0.005)

    lines = fake_executable(tmp_path, "stats", "printf 'jobs.done 10\\nqueue 3\\n'\n")
    got = values(collect(CommandOptions((str(lines),), format="lines"), make_run()))
    assert got == {"test.node01.jobs.done": 10.0, "test.node01.queue": 3.0}


def test_a_hanging_command_is_stopped_and_reported_without_values(tmp_path: Path) -> None:
    slow = fake_executable(tmp_path, "slow", "exec sleep 30\n")
    run = make_run()
    assert list(collect(CommandOptions((str(slow),), timeout=0.3), run)) == []
    assert "timed out" in run.problems[0].message


def test_a_missing_command_is_reported(tmp_path: Path) -> None:
    run = make_run()
    assert list(collect(CommandOptions((str(tmp_path / "nope"),)), run)) == []
    assert "cannot run" in run.problems[0].message
