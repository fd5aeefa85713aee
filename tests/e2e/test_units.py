"""The systemd units of the central host: they verify, are hardened like the slurper
unit, and their command lines really start rexmon-web and rrdcached."""

from __future__ import annotations

import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import bcrypt
import pytest
import requests

from tests.faults import free_port
from tests.fixtures_server import write_server_config
from web.auth.tokens import new_token
from web.config import load_server_config

SYSTEMD = Path(__file__).resolve().parents[2] / "systemd"
UNITS = ("rexmon-web.service", "rexmon-rrdcached.service")
HARDENING = (
    "User=rexmon",
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    "ProtectHome=yes",
    "PrivateTmp=yes",
    "PrivateDevices=yes",
    "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6",
    "CapabilityBoundingSet=",
    "SystemCallFilter=@system-service",
)


def exec_start(name: str) -> list[str]:
    lines = (SYSTEMD / name).read_text().splitlines()
    found = [line for line in lines if line.startswith("ExecStart=")]
    assert len(found) == 1
    return shlex.split(found[0].removeprefix("ExecStart="))


@pytest.mark.parametrize("name", UNITS)
def test_the_units_run_as_rexmon_and_are_hardened(name: str) -> None:
    lines = (SYSTEMD / name).read_text().splitlines()
    for line in HARDENING:
        assert line in lines, (name, line)


def test_systemd_analyze_accepts_the_units(tmp_path: Path) -> None:
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed here")
    for name in UNITS:
        shutil.copy(SYSTEMD / name, tmp_path / name)
    done = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "rexmon" not in done.stderr, done.stderr


def test_the_web_unit_command_line_serves_the_app(tmp_path: Path) -> None:
    argv = exec_start("rexmon-web.service")
    assert argv[:2] == ["/usr/bin/env", "rexmon-web"]
    serve = argv.index("serve")
    options = argv[serve + 1 :]
    port = free_port()
    options[options.index("--bind") + 1] = f"127.0.0.1:{port}"
    config = write_server_config(tmp_path, new_token())
    command = [str(Path(sys.executable).with_name("rexmon-web")), "--config", str(config)]
    with (tmp_path / "log").open("wb") as log:
        process = subprocess.Popen([*command, "serve", *options], stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=2).ok:
                    break
            except requests.RequestException:
                pass
            assert process.poll() is None and time.monotonic() < deadline, (
                tmp_path / "log"
            ).read_text()[-2000:]
            time.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


def test_the_rrdcached_unit_command_line_starts_rrdcached(tmp_path: Path) -> None:
    argv = exec_start("rexmon-rrdcached.service")
    assert Path(argv[0]).name == "rrdcached"
    assert "-j" not in argv, "rrdcached's journal replay drops updates (docs/archive.md)"
    if not Path(argv[0]).exists():
        pytest.skip(f"{argv[0]} is not installed here")
    socket_dir = Path(tempfile.mkdtemp(prefix="rrdu-", dir="/tmp"))
    text = " ".join(argv)
    text = text.replace("/var/lib/rexmon", str(tmp_path)).replace(
        "/run/rexmon-rrdcached", str(socket_dir)
    )
    (tmp_path / "rrd").mkdir()
    args = shlex.split(text)
    group = args.index("-s")
    del args[group : group + 2]  # the rexmon group does not exist here
    with (tmp_path / "log").open("wb") as log:
        process = subprocess.Popen(args, stdout=log, stderr=log)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.socket(socket.AF_UNIX) as client:
                    client.connect(str(socket_dir / "rrdcached.sock"))
                    client.sendall(b"PING\n")
                    assert client.recv(64).startswith(b"0 PONG")
                    break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, (
                    tmp_path / "log"
                ).read_text()[-2000:]
                time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
        shutil.rmtree(socket_dir, ignore_errors=True)


def test_the_config_of_the_deployment_guide_loads(tmp_path: Path) -> None:
    repo = SYSTEMD.parent
    guide = (repo / "docs" / "deployment.md").read_text()
    found = re.search(r"`/etc/rexmon/rexmon.yaml`.*?```yaml\n(.*?)```", guide, re.S)
    assert found is not None
    (tmp_path / "rexmon.yaml").write_text(found.group(1).replace("/var/lib/rexmon", str(tmp_path)))
    for name in ("archive.yaml", "alarms.yaml"):
        shutil.copy(repo / "etc" / name, tmp_path / name)
    password = bcrypt.hashpw(b"pw", bcrypt.gensalt(4)).decode()
    (tmp_path / "users.htpasswd").write_text(f"alice:{password}\n")
    config = load_server_config(tmp_path / "rexmon.yaml")
    assert config.archive.rrdcached == "unix:/run/rexmon-rrdcached/rrdcached.sock"
    assert config.archive.rrdcached.removeprefix("unix:") in " ".join(
        exec_start("rexmon-rrdcached.service")
    )
    assert config.database.url.startswith("postgresql+psycopg://")
