"""Who is the active daemon: a PostgreSQL advisory lock, or a lock file with SQLite.

Several alarmd processes may run (HA); only the holder of the lock evaluates and sends,
the others call :meth:`try_acquire` each cycle and take over when the holder is gone.

- **PostgreSQL**: a session-level ``pg_try_advisory_lock`` on a dedicated connection.
  The lock is the session's: it goes when the holder's process dies (the server sees the
  socket close at once) or its host does (the session sets TCP keepalives so the server
  drops a silent peer within about 30 s). The holder checks its connection every cycle
  and steps down when it is broken.
- **SQLite**: ``flock`` on a lock file next to the database: one active daemon per host
  (SQLite on a network file system is not supported anyway). The kernel drops the lock
  when the process dies.
"""

from __future__ import annotations

import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError

from alarmd.config import AlarmdConfig, lock_file_for

log = logging.getLogger(__name__)

KEEPALIVES = (
    "SET tcp_keepalives_idle = 10",
    "SET tcp_keepalives_interval = 5",
    "SET tcp_keepalives_count = 3",
)


class Leadership(Protocol):
    def try_acquire(self) -> bool:
        """True when this process holds the lock (now or already)."""

    def release(self) -> None:
        """Give the lock up (idempotent)."""


class AlwaysLeader:
    """No lock (a single daemon, or tests that do not care)."""

    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        pass


class AdvisoryLock:
    """A PostgreSQL session-level advisory lock held on its own connection."""

    def __init__(self, engine: Engine, key: int) -> None:
        self.engine = engine
        self.key = key
        self.connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self.connection is not None:
            if self._alive(self.connection):
                return True
            log.error("lost the connection holding the alarmd lock; standing by")
            self._drop()
        try:
            connection = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            for statement in KEEPALIVES:
                connection.exec_driver_sql(statement)
            got = connection.execute(
                sa.select(sa.func.pg_try_advisory_lock(sa.literal(self.key, sa.BigInteger)))
            ).scalar_one()
        except DBAPIError as exc:
            log.error("cannot reach the database for the alarmd lock: %s", exc.orig)
            return False
        if not got:
            connection.close()
            return False
        self.connection = connection
        return True

    def release(self) -> None:
        if self.connection is None:
            return
        try:
            self.connection.execute(
                sa.select(sa.func.pg_advisory_unlock(sa.literal(self.key, sa.BigInteger)))
            )
        except DBAPIError as exc:
            log.warning("releasing the alarmd lock: %s", exc.orig)
        self._drop()

    def _drop(self) -> None:
        connection, self.connection = self.connection, None
        if connection is None:
            return
        try:
            connection.invalidate()  # never back to the pool: the session may hold the lock
            connection.close()
        except DBAPIError:
            pass  # already broken; nothing left to release

    @staticmethod
    def _alive(connection: Connection) -> bool:
        try:
            connection.exec_driver_sql("SELECT 1")
        except DBAPIError:
            return False
        return not connection.closed


class FileLock:
    """An exclusive ``flock`` on a file, held while this object keeps it open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing drops the flock


def leadership_for(engine: Engine, settings: AlarmdConfig) -> Leadership:
    """The lock that fits the database: advisory with PostgreSQL, else the lock file."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, settings.advisory_lock)
    lock_file = lock_file_for(settings, engine.url.render_as_string())
    if lock_file is None:
        return AlwaysLeader()
    return FileLock(lock_file)
