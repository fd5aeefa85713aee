"""``make run``, that is ``rexmon-web demo``: the whole system on the embedded defaults
(etc/), run from a copy so that its var/ is in a temporary directory."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import requests

from tests.e2e.test_faults import BIN
from tests.faults import free_port

REPO = Path(__file__).resolve().parents[2]


def test_the_demo_starts_everything_fills_graphs_takes_a_push_and_stops_cleanly(
    tmp_path: Path,
) -> None:
    shutil.copytree(REPO / "etc", tmp_path / "etc")
    port = free_port()
    command = [str(BIN / "rexmon-web"), "--config", str(tmp_path / "etc" / "rexmon.yaml")]
    with subprocess.Popen(
        [*command, "demo", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group, as in a terminal
    ) as demo:
        run_and_stop(demo, port, tmp_path)


def run_and_stop(demo: subprocess.Popen[str], port: int, tmp_path: Path) -> None:
    output: list[str] = []
    reader = threading.Thread(target=lambda: output.extend(demo.stdout or []), daemon=True)
    reader.start()
    try:
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: f"rexmon is running: {url}" in "".join(output), output)
        children = psutil.Process(demo.pid).children(recursive=True)
        names = " ".join(" ".join(child.cmdline()) for child in children)
        assert "gunicorn" in names and "rexmon-alarmd" in names, names

        rrd = tmp_path / "var" / "rrd"  # the slurpers fill the archive on their own
        wait_for(lambda: list((rrd / "host").rglob("*.rrd")), output)
        wait_for(lambda: list((rrd / "demo").rglob("*.rrd")), output)
        token = (tmp_path / "var" / "demo-token").read_text().strip()
        now = int(time.time())  # the README's example: two samples, one step apart
        answer = requests.post(
            url + "/api/v1/samples",
            data=f"demo.curl.value 40 {now - 60}\ndemo.curl.value 42 {now}\n",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
            timeout=10,
        )
        assert answer.json() == {"accepted": 2, "rejected": []}
        stored = plain_fetch(tmp_path / "var" / "rrd" / "demo" / "curl" / "value.rrd", now)
        assert stored and all(40 <= value <= 42 for value in stored.values()), stored
        page = requests.get(url + "/", timeout=10)
        assert page.status_code == 200 and "demo" in page.text
        check_the_host_dashboard(url, "".join(output), rrd)
        check_the_printed_logins(url, "".join(output), tmp_path / "var" / "demo-logins")

        keep_alive = requests.Session()  # a browser's open connection and a request
        keep_alive.get(url + "/", timeout=10)  # still being sent hold up nothing
        with socket.create_connection(("127.0.0.1", port)) as in_flight:
            in_flight.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            started = time.monotonic()
            os.killpg(demo.pid, signal.SIGINT)  # Ctrl-C in the terminal
            assert demo.wait(timeout=30) == 0, "".join(output)[-3000:]
            assert time.monotonic() - started < 10
        keep_alive.close()
        reader.join(timeout=10)
        printed = "".join(output)
        assert "rexmon stopped." in printed
        assert "Traceback" not in printed, printed[-3000:]
        assert not [child for child in children if alive(child)]
    finally:
        if demo.poll() is None:  # a failed check: let the launcher stop its children
            demo.terminate()
            try:
                demo.wait(timeout=20)
            except subprocess.TimeoutExpired:
                demo.kill()
                demo.wait(timeout=10)
        reader.join(timeout=10)


def check_the_host_dashboard(url: str, printed: str, rrd: Path) -> None:
    """The printed dashboard shows this machine, the one host the demo's slurper fills."""
    assert f"dashboard:  {url}/d/host" in printed
    (host,) = [path.name for path in (rrd / "host").iterdir()]
    page = requests.get(f"{url}/d/host", timeout=30)
    assert page.status_code == 200, page.text
    assert f'<option value="{host}" selected>' in page.text
    images = re.findall(r'<img src="([^"]+)"', page.text)
    assert images
    for src in images:
        png = requests.get(url + src.replace("&amp;", "&"), timeout=30)
        assert png.status_code == 200 and png.content.startswith(b"\x89PNG"), src


def alive(process: psutil.Process) -> bool:
    """Running and not a zombie (an orphan the sandbox's init has not reaped yet)."""
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def check_the_printed_logins(url: str, printed: str, logins_file: Path) -> None:
    """The demo prints an admin and an operator login, kept in var/demo-logins (0600),
    and the operator can file a downtime with it."""
    assert logins_file.stat().st_mode & 0o777 == 0o600
    logins = dict(line.split(" ", 1) for line in logins_file.read_text().splitlines())
    assert set(logins) == {"admin", "operator"}
    for user, password in logins.items():
        assert f"log in:     {user} / {password}" in printed
    filed = requests.post(
        url + "/api/v1/downtimes",
        json={"scopes": ["demo.*"], "start": "now", "duration": "1h", "reason": "try it"},
        auth=("operator", logins["operator"]),
        timeout=10,
    )
    assert filed.status_code == 201, filed.text
    wrong = requests.get(url + "/api/v1/downtimes", auth=("operator", "wrong"), timeout=10)
    assert wrong.status_code == 401


def plain_fetch(path: Path, now: int) -> dict[int, float]:
    """What plain ``rrdtool fetch`` shows (known values only)."""
    done = subprocess.run(
        ["rrdtool", "fetch", str(path), "AVERAGE", "--start", str(now - 600), "--end", str(now)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    values = {}
    for line in done.stdout.splitlines():
        stamp, _, value = line.partition(":")
        if stamp.strip().isdigit() and "nan" not in value:
            values[int(stamp)] = float(value)
    return values


def wait_for(condition: Callable[[], object], output: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "".join(output)[-3000:]
        time.sleep(0.2)
