"""rrdtool's refusals, as the binding raises them, are read into their cause once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import rrdtool

from rrdarchive.errors import Cause, read_failure
from tests.plain_rrdtool import run_rrdtool

T0 = 1_699_999_980


def refusal(*args: str) -> str:
    try:
        rrdtool.update(*args)
    except rrdtool.OperationalError as exc:
        return str(exc)
    raise AssertionError("rrdtool took the update")


def a_file(tmp_path: Path) -> Path:
    path = tmp_path / "a.rrd"
    run_rrdtool(
        "create", str(path), "--start", str(T0), "--step", "60",
        "DS:value:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:10",
    )  # fmt: skip
    return path


def test_an_update_at_or_before_the_last_one_names_the_files_last_update(
    tmp_path: Path,
) -> None:
    path = a_file(tmp_path)
    rrdtool.update(str(path), f"{T0 + 120}:1")
    failure = read_failure(refusal(str(path), f"{T0 + 60}:2"))
    assert (failure.cause, failure.last_update) == (Cause.BEHIND, T0 + 120)
    assert not failure.cause.passing


def test_a_missing_file_a_locked_one_and_a_damaged_one_are_told_apart(tmp_path: Path) -> None:
    missing = read_failure(refusal(str(tmp_path / "none.rrd"), f"{T0 + 60}:1"))
    assert missing.cause is Cause.MISSING and not missing.cause.passing
    path = a_file(tmp_path)
    with subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(path)], stdout=subprocess.PIPE
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        locked = read_failure(refusal(str(path), f"{T0 + 60}:1"))
        holder.kill()
    assert locked.cause is Cause.LOCKED and locked.cause.passing
    path.write_bytes(b"not an rrd at all")
    damaged = read_failure(refusal(str(path), f"{T0 + 60}:1"))
    assert damaged.cause is Cause.OTHER and not damaged.cause.passing


LOCK_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(60)
"""
