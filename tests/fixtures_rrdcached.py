"""Fixtures: a real rrdcached on a unix socket in ``tmp_path``.

``rrdcached`` yields a running :class:`Rrdcached` whose base directory (``-b``, with
``-B``) is ``<tmp_path>/rrd``, meant to be the archive root; ``start_rrdcached`` builds
others (another base directory, other timings). The daemon writes files only when told to
(``-w 3600``) so tests can tell cached data from data on disk, and flushes everything on a
clean stop (``-F``); it runs without a journal, as deployed (see docs/archive.md).
``.kill()`` sends SIGKILL (a crash), ``.restart()`` starts it again on the same socket.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.faults import stop_process

RRDCACHED = shutil.which("rrdcached") or "/usr/bin/rrdcached"


class Rrdcached:
    """One rrdcached process (restartable) and where it keeps things."""

    def __init__(self, workdir: Path, base_dir: Path, *, write_interval: int = 3600) -> None:
        self.workdir = workdir
        self.base_dir = base_dir.resolve()
        # unix socket paths are limited to ~100 bytes; pytest's tmp_path can be longer
        self._socket_dir = Path(tempfile.mkdtemp(prefix="rrdc-", dir="/tmp"))
        self.socket = self._socket_dir / "sock"
        self.log = workdir / "rrdcached.log"
        self.write_interval = write_interval
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"unix:{self.socket}"

    def start(self, timeout: float = 10.0) -> None:
        assert self.process is None, "already running"
        self.base_dir.mkdir(parents=True, exist_ok=True)
        self.socket.unlink(missing_ok=True)
        command = [
            RRDCACHED, "-g", "-F", "-B", "-R",
            "-l", self.address,
            "-b", str(self.base_dir),
            "-p", str(self.workdir / "rrdcached.pid"),
            "-w", str(self.write_interval), "-z", "1", "-f", str(2 * self.write_interval),
            "-t", "2",
        ]  # fmt: skip
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"rrdcached did not start: {self.log.read_text()[-2000:]}")
            time.sleep(0.02)

    def _answers(self) -> bool:
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.settimeout(1.0)
                sock.connect(str(self.socket))
                sock.sendall(b"PING\n")
                return sock.recv(64).startswith(b"0 PONG")
        except OSError:
            return False

    def kill(self) -> None:
        """SIGKILL: the daemon dies without writing or syncing anything."""
        if self.process is not None:
            if self.process.poll() is None:
                os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=10)
            self.process = None

    def stop(self) -> None:
        """SIGTERM: a clean stop, pending values written (``-F``)."""
        if self.process is not None:
            stop_process(self.process, timeout=20)
            self.process = None

    def remove(self) -> None:
        """Stop and delete the socket directory."""
        self.stop()
        shutil.rmtree(self._socket_dir, ignore_errors=True)

    def restart(self) -> None:
        """Stop (cleanly, if it still runs) and start again on the same socket."""
        self.stop()
        self.start()


@pytest.fixture
def start_rrdcached(tmp_path: Path) -> Iterator[Callable[..., Rrdcached]]:
    """Factory: ``start_rrdcached(base_dir, write_interval=3600)``; all stopped at teardown."""
    started: list[Rrdcached] = []

    def start(base_dir: Path, *, write_interval: int = 3600) -> Rrdcached:
        workdir = tmp_path / f"rrdcached{len(started)}"
        workdir.mkdir()
        daemon = Rrdcached(workdir, base_dir, write_interval=write_interval)
        started.append(daemon)
        daemon.start()
        return daemon

    yield start
    for daemon in started:
        daemon.remove()


@pytest.fixture
def rrdcached(start_rrdcached: Callable[..., Rrdcached], tmp_path: Path) -> Rrdcached:
    """A running rrdcached whose base directory is ``tmp_path / "rrd"``."""
    return start_rrdcached(tmp_path / "rrd")
