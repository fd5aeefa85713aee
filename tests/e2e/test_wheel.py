"""rexmon as a site installs it: from the wheel, in a fresh virtualenv, outside the checkout.

The sdist is built first and the wheel from it (``python -m build``), so both carry what
the product needs. A server venv (``rexmon[server]``) serves every page and static file
through ``rexmon-web serve``; a slurper venv (plain ``rexmon``) runs a slurper with no
librrd, Flask or apprise importable.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tarfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import yaml

from tests.fixtures_server import REPO
from web.auth.tokens import digest_token, new_token

PYTHON = sys.executable
INSTALL_TIMEOUT = 600
PAGES = ("/", "/alarms", "/downtimes", "/downtimes.ics", "/availability", "/healthz")
STATIC = sorted(  # every file the checkout serves, so a new one cannot be left out of the wheel
    str(path.relative_to(REPO / "web" / "static"))
    for path in (REPO / "web" / "static").rglob("*")
    if path.is_file()
)


def run(argv: list[str], cwd: Path, timeout: float = INSTALL_TIMEOUT) -> str:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("REXMON_", "VIRTUAL_"))}
    done = subprocess.run(
        argv, cwd=cwd, env=environ, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"{argv}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    run([PYTHON, "-m", "build", "--no-isolation", "--outdir", str(out), str(REPO)], REPO)
    return out


def wheel_of(dist: Path) -> Path:
    [wheel] = dist.glob("rexmon-*.whl")
    return wheel


def venv_with(directory: Path, requirement: str) -> Path:
    run([PYTHON, "-m", "venv", str(directory)], directory.parent)
    run([str(directory / "bin" / "pip"), "install", "-q", requirement], directory.parent)
    return directory / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_the_sdist_and_the_wheel_carry_the_templates_static_files_and_examples(
    dist: Path,
) -> None:
    names = set(zipfile.ZipFile(wheel_of(dist)).namelist())
    for needed in ("web/templates/base.html", "web/static/rexmon.css", "rexmon/metric.py"):
        assert needed in names
    [sdist] = dist.glob("rexmon-*.tar.gz")
    members = {name.split("/", 1)[1] for name in tarfile.open(sdist).getnames() if "/" in name}
    for needed in ("etc/rexmon.yaml", "systemd/rexmon-web.service", "web/templates/base.html"):
        assert needed in members


@pytest.fixture(scope="module")
def server_bin(dist: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return venv_with(tmp_path_factory.mktemp("server") / "venv", f"{wheel_of(dist)}[server]")


@pytest.fixture
def served(server_bin: Path, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """``rexmon-web serve`` from the installed wheel on a new site config: (url, token)."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "archive.yaml").write_text(
        "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:1d, 1h:30d\n"
    )
    token = new_token()
    config = {
        "site": {"name": "wheel test", "timezone": "UTC"},
        "archive": {"root": "rrd", "schemas": "archive.yaml"},
        "database": {"url": "sqlite:///rexmon.db"},
        "web": {
            "secret_key_file": "secret-key",
            "tokens": [{"name": "node01", "digest": digest_token(token), "metrics": ["*"]}],
        },
    }
    (site / "rexmon.yaml").write_text(yaml.safe_dump(config))
    port = free_port()
    command = [str(server_bin / "rexmon-web"), "--config", str(site / "rexmon.yaml"), "serve"]
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*command, "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            cwd=tmp_path,  # outside the checkout: nothing may come from it
            env={k: v for k, v in os.environ.items() if not k.startswith("REXMON_")},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, (
                f"rexmon-web serve did not come up:\n{log.read_text()}"
            )
            time.sleep(0.2)
        yield url, token
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_installed_wheel_serves_every_page_and_static_file(served: tuple[str, str]) -> None:
    url, token = served
    now = int(time.time())
    pushed = requests.post(
        f"{url}/api/v1/samples",
        json={"samples": [{"metric": "host.node01.load.1m", "time": now, "value": 0.5}]},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert pushed.status_code == 200, pushed.text
    for path in (*PAGES, "/metric/host.node01.load.1m", "/graph/host.node01.load.1m.png"):
        answer = requests.get(f"{url}{path}", timeout=30)
        assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])
    for name in STATIC:
        answer = requests.get(f"{url}/static/{name}", timeout=30)
        assert answer.status_code == 200 and answer.content, name


def test_a_slurper_node_installs_without_the_server_parts(dist: Path, tmp_path: Path) -> None:
    bin_dir = venv_with(tmp_path / "venv", str(wheel_of(dist)))
    for module in ("rrdtool", "flask", "apprise", "sqlalchemy", "gunicorn"):
        probe = subprocess.run(
            [str(bin_dir / "python"), "-c", f"import {module}"], capture_output=True, check=False
        )
        assert probe.returncode != 0, f"{module} is installed on a slurper node"
    (tmp_path / "slurpers.yaml").write_text(
        "server: {url: 'http://127.0.0.1:9', token: x}\nspool: {dir: spool}\n"
        "instances:\n  host: {source: host}\n"
    )
    printed = run(
        [str(bin_dir / "rexmon-slurp"), "--config", "slurpers.yaml", "--dry-run", "host"],
        tmp_path,
        timeout=60,
    )
    assert ".load.1m " in printed and ".memory." in printed
