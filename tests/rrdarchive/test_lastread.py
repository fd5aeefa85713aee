"""``Archive.last_updates``: many files' last updates in one go, exact in any time zone."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rexmon.sample import Sample
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rrdarchive.errors import ArchiveError
from rrdarchive.verdict import STORED

REPEATED_HOUR = 1_792_891_800  # 2026-10-25 01:30 UTC: the second 02:30 in Europe/Berlin


@pytest.fixture
def berlin(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_last_updates_are_exact_in_the_hour_the_clocks_go_back(
    tmp_path: Path, berlin: None
) -> None:
    archive = Archive(ArchiveConfig.simple(tmp_path / "rrd"), lambda: REPEATED_HOUR + 1.0)
    samples = [Sample("a.b", REPEATED_HOUR - 60, 1.0), Sample("a.c", REPEATED_HOUR, 2.0)]
    assert archive.write(samples[:1]) == [STORED] and archive.write(samples[1:]) == [STORED]
    found = archive.last_updates(["a.b", "a.c", "a.missing"])
    assert found[:2] == [(REPEATED_HOUR - 60, 1.0), (REPEATED_HOUR, 2.0)]
    assert isinstance(found[2], ArchiveError) and "No such file" in found[2].message
    assert archive.last("a.c") == found[1]  # the same as the one-file read
