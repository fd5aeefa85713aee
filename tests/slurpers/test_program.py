"""Programs that sources run are bounded in time and in output, their children too."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from slurpers.program import ProgramFailed, run_program
from tests.slurpers.helpers import fake_executable


def gone(pid: int) -> bool:
    """Dead: no such process, or a zombie waiting for its reaper."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def test_a_program_printing_forever_is_stopped_at_the_bound() -> None:
    started = time.monotonic()
    with pytest.raises(ProgramFailed, match="printed more than 1048576 bytes: stopped"):
        run_program(["yes"], timeout=30, max_bytes=1024**2)
    assert time.monotonic() - started < 5


def test_a_grandchild_holding_the_output_open_is_killed_with_its_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    plugin = fake_executable(tmp_path, "plugin", f"sleep 30 &\necho $! > {pidfile}\necho hi\n")
    started = time.monotonic()
    with pytest.raises(ProgramFailed, match="timed out after 0.5s"):
        run_program([str(plugin)], timeout=0.5)
    assert time.monotonic() - started < 3
    pid = int(pidfile.read_text())
    for _ in range(50):
        if gone(pid):
            break
        time.sleep(0.05)
    assert gone(pid)


def test_output_and_errors_are_read_and_bad_bytes_replaced(tmp_path: Path) -> None:
    plugin = fake_executable(tmp_path, "p", "printf 'ok \\377\\n'\necho oops >&2\nexit 2\n")
    done = run_program([str(plugin)], timeout=5)
    assert (done.returncode, done.stdout, done.stderr) == (2, "ok \ufffd\n", "oops\n")


def test_a_program_that_cannot_start_says_why(tmp_path: Path) -> None:
    with pytest.raises(ProgramFailed, match="cannot run .*nope: No such file"):
        run_program([str(tmp_path / "nope")], timeout=5)
