from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"


def test_the_service_is_a_hardened_oneshot_as_an_unprivileged_user() -> None:
    text = (SYSTEMD / "rexmon-slurp@.service").read_text()
    for line in (
        "Type=oneshot",
        "User=rexmon",
        "ExecStart=/usr/bin/env rexmon-slurp %i --config /etc/rexmon/slurpers.yaml",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/spool/rexmon",
    ):
        assert line in text.splitlines()


def test_systemd_analyze_accepts_the_units(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    for name in ("rexmon-slurp@.service", "rexmon-slurp@.timer"):
        shutil.copy(SYSTEMD / name, tmp_path / name)
        (tmp_path / name.replace("@", "@host")).symlink_to(tmp_path / name)
    done = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            "--man=no",
            str(tmp_path / "rexmon-slurp@host.service"),
            str(tmp_path / "rexmon-slurp@host.timer"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "rexmon-slurp@" not in done.stderr, done.stderr
