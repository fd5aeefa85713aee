"""``make run``, that is ``rexmon-web demo``: the whole system on the embedded defaults
(etc/), run from a copy so that its var/ is in a temporary directory."""

from __future__ import annotations

import shutil
import signal
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
        answer = requests.post(
            url + "/api/v1/samples",
            data=f"demo.curl.value 42 {int(time.time())}",
            headers={"Authorization": f"Bearer {token}", "Content-Type": "text/plain"},
            timeout=10,
        )
        assert answer.json() == {"accepted": 1, "rejected": []}
        page = requests.get(url + "/", timeout=10)
        assert page.status_code == 200 and "demo" in page.text

        demo.send_signal(signal.SIGTERM)
        assert demo.wait(timeout=60) == 0, "".join(output)[-3000:]
        reader.join(timeout=10)
        assert "rexmon stopped." in "".join(output)
        assert not [child for child in children if child.is_running()]
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(timeout=10)


def wait_for(condition: Callable[[], object], output: list[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "".join(output)[-3000:]
        time.sleep(0.2)
