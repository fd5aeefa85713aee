"""systemd/rexmon-carbon.service: hardened like the other units, accepted by systemd,
and its command line really starts the receiver."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_units import HARDENING
from tests.fixtures_carbon import start_carbon, write_carbon_config

UNIT = Path(__file__).resolve().parents[2] / "systemd" / "rexmon-carbon.service"


def test_the_carbon_unit_runs_as_rexmon_and_is_hardened() -> None:
    lines = UNIT.read_text().splitlines()
    for line in HARDENING:
        assert line in lines, line


def test_systemd_analyze_accepts_the_carbon_unit(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    shutil.copy(UNIT, tmp_path / UNIT.name)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(tmp_path / UNIT.name)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "rexmon" not in done.stderr, done.stderr


def test_the_unit_command_line_serves_and_stops_cleanly(tmp_path: Path) -> None:
    [line] = [x for x in UNIT.read_text().splitlines() if x.startswith("ExecStart=")]
    argv = shlex.split(line.removeprefix("ExecStart="))
    assert argv[:2] == ["/usr/bin/env", "rexmon-carbon"]
    assert argv[2:] == ["--config", "/etc/rexmon/rexmon.yaml", "run"]
    config = write_carbon_config(tmp_path, {})
    carbon = start_carbon(config, tmp_path / "rrd")
    assert Path(sys.executable).with_name("rexmon-carbon").exists()
    carbon.send(b"unit.test.x 1 -1\n")
    assert carbon.stop()["accepted"] == 1
