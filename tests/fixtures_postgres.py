"""Fixtures: a throwaway PostgreSQL server, and a clean database per test.

``postgres_url`` (session) is ``$REXMON_TEST_POSTGRES_URL`` when set, else a server this
module starts from ``/usr/lib/postgresql/*/bin`` in a temporary directory, listening only
on a unix socket there (as the ``postgres`` user when the tests run as root: initdb
refuses root). Without PostgreSQL the tests skip, or fail when ``$CI`` is set.
``postgres_database_url`` gives each test an empty database (a clean ``public`` schema).
``restartable_postgres`` is a server of the test's own, which it may stop and start.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

URL_VARIABLE = "REXMON_TEST_POSTGRES_URL"
UNPRIVILEGED_USER = "postgres"


def _binaries() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        path = Path(candidate)
        if all((path / name).exists() for name in ("initdb", "pg_ctl", "postgres")):
            return path
    return None


def _missing(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL is needed in CI: {reason}", pytrace=False)
    pytest.skip(reason)


def _run(command: list[str], user: str | None) -> None:
    if user is not None:
        command = ["runuser", "-u", user, "--", *command]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed: {result.stderr or result.stdout}")


class PostgresServer:
    """A PostgreSQL cluster in a temporary directory, on a unix socket only."""

    def __init__(self, bin_dir: Path, user: str | None, root: Path) -> None:
        self.bin_dir = bin_dir
        self.user = user  # run the server as this user (None: as ourselves)
        self.root = root
        self.data = root / "data"
        self.role = user or pwd.getpwuid(os.geteuid()).pw_name

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://{self.role}@/postgres?host={self.root}"

    def init(self) -> None:
        command = [str(self.bin_dir / "initdb"), "-D", str(self.data), "-A", "trust"]
        _run([*command, "-U", self.role, "--no-sync", "-E", "UTF8"], self.user)

    def start(self) -> None:
        options = f"-k {self.root} -c listen_addresses='' -c fsync=off -c full_page_writes=off"
        self._ctl("-l", str(self.root / "log"), "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: end the sessions, write a checkpoint)."""
        self._ctl("-m", mode, "-w", "stop")

    def _ctl(self, *arguments: str) -> None:
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data), *arguments], self.user)


def _new_server() -> PostgresServer | None:
    """A server (not yet started) in a fresh directory, or None (after skipping)."""
    bin_dir = _binaries()
    if bin_dir is None:
        _missing("no initdb/pg_ctl/postgres under /usr/lib/postgresql/*/bin")
        return None
    user: str | None = None
    if os.geteuid() == 0:
        try:
            entry = pwd.getpwnam(UNPRIVILEGED_USER)
        except KeyError:
            _missing(f"running as root and there is no {UNPRIVILEGED_USER!r} user for initdb")
            return None
        user = UNPRIVILEGED_USER
    # Short path: a unix socket path must stay under ~100 characters.
    root = Path(tempfile.mkdtemp(prefix="rexmon-pg-"))
    if user is not None:
        os.chown(root, entry.pw_uid, entry.pw_gid)
    return PostgresServer(bin_dir, user, root)


def _started(server: PostgresServer) -> None:
    try:
        server.init()
        server.start()
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        shutil.rmtree(server.root, ignore_errors=True)
        pytest.fail(f"cannot start PostgreSQL: {exc}", pytrace=False)


def _removed(server: PostgresServer) -> None:
    try:
        server.stop("immediate")
    except (RuntimeError, subprocess.TimeoutExpired):
        pass  # already stopped
    shutil.rmtree(server.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """An SQLAlchemy url of a PostgreSQL server for the whole session."""
    given = os.environ.get(URL_VARIABLE)
    if given:
        yield given
        return
    server = _new_server()
    if server is None:
        return
    _started(server)
    try:
        yield server.url
    finally:
        _removed(server)


@pytest.fixture
def restartable_postgres() -> Iterator[PostgresServer]:
    """A running PostgreSQL server of this test's own (``stop()``/``start()`` keep the
    data and the url); always started here, even with ``$REXMON_TEST_POSTGRES_URL``."""
    server = _new_server()
    if server is None:
        return
    _started(server)
    try:
        yield server
    finally:
        _removed(server)


@pytest.fixture(scope="session")
def _postgres_test_database(postgres_url: str) -> Iterator[str]:
    """One database for the session's tests, created here and dropped at the end."""
    import sqlalchemy as sa

    name = f"rexmon_test_{uuid4().hex[:12]}"
    admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT", poolclass=sa.NullPool)
    try:
        with admin.connect() as connection:
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url: Any = sa.make_url(postgres_url).set(database=name)
        yield url.render_as_string(hide_password=False)
        with admin.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()


@pytest.fixture
def postgres_database_url(_postgres_test_database: str) -> str:
    """The url of an empty database: every table of the previous test is gone (the
    ``public`` schema is dropped and created again before each test)."""
    import sqlalchemy as sa

    engine = sa.create_engine(_postgres_test_database, poolclass=sa.NullPool)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("DROP SCHEMA IF EXISTS public CASCADE")
            connection.exec_driver_sql("CREATE SCHEMA public")
    finally:
        engine.dispose()
    return _postgres_test_database
