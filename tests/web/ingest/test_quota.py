"""The new-metric quota and the failed-login count in the database: concurrent charges
from several engines (as several workers would make them) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from rexmon.database import open_database
from web.auth.guard import FailureLimiter
from web.ingest.quota import WINDOW, NewMetricQuota
from web.limitstore import migrate_limits


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rexmon.db'}"
    url: str = request.getfixturevalue("postgres_database_url")
    return url


def test_concurrent_workers_admit_exactly_the_quota_and_a_new_hour_starts_afresh(
    database_url: str,
) -> None:
    engines = [open_database(database_url) for _ in range(4)]
    migrate_limits(engines[0])
    now = [100 * WINDOW + 10.0]
    quotas = [NewMetricQuota(lambda e=engine: e, clock=lambda: now[0]) for engine in engines]
    admitted: list[str] = []
    lock = threading.Lock()

    def charge(worker: int) -> None:
        for n in range(10):
            metric = f"spam.m{worker}_{n}.value"
            if quotas[worker].allow("node01", metric, 5):
                with lock:
                    admitted.append(metric)

    threads = [threading.Thread(target=charge, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(admitted) == 5
    assert all(quota.allow("node01", admitted[0], 5) for quota in quotas)  # charged: free
    assert not quotas[0].allow("node01", "spam.other.value", 5)
    assert quotas[0].allow("node02", "spam.other.value", 5)  # another token
    now[0] += WINDOW
    assert quotas[1].allow("node01", "spam.other.value", 5)
    limiter = FailureLimiter(lambda: engines[2], 2, clock=lambda: now[0])
    for _ in range(2):
        FailureLimiter(lambda: engines[3], 2, clock=lambda: now[0]).fail("192.0.2.1")
    assert limiter.blocked("192.0.2.1") and not limiter.blocked("192.0.2.2")
    for engine in engines:
        engine.dispose()
