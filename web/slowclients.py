"""gunicorn's threaded worker with read deadlines, so slow clients cannot hold every thread.

gthread hands a connection to a pool thread as soon as its first byte arrives, and that
thread then reads the request blocking, with no limit: 12 sockets sending one byte a
second held every thread, and ``/healthz`` stopped answering. :class:`DeadlineWorker`
wraps each connection's socket so that reading a request has a deadline: the request
line and headers (and the first bytes of the body) must arrive within
:data:`HEADER_SECONDS` of the thread starting on it, and every further
:data:`MIN_BODY_RATE` bytes read buy one more second. A connection past its deadline is
shut down and the read raises :class:`SlowClient` (a ``ConnectionResetError``): gunicorn
closes a connection whose head is late, and a body cut short is never taken for a
whole one (gunicorn terminates ``wsgi.input`` itself, so an early end of data would read
as a complete, shorter body); the request is refused, to a socket already closed.
Together with :data:`THREADS` threads per worker (idle threads cost no CPU), a handful
of slow clients hold a thread each for seconds at most while everyone else is served.
nginx in front reads and buffers the request itself (``client_header_timeout``,
``client_body_timeout``; docs/deployment.md), so behind it none of this triggers.
"""

from __future__ import annotations

import errno
import logging
import select
import socket
import time
from typing import Any

from gunicorn.workers.gthread import ThreadWorker

HEADER_SECONDS = 10.0
MIN_BODY_RATE = 1024  # bytes per second, after the first HEADER_SECONDS
THREADS = 32  # per worker, the default of `rexmon-web serve`
_READABLE = select.POLLIN | select.POLLPRI | select.POLLHUP | select.POLLERR
log = logging.getLogger(__name__)


class SlowClient(ConnectionResetError):
    """The request did not arrive in time; the connection is shut down."""


class DeadlineSocket:
    """A client socket whose ``recv`` gives up (end of data) once the request is late."""

    def __init__(self, sock: socket.socket, clock: Any = time.monotonic) -> None:
        self._sock = sock
        self._clock = clock
        self._started = clock()
        self._read = 0
        self._expired = False

    def start_request(self) -> None:
        self._started = self._clock()
        self._read = 0

    def recv(self, size: int, *flags: int) -> bytes:
        remaining = self._started + HEADER_SECONDS + self._read / MIN_BODY_RATE - self._clock()
        if remaining <= 0 or not self._wait(remaining):
            self._expire()
            raise SlowClient(errno.ECONNRESET, "the client sent its request too slowly")
        data = self._sock.recv(size, *flags)
        self._read += len(data)
        return data

    def _wait(self, seconds: float) -> bool:
        poller = select.poll()
        poller.register(self._sock, _READABLE)
        return bool(poller.poll(max(1, int(seconds * 1000))))

    def _expire(self) -> None:
        if self._expired:
            return
        self._expired = True
        try:
            peer = self._sock.getpeername()
        except OSError:
            peer = "?"
        log.warning(
            "closing a slow client %s: %d bytes in %.0f s",
            peer,
            self._read,
            self._clock() - self._started,
        )
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class DeadlineWorker(ThreadWorker):
    """gthread, with every plain (non-TLS) connection read through a DeadlineSocket."""

    def handle(self, conn: Any) -> Any:
        if not self.cfg.is_ssl:
            if not isinstance(conn.sock, DeadlineSocket):
                conn.sock = DeadlineSocket(conn.sock)
            conn.sock.start_request()
        return super().handle(conn)
