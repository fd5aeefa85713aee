"""The command source, with real plugins from Debian's monitoring-plugins-basic."""

from __future__ import annotations

from pathlib import Path

import pytest

from rexmon.checkresult import CheckState, check_from_json
from rexmon.sample import DsType, Sample
from rexmon.thresholds import Range
from slurpers.sources.command import CommandOptions, collect
from tests.slurpers.helpers import check_results, fake_executable, make_run, values

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
    types = {s.metric: s.type for s in samples if isinstance(s, Sample)}
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


@needs_plugins
@pytest.mark.parametrize(
    ("code", "state"),
    [
        (0, CheckState.OK),
        (1, CheckState.WARNING),
        (2, CheckState.CRITICAL),
        (3, CheckState.UNKNOWN),
    ],
)
def test_check_dummy_gives_a_check_result_for_each_exit_code(code: int, state: CheckState) -> None:
    run = make_run(("host", "node01", "dummy"))
    options = CommandOptions((str(PLUGINS / "check_dummy"), str(code), "all is said"))
    [check] = check_results(collect(options, run))
    assert check.check == "host.node01.dummy"
    assert check.state is state
    assert check.exit_status == code
    assert check.output == f"{state.name}: all is said"
    assert check.time == run.now
    assert check_from_json(check.to_json()) == check


@needs_plugins
def test_the_long_output_of_a_plugin_is_kept_apart_from_its_first_line() -> None:
    text = "disk sda failing\n<script>alert(1)</script>\nthird & last"
    options = CommandOptions((str(PLUGINS / "check_dummy"), "2", text))
    [check] = check_results(collect(options, make_run()))
    assert check.state is CheckState.CRITICAL
    assert check.output == "CRITICAL: disk sda failing"
    assert check.long_output == "<script>alert(1)</script>\nthird & last"  # raw


@needs_plugins
def test_a_plugin_that_prints_too_much_is_bounded() -> None:
    text = "first\n" + "x" * 100_000
    options = CommandOptions((str(PLUGINS / "check_dummy"), "1", text))
    [check] = check_results(collect(options, make_run()))
    assert len(check.long_output.encode()) <= 4096
    assert check.long_output.endswith("…")


@needs_plugins
def test_check_load_thresholds_come_with_the_check_result() -> None:
    run = make_run(("host", "node01", "load"))
    argv = (str(PLUGINS / "check_load"), "-w", "95,94,93", "-c", "99,98,97")
    [check] = check_results(collect(CommandOptions(argv), run))
    load1 = next(p for p in check.perfdata if p.label == "load1")
    assert load1.metric == "host.node01.load.load1"
    assert load1.limits.warn == Range(0.0, 95.0)
    assert load1.limits.crit == Range(0.0, 99.0)
    assert load1.limits.min == 0.0
    assert check.output.startswith("LOAD OK")


@needs_plugins
def test_check_disk_thresholds_are_in_bytes_like_its_samples() -> None:
    run = make_run(("host", "node01", "disk"))
    argv = (str(PLUGINS / "check_disk"), "-w", "10%", "-c", "5%", "-p", "/", "-u", "MB")
    collected = list(collect(CommandOptions(argv), run))
    [check] = check_results(collected)
    [root] = check.perfdata
    assert root.metric == "host.node01.disk.root_bytes"
    assert root.value == values(collected)["host.node01.disk.root_bytes"]
    assert root.limits.max is not None and root.limits.max > root.value > 0
    assert root.limits.warn is not None and root.limits.crit is not None
    # "-w 10%" free: warn above 90% used, critical above 95%
    assert root.limits.warn.end == pytest.approx(0.9 * root.limits.max, rel=0.01)
    assert root.limits.crit.end == pytest.approx(0.95 * root.limits.max, rel=0.01)


def test_a_bad_threshold_keeps_the_value_and_says_why(tmp_path: Path) -> None:
    plugin = fake_executable(tmp_path, "check_t", "echo 'OK | a=5;20:10;30 b=1%;80;90;0;100'\n")
    run = make_run()
    collected = list(collect(CommandOptions((str(plugin),)), run))
    assert values(collected)["test.node01.a"] == 5.0
    [check] = check_results(collected)
    a, b = check.perfdata
    assert a.limits.warn is None and "above its end" in run.problems[0].message
    assert b.limits.warn == Range(0.0, 0.8) and b.limits.max == 1.0
    assert b.metric == "test.node01.b_ratio" and b.uom == "%"


def test_a_plugin_that_never_stops_printing_is_stopped_and_sends_nothing() -> None:
    run = make_run()
    assert list(collect(CommandOptions(("yes", "OK | a=1")), run)) == []
    assert "printed more than" in run.problems[0].message
