from __future__ import annotations

import getpass
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from downtime.cli import main
from tests.downtime.conftest import NOW, Clock

Run = Callable[..., Result]


@pytest.fixture
def config(tmp_path: Path, database_url: str) -> Path:
    path = tmp_path / "etc" / "rexmon.yaml"
    path.parent.mkdir()
    path.write_text(f"database:\n  url: {database_url}\nsite:\n  timezone: Europe/Zurich\n")
    return path


@pytest.fixture
def run(config: Path, clock: Clock) -> Run:
    def invoke(*args: str, ok: bool = True) -> Result:
        result = CliRunner().invoke(main, ["--config", str(config), *args], obj={"clock": clock})
        if ok:
            assert result.exit_code == 0, result.output
        return result

    return invoke


def test_add_list_show_end(run: Run, clock: Clock) -> None:
    added = run(
        "add",
        "--scope",
        "host.node01_*.*",
        "--start",
        "+1h",
        "--duration",
        "4h",
        "--reason",
        "kernel update",
    )
    assert "added downtime 1" in added.output
    assert "2026-03-17 13:00 +0100" in added.output  # NOW is 12:00 in Zurich
    run(
        "add",
        "--scope",
        "host.node02.*",
        "--start",
        "now",
        "--end",
        "+2h",
        "--reason",
        "fan",
        "--unplanned",
    )
    listing = run("list").output.splitlines()
    assert listing[0].split() == [
        "ID",
        "STATE",
        "KIND",
        "EFFECT",
        "START",
        "END",
        "SCOPES",
        "REASON",
    ]
    # ordered by start
    assert "active" in listing[1] and "unplanned" in listing[1] and "label" in listing[1]
    assert "upcoming" in listing[2] and "kernel update" in listing[2]
    assert len(run("list", "--active").output.splitlines()) == 2
    assert "no downtimes" in run("list", "--past").output
    assert "fan" not in run("list", "--scope", "host.node01_a.cpu.user").output
    assert "kernel" in run("list", "--scope", "host.node01_a.cpu.user").output

    clock.now = NOW + 600
    assert "ended downtime 2" in run("end", "2").output
    shown = run("show", "2").output
    assert "state:    past" in shown
    assert f"{getpass.getuser():<12} add" in shown
    assert "end " in shown and "ended: - -> " in shown


def test_edit_and_cancel_are_recorded(run: Run) -> None:
    run("add", "--scope", "host.node01.*", "--start", "+1h", "--duration", "1h", "--reason", "r")
    run(
        "--author",
        "bob",
        "edit",
        "1",
        "--reason",
        "new reason",
        "--duration",
        "3h",
        "--effect",
        "skip",
    )
    shown = run("show", "1").output
    assert "new reason" in shown and "effect:   skip" in shown
    assert "2026-03-17 16:00 +0100" in shown
    assert "bob" in shown and "edit" in shown
    assert "cancelled downtime 1" in run("cancel", "1").output
    assert "cancelled" in run("list", "--past").output
    failed = run("edit", "1", "--reason", "again", ok=False)
    assert failed.exit_code == 1 and "cancelled downtime cannot be changed" in failed.output


def test_a_recurring_downtime_and_one_of_its_windows(run: Run) -> None:
    run(
        "add",
        "--scope",
        "host.*",
        "--start",
        "2026-01-01T06:00",
        "--duration",
        "4h",
        "--reason",
        "patching",
        "--rrule",
        "FREQ=MONTHLY;BYDAY=3TU",
        "--until",
        "2026-12-31",
    )
    shown = run("show", "1").output
    assert "2026-04-21 06:00 +0200 - 2026-04-21 10:00 +0200" in shown
    run("edit", "1", "--occurrence", "2026-04-21T06:00", "--cancel-occurrence")
    windows = run("show", "1").output.split("audit trail:")[0]
    assert "2026-04-21 06:00" not in windows
    bad = run("edit", "1", "--occurrence", "2026-04-22T06:00", "--cancel-occurrence", ok=False)
    assert "--occurrence: no window of this series starts then" in bad.output


def test_a_flexible_downtime_needs_its_window_and_duration(run: Run) -> None:
    bad = run("add", "--scope", "a.*", "--reason", "r", "--flexible", "--duration", "1h", ok=False)
    assert bad.exit_code == 2 and "--flexible needs the window" in bad.output
    run("add", "--scope", "a.*", "--reason", "r", "--flexible", "--end", "+8h", "--duration", "1h")
    assert "flexible" in run("list", "--upcoming").output


def test_an_open_flexible_window_is_shown_waiting_for_a_problem(run: Run, clock: Clock) -> None:
    args = ("--scope", "a.*", "--reason", "r", "--flexible", "--duration", "20m")
    run("add", *args, "--start", "now", "--end", "+30m")
    run("add", *args, "--start", "+1h", "--end", "+2h")
    assert "state:    window open, waiting for a problem" in run("show", "1").output
    assert "state:    upcoming" in run("show", "2").output
    assert "window open, waiting for a problem" in run("list").output


def test_export_writes_icalendar(run: Run) -> None:
    run("add", "--scope", "host.node01.*", "--duration", "1h", "--reason", "r")
    text = run("export", "--ics").output
    assert text.startswith("BEGIN:VCALENDAR") and "UID:downtime-1@rexmon" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--end", "-1h"], "--end: the end must be after the start"),
        (["--scope", "", "--duration", "1h"], "--scope: metric glob must be a non-empty"),
        (["--start", "next tuesday", "--duration", "1h"], "--start: cannot read time"),
        (["--duration", "4 hours"], "--duration: expected a duration"),
        (["--duration", "1h", "--rrule", "FREQ=SOMETIMES"], "--rrule: invalid rule"),
        (["--duration", "1h", "--rrule", "FREQ=DAILY", "--until", "soon"], "--until: cannot"),
        (["--duration", "1h", "--reason", " "], "--reason: a reason is required"),
    ],
)
def test_bad_input_gives_a_clear_error(run: Run, args: list[str], message: str) -> None:
    base = ["add", "--reason", "r"]
    if "--scope" not in args:
        base += ["--scope", "host.node01.*"]
    result = run(*base, *args, ok=False)
    assert result.exit_code == 1
    assert f"Error: {message}" in result.output
    assert "Traceback" not in result.output


def test_exactly_one_of_end_and_duration_is_needed(run: Run) -> None:
    result = run("add", "--scope", "a.*", "--reason", "r", ok=False)
    assert result.exit_code == 2 and "exactly one of --end and --duration" in result.output


def test_an_unknown_id_is_a_clear_error(run: Run) -> None:
    result = run("show", "9", ok=False)
    assert result.exit_code == 1 and "Error: no downtime with id 9" in result.output


def test_a_bad_config_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rexmon.yaml"
    path.write_text("site:\n  timezone: Moon/Base\n")
    result = CliRunner().invoke(main, ["--config", str(path), "list"])
    assert result.exit_code == 1
    assert f"{path}:2: site.timezone: unknown time zone" in result.output


def test_the_audit_trail_shows_times_in_the_site_zone(run: Run) -> None:
    run("add", "--scope", "a.*", "--start", "+1h", "--duration", "1h", "--reason", "r")
    run("edit", "1", "--start", "+2h")
    shown = run("show", "1").output
    # NOW is 12:00 in Zurich: the start moved from 13:00 to 14:00 (and the end with it)
    assert "start: 2026-03-17 13:00 +0100 -> 2026-03-17 14:00 +0100" in shown
    assert "1773" not in shown.split("audit trail:")[1]  # no UNIX seconds
