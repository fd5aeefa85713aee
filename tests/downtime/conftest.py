"""Fixtures of the downtime tests: a store on SQLite and on PostgreSQL, a settable clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from downtime.policy import Actor
from downtime.store import DowntimeStore
from rexmon.database import open_database
from rexmon.timespec import site_zone
from tests.clock import Clock

ZURICH = site_zone("Europe/Zurich")
# Tuesday 2026-03-17 12:00 in Zurich (UTC+1)
NOW = int(datetime(2026, 3, 17, 12, 0, tzinfo=ZURICH).timestamp())
ALICE = Actor("alice", ("ops",))


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    """UNIX seconds of a Zurich wall-clock time."""
    return int(datetime(year, month, day, hour, minute, tzinfo=ZURICH).timestamp())


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rexmon.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = open_database(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def store(engine: Engine, clock: Clock) -> DowntimeStore:
    store = DowntimeStore(engine, clock=clock)
    store.migrate()
    return store
