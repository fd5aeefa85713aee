"""A client for rrdcached's line protocol (unix or TCP socket) that checks every reply.

The Python rrdtool binding takes an unreachable daemon for success; this client never
does: a connection that cannot be made or breaks raises :class:`ArchiveError`. Updates go
in one ``BATCH``; the daemon answers after the final ``.`` with an error count and one
line per failed command, numbered from 1, and every line is read and mapped back.

Paths: over a unix socket the daemon gets absolute paths; over TCP it gets paths relative
to the archive root, so the daemon must run with ``-b <archive root>`` (as librrd's own
client demands). One connection per client, guarded by a lock; :attr:`epoch` counts
connections made, so a caller can tell whether the daemon may have restarted (which
drops every connection) between two points in time.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import NoReturn

from rrdarchive.errors import ArchiveError

DEFAULT_TIMEOUT = 60.0
MAX_NAMES = 1_000_000
# rrdcached reads each connection into a fixed buffer of 2 * RRD_CMD_MAX = 8192 bytes
# (rrd_daemon.c RBUF_SIZE); a line longer than that, newline included, fills it and the
# daemon drops the connection. Lines are cut at half that, a margin for other builds.
LINE_LIMIT = 8192
LINE_BUDGET = LINE_LIMIT // 2

LineError = tuple[int, int, str]
"""A refused UPDATE line: (position of its first value, position after its last, message)."""


class RrdcachedClient:
    """One connection to rrdcached at ``address`` (``unix:/path`` or ``host:port``)."""

    def __init__(self, address: str, root: Path, *, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.address = address
        self.root = root
        self.timeout = timeout
        self.epoch = 0
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._buffer = b""
        self._unix = address.startswith("unix:")
        self._names: dict[Path, str] = {}

    # -- public commands ----------------------------------------------------------------

    def name(self, path: Path) -> str:
        """The file name as the daemon wants it; remembered, as every update asks for it
        (``relative_to``, for TCP, costs more than the rest of an update)."""
        name = self._names.get(path)
        if name is None:
            name = str(path) if self._unix else path.relative_to(self.root).as_posix()
            if len(self._names) < MAX_NAMES:
                self._names[path] = name
        return name

    def batch(self, commands: Sequence[str]) -> tuple[dict[int, str], int]:
        """Send ``commands`` in one BATCH: ({0-based index: error}, the connection's epoch)."""
        if not commands:
            return {}, self.epoch
        with self._lock:
            self._begin("BATCH", expect_ok=True)
            payload = "".join(f"{command}\n" for command in commands) + ".\n"
            self._send("BATCH", payload)
            status, text = self._status_line("BATCH")
            errors: dict[int, str] = {}
            for _ in range(max(status, 0)):
                line = self._line("BATCH")
                number, _, message = line.partition(" ")
                if not number.isdigit() or not 1 <= int(number) <= len(commands):
                    self._fail("BATCH", f"unexpected reply line {line!r}")
                errors[int(number) - 1] = message
            if status < 0:
                self._fail("BATCH", text)
            return errors, self.epoch

    def update(
        self, updates: Iterable[tuple[Path, Sequence[str]]]
    ) -> tuple[dict[int, list[LineError]], int]:
        """UPDATE each file with its ``time:value`` strings, in one BATCH: the only place
        UPDATE lines are built. A file's values are cut into lines under
        :data:`LINE_BUDGET` bytes, sent in order; rrdcached applies each line up to the
        value it refuses, and the lines after it on their own. Answers, per update index,
        the refused lines, and the connection's epoch."""
        commands: list[str] = []
        owners: list[tuple[int, int, int]] = []
        for number, (path, values) in enumerate(updates):
            head = f"UPDATE {self.name(path)}"
            if len(values) == 1 and len(head) + len(values[0]) < LINE_BUDGET:
                commands.append(f"{head} {values[0]}")  # the common case
                owners.append((number, 0, 1))
                continue
            start, size = 0, len(head)
            for position, value in enumerate(values):
                if position > start and size + 1 + len(value) >= LINE_BUDGET:
                    commands.append(" ".join([head, *values[start:position]]))
                    owners.append((number, start, position))
                    start, size = position, len(head)
                size += 1 + len(value)
            commands.append(" ".join([head, *values[start:]]))
            owners.append((number, start, len(values)))
        errors, epoch = self.batch(commands)
        refused: dict[int, list[LineError]] = {}
        for index in sorted(errors):
            number, start, end = owners[index]
            refused.setdefault(number, []).append((start, end, errors[index]))
        return refused, epoch

    def flush(self, path: Path) -> None:
        """Write the pending values of one file to disk and wait for it."""
        status, text, _ = self.command(f"FLUSH {self.name(path)}")
        if status < 0:
            raise ArchiveError(str(path), "rrdcached FLUSH", text)

    def flush_many(self, paths: Sequence[Path]) -> tuple[dict[int, str], int]:
        """FLUSH several files in one BATCH (each waits for its write); see :meth:`batch`."""
        return self.batch([f"FLUSH {self.name(path)}" for path in paths])

    def flushall(self) -> None:
        status, text, _ = self.command("FLUSHALL")
        if status < 0:
            raise ArchiveError(self.address, "rrdcached FLUSHALL", text)

    def pending(self, path: Path) -> list[str]:
        """The ``time:value`` updates the daemon holds for ``path`` and has not written."""
        status, text, lines = self.command(f"PENDING {self.name(path)}")
        if status < 0:
            raise ArchiveError(str(path), "rrdcached PENDING", text)
        return lines

    def stats(self) -> dict[str, int]:
        status, text, lines = self.command("STATS")
        if status < 0:
            raise ArchiveError(self.address, "rrdcached STATS", text)
        result: dict[str, int] = {}
        for line in lines:
            key, _, value = line.partition(":")
            result[key.strip()] = int(value.strip())
        return result

    def ping(self) -> int:
        """Check the daemon answers (reconnecting if needed); the connection's epoch."""
        status, text, _ = self.command("PING")
        if status < 0:
            raise ArchiveError(self.address, "rrdcached PING", text)
        return self.epoch

    def command(self, command: str) -> tuple[int, str, list[str]]:
        """One plain command: (status, message, the lines that follow a positive status)."""
        with self._lock:
            status, text = self._begin(command, expect_ok=False)
            return status, text, [self._line(command) for _ in range(max(status, 0))]

    def close(self) -> None:
        with self._lock:
            self._drop()

    # -- connection ---------------------------------------------------------------------

    def _begin(self, command: str, *, expect_ok: bool) -> tuple[int, str]:
        """Send the first line of a request; retry once on a fresh connection if an old
        one turns out dead (nothing of the request was taken by the daemon then)."""
        reused = self._sock is not None
        try:
            self._connect(command)
            self._send(command, command + "\n", keep=reused)
            status, text = self._status_line(command, keep=reused)
        except _StaleConnection:
            self._connect(command)
            self._send(command, command + "\n")
            status, text = self._status_line(command)
        if expect_ok and status < 0:
            self._fail(command, text)
        return status, text

    def _connect(self, command: str) -> None:
        if self._sock is not None:
            return
        try:
            if self._unix:
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                target: str | tuple[str, int] = self.address[len("unix:") :]
            else:
                host, _, port = self.address.rpartition(":")
                sock = socket.socket(
                    socket.AF_INET6 if host.startswith("[") else socket.AF_INET,
                    socket.SOCK_STREAM,
                )
                target = (host.strip("[]"), int(port))
            sock.settimeout(self.timeout)
            try:
                sock.connect(target)
            except OSError:
                sock.close()
                raise
        except OSError as exc:
            raise ArchiveError(
                self.address, f"rrdcached {command.split()[0]}", f"cannot connect: {exc}"
            ) from None
        self._sock = sock
        self._buffer = b""
        self.epoch += 1

    def _send(self, command: str, text: str, *, keep: bool = False) -> None:
        assert self._sock is not None
        try:
            self._sock.sendall(text.encode("ascii"))
        except OSError as exc:
            self._lost(command, str(exc), keep)

    def _status_line(self, command: str, *, keep: bool = False) -> tuple[int, str]:
        line = self._line(command, keep=keep)
        code, _, text = line.partition(" ")
        try:
            return int(code), text
        except ValueError:
            self._fail(command, f"unexpected reply {line!r}")

    def _line(self, command: str, *, keep: bool = False) -> str:
        assert self._sock is not None
        while b"\n" not in self._buffer:
            try:
                chunk = self._sock.recv(65536)
            except OSError as exc:
                self._lost(command, str(exc), keep)
            if not chunk:
                self._lost(command, "connection closed by rrdcached", keep)
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line.decode("utf-8", "replace")

    def _lost(self, command: str, reason: str, stale_allowed: bool) -> NoReturn:
        self._drop()
        if stale_allowed:
            raise _StaleConnection
        self._fail(command, reason)

    def _fail(self, command: str, message: str) -> NoReturn:
        """Raise ArchiveError; a protocol error leaves the connection in an unknown state."""
        self._drop()
        raise ArchiveError(self.address, f"rrdcached {command.split()[0]}", message)

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            finally:
                self._sock = None
                self._buffer = b""


class _StaleConnection(Exception):
    """An idle connection was found dead before the daemon took any of the request."""
