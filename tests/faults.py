"""Things that misbehave on purpose, shared by the fault tests: a notification provider
that can hold a request, go down or hang, and a process that holds SQLite's write lock."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

Key = tuple[str, str]  # a message: (title, body), what a receiver can deduplicate on


def stop_process(process: subprocess.Popen[Any], timeout: float = 30) -> None:
    """SIGTERM, as ``systemctl stop`` sends; SIGKILL if it has not ended in ``timeout``."""
    if process.poll() is None:
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Provider:
    """apprise's ``json://`` endpoint on a fixed port. ``up()`` answers 200 and keeps
    every body; ``down()`` refuses connections; ``hang()`` accepts and never answers.
    ``hold(n)`` keeps the n-th body's request unanswered (the provider has the message,
    alarmd has no answer) until ``release``; ``after(n)`` flags the n-th answer."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[dict[str, Any]] = []
        self.hung: list[socket.socket] = []
        self.reached = threading.Event()
        self.reached_with: Key | None = None  # the message of the armed request
        self.release = threading.Event()
        self._trigger: tuple[int, bool] | None = None
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._listener: socket.socket | None = None

    def url(self, path: str) -> str:
        return f"json://127.0.0.1:{self.port}/{path}"

    @property
    def received(self) -> Counter[Key]:
        with self._lock:
            return Counter((body["title"], body["message"]) for body in self.bodies)

    def hold(self, count: int) -> None:
        self._arm(count, True)

    def after(self, count: int) -> None:
        self._arm(count, False)

    def _arm(self, count: int, hold: bool) -> None:
        self.reached.clear()
        self.release.clear()
        self._trigger = (count, hold)

    def up(self) -> None:
        self.down()
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with provider._lock:
                    provider.bodies.append(body)
                    count = len(provider.bodies)
                trigger = provider._trigger
                if trigger is not None and trigger[0] == count:
                    provider.reached_with = (body["title"], body["message"])
                if trigger == (count, True):
                    provider.reached.set()
                    provider.release.wait(60)
                try:
                    self.send_response(200)
                    self.end_headers()
                except OSError:
                    pass  # alarmd was killed meanwhile
                if trigger == (count, False):
                    provider.reached.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def hang(self) -> None:
        self.down()
        listener = socket.create_server(("127.0.0.1", self.port))
        self._listener = listener

        def accept() -> None:
            while True:
                try:
                    self.hung.append(listener.accept()[0])
                except OSError:
                    return  # closed by down()

        threading.Thread(target=accept, daemon=True).start()

    def down(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._listener is not None:
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() in its thread
            self._listener.close()
            self._listener = None
            for connection in self.hung:
                connection.close()
            self.hung.clear()

    def close(self) -> None:
        self.release.set()
        self.down()


LOCKER = """
import sqlite3, sys
connection = sqlite3.connect(sys.argv[1], isolation_level=None)
connection.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()  # until the test closes our stdin
"""


@contextmanager
def exclusive_lock(database: Path) -> Iterator[None]:
    """Another process holding SQLite's write lock (``BEGIN EXCLUSIVE``) on ``database``."""
    command = [sys.executable, "-c", LOCKER, str(database)]
    with subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE) as locker:
        assert locker.stdout is not None
        assert locker.stdout.readline() == b"locked\n"
        yield  # leaving closes its stdin: it ends, the lock goes
