from __future__ import annotations

from pathlib import Path

import pytest

from rexmon.sample import make_sample
from slurpers.errors import SpoolBusy
from slurpers.spool import Spool
from tests.clock import Clock


def batch(n: int, t: int = 1_700_000_000) -> list:
    return [make_sample(f"test.m{i}", t, float(i), "GAUGE") for i in range(n)]


def test_batches_come_back_oldest_first_exactly_as_saved(tmp_path: Path) -> None:
    clock = Clock(1_700_000_000)
    spool = Spool(tmp_path, "demo", 10**9, 86400, clock)
    spool.save(batch(3))
    spool.save(batch(2))  # same clock: still sorted after the first
    clock.now += 60
    spool.save(batch(1))
    pending = spool.pending()
    assert [b.count for b in pending] == [3, 2, 1]
    assert spool.load(pending[0]) == batch(3)
    spool.remove(pending[0])
    assert [b.count for b in spool.pending()] == [2, 1]
    assert not list(tmp_path.glob("demo/.*.tmp"))


def test_old_batches_and_then_the_oldest_over_the_size_limit_are_dropped(tmp_path: Path) -> None:
    clock = Clock(1_700_000_000)
    spool = Spool(tmp_path, "demo", 10**9, 3600, clock)
    spool.save(batch(5))
    clock.now += 7200
    for _ in range(3):
        spool.save(batch(100))
        clock.now += 1
    size = spool.pending()[-1].size
    spool.max_bytes = 2 * size
    dropped = spool.trim()
    assert [(d.batches, d.samples, d.reason) for d in dropped] == [
        (1, 5, "older than max_age"),
        (1, 100, "over max_size"),
    ]
    assert [b.count for b in spool.pending()] == [100, 100]


def test_a_refused_batch_is_kept_aside_and_not_pending(tmp_path: Path) -> None:
    spool = Spool(tmp_path, "demo", 10**9, 3600, Clock(1_700_000_000))
    saved = spool.save(batch(2))
    kept = spool.refuse(saved)
    assert kept.parent.name == "refused"
    assert spool.pending() == []


def test_a_second_run_of_the_same_instance_cannot_take_the_lock(tmp_path: Path) -> None:
    first = Spool(tmp_path, "demo", 10**9, 3600)
    second = Spool(tmp_path, "demo", 10**9, 3600)
    other = Spool(tmp_path, "host", 10**9, 3600)
    with first.locked():
        with pytest.raises(SpoolBusy):
            with second.locked():
                pass
        with other.locked():
            pass
    with second.locked():
        pass


def test_a_temp_file_left_by_a_crash_is_removed_once_it_is_stale(tmp_path: Path) -> None:
    import os

    spool = Spool(tmp_path, "demo", 10**9, 10**9)
    spool.save(batch(1))
    fresh = tmp_path / "demo" / ".1-1.json.gz.tmp"
    stale = tmp_path / "demo" / ".2-1.json.gz.tmp"
    fresh.write_bytes(b"x")
    stale.write_bytes(b"x")
    os.utime(stale, (0, 0))
    spool.trim()
    assert fresh.exists() and not stale.exists()
    assert len(spool.pending()) == 1
