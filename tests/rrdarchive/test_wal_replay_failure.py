"""A replay that fails on what a segment holds is contained: the rest is replayed, the
archive opens, and what could not be replayed is set aside under ``wal/damaged/``."""

from __future__ import annotations

from pathlib import Path

from rexmon.metric import metric_path
from rexmon.sample import Sample
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rrdarchive.verdict import STORED
from rrdarchive.wal import WriteAheadLog
from tests.fixtures_rrdcached import Rrdcached
from tests.plain_rrdtool import known_values

T0 = 1_699_999_980
MINUTES = 2000  # about 40 KB of UPDATE values for one file
NOW = T0 + 60 * (MINUTES + 1)


def test_a_dead_segment_with_a_long_run_of_one_metric_replays_whole(
    rrdcached: Rrdcached, tmp_path: Path
) -> None:
    """2000 samples of one metric in a dead process's log (a 40 KB UPDATE line before
    lines were cut under rrdcached's 8 KB buffer, which reset the connection and failed
    every start): the start replays all of them, and the archive takes writes."""
    wal = tmp_path / "wal"
    config = ArchiveConfig.simple(rrdcached.base_dir, rrdcached=rrdcached.address, wal=wal)
    with Archive(config, clock=lambda: NOW) as opened:
        assert (
            opened.write([Sample("big.one", T0, 0.0), Sample("small.one", T0, 0.0)]) == [STORED] * 2
        )
    dead = WriteAheadLog(wal, segment_bytes=1 << 26, segment_seconds=300)
    big = [Sample("big.one", T0 + 60 * k, float(k)) for k in range(1, MINUTES)]
    dead.append(big, epoch=1)
    dead.append([Sample("small.one", T0 + 60, 7.0)], epoch=1)
    dead.close()  # what a killed process leaves

    archive = Archive(config, clock=lambda: NOW)
    assert archive.write([Sample("small.one", T0 + 120, 8.0)]) == [STORED]
    archive.close()
    assert known_values(metric_path(config.root, "small.one"), T0, T0 + 120) == {
        T0 + 60: 7.0,
        T0 + 120: 8.0,
    }
    stored = known_values(metric_path(config.root, "big.one"), T0, T0 + 60 * MINUTES)
    assert stored == {sample.time: sample.value for sample in big}
    assert list(wal.glob("*.wal")) == []
    assert not (wal / "damaged").exists() or not list((wal / "damaged").iterdir())


def test_a_damaged_dead_segment_replays_all_it_can_and_keeps_the_damaged_bytes(
    rrdcached: Rrdcached, tmp_path: Path
) -> None:
    wal = tmp_path / "wal"
    config = ArchiveConfig.simple(rrdcached.base_dir, rrdcached=rrdcached.address, wal=wal)
    with Archive(config, clock=lambda: NOW) as opened:
        assert opened.write([Sample(f"d.m{n}", T0, 0.0) for n in range(3)]) == [STORED] * 3
    dead = WriteAheadLog(wal, segment_bytes=1 << 26, segment_seconds=300)
    for minute in range(1, 4):
        dead.append([Sample(f"d.m{n}", T0 + 60 * minute, float(minute)) for n in range(3)], 1)
    dead.close()
    (segment,) = wal.glob("*.wal")
    data = bytearray(segment.read_bytes())
    second = data.index(b"R ", 1)
    data[second] = ord("X")  # the second record's header
    segment.write_bytes(bytes(data) + b"R 20000000 0badc0de\n")

    Archive(config, clock=lambda: NOW).close()
    for n in range(3):  # the first and third records are stored, the second is not
        stored = known_values(metric_path(config.root, f"d.m{n}"), T0, T0 + 180)
        assert (stored[T0 + 60], stored[T0 + 180]) == (1.0, 3.0)
        assert 2.0 not in stored.values()
    assert not segment.exists()
    kept = sorted((wal / "damaged").iterdir())
    assert [p.name for p in kept] == sorted(
        [f"{segment.name}.{second}", f"{segment.name}.{len(data)}"]
    )
