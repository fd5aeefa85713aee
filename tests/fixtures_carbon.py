"""Fixtures: a real ``rexmon-carbon`` process on 127.0.0.1, port 0, fed by plain sockets.

``make_carbon(**carbon_section)`` writes a server config in ``tmp_path`` (its own archive,
small schemas so that thousands of metrics stay cheap) and starts the installed console
script; ``.stop()`` sends SIGTERM, waits, and returns the counters of its last log line.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

CARBON = Path(sys.executable).parent / "rexmon-carbon"
SMALL_SCHEMAS = "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:1d, 1h:7d\n"
_LISTENING = re.compile(r"listening on ([0-9.]+):(\d+)")


@dataclass
class CarbonProcess:
    """One running receiver and its log, read by a thread as it is written."""

    process: subprocess.Popen[str]
    root: Path
    config_path: Path
    port: int = 0
    log: list[str] = field(default_factory=list)

    def connect(self, source: str | None = None) -> socket.socket:
        """A TCP connection to the receiver, from ``source`` (another loopback address)."""
        return socket.create_connection(
            ("127.0.0.1", self.port), timeout=10, source_address=(source, 0) if source else None
        )

    def send(self, data: bytes, source: str | None = None) -> None:
        with self.connect(source) as connection:
            connection.sendall(data)

    def wait_for_log(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in list(self.log):
                found = re.search(pattern, line)
                if found:
                    return found
            if self.process.poll() is not None:
                break
            time.sleep(0.05)
        raise AssertionError(f"no log line matches {pattern!r}:\n" + "".join(self.log[-30:]))

    def stop(self) -> dict[str, int]:
        """SIGTERM; the totals of the last log line (``accepted``, reasons, closings)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=60) == 0, "".join(self.log[-30:])
        line = self.wait_for_log(r"carbon: totals (.*)").group(1)
        return {k: int(v) for k, v in (item.split("=") for item in line.split())}

    def rss_bytes(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


def write_carbon_config(
    directory: Path, carbon: dict[str, Any], archive: dict[str, Any] | None = None
) -> Path:
    (directory / "schemas.yaml").write_text(SMALL_SCHEMAS)
    section = {"listen": "127.0.0.1:0", "log_interval": "1s", **carbon}
    config = {"archive": {"root": "rrd", "schemas": "schemas.yaml", **(archive or {})}}
    config["carbon"] = section
    path = directory / "rexmon.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def start_carbon(config_path: Path, root: Path) -> CarbonProcess:
    process = subprocess.Popen(
        [str(CARBON), "--config", str(config_path), "run"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    carbon = CarbonProcess(process, root, config_path)

    def read() -> None:
        assert process.stderr is not None
        with process.stderr:
            for line in process.stderr:
                carbon.log.append(line)

    threading.Thread(target=read, daemon=True).start()
    carbon.port = int(carbon.wait_for_log(_LISTENING.pattern).group(2))
    return carbon


@pytest.fixture
def make_carbon(tmp_path: Path) -> Iterator[Callable[..., CarbonProcess]]:
    started: list[CarbonProcess] = []

    def make(archive: dict[str, Any] | None = None, **carbon: Any) -> CarbonProcess:
        directory = tmp_path / f"carbon{len(started)}"
        directory.mkdir(exist_ok=True)
        path = write_carbon_config(directory, carbon, archive)
        process = start_carbon(path, directory / "rrd")
        started.append(process)
        return process

    yield make
    for process in started:
        if process.process.poll() is None:
            process.process.kill()
            process.process.wait()
