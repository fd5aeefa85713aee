"""The rrdcached client and the archive in rrdcached mode, against a real rrdcached."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rexmon.metric import metric_path
from rexmon.sample import DsType, Sample
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rrdarchive.errors import ArchiveError
from rrdarchive.rrdcached import RrdcachedClient
from rrdarchive.verdict import STORED, rejected
from tests.fixtures_rrdcached import Rrdcached
from tests.plain_rrdtool import known_values, last_update, run_rrdtool

T0 = 1_699_999_980
NOW = T0 + 3600


def make_rrd(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    run_rrdtool(
        "create", str(path), "--start", str(T0), "--step", "60",
        "DS:value:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:100",
    )  # fmt: skip
    return path


@pytest.fixture
def client(rrdcached: Rrdcached) -> Iterator[RrdcachedClient]:
    client = RrdcachedClient(rrdcached.address, rrdcached.base_dir)
    yield client
    client.close()


@pytest.fixture
def open_archive(config: ArchiveConfig) -> Iterator[Callable[[], Archive]]:
    """Archives (each like another worker process) closed at teardown."""
    opened: list[Archive] = []

    def make() -> Archive:
        opened.append(Archive(config, clock=lambda: NOW))
        return opened[-1]

    yield make
    for archive in opened:
        archive.close()


@pytest.fixture
def config(rrdcached: Rrdcached, tmp_path: Path) -> ArchiveConfig:
    return ArchiveConfig.simple(
        rrdcached.base_dir, rrdcached=rrdcached.address, wal=tmp_path / "wal"
    )


def test_the_client_checks_every_reply_line_of_a_batch(
    client: RrdcachedClient, rrdcached: Rrdcached
) -> None:
    a = make_rrd(rrdcached.base_dir / "a.rrd")
    errors, epoch = client.update(
        [
            (a, [f"{T0 + 60}:1", f"{T0 + 120}:2"]),
            (rrdcached.base_dir / "missing.rrd", [f"{T0 + 60}:1"]),
            (a, [f"{T0 + 120}:3"]),
            (a, [f"{T0 + 180}:3"]),
        ]
    )
    assert sorted(errors) == [1, 2] and epoch == 1
    assert [(start, end) for start, end, _ in errors[1]] == [(0, 1)]
    assert "No such file" in errors[1][0][2]
    assert "last update time is" in errors[2][0][2]
    assert client.pending(a) == [f"{T0 + 60}:1", f"{T0 + 120}:2", f"{T0 + 180}:3"]
    assert last_update(a) == T0  # nothing on disk yet
    client.flush(a)
    assert client.pending(a) == [] and last_update(a) == T0 + 180
    assert client.stats()["UpdatesReceived"] >= 3
    client.flushall()
    with pytest.raises(ArchiveError, match="No such file"):
        client.flush(rrdcached.base_dir / "missing.rrd")


def test_an_unreachable_rrdcached_is_an_error_never_a_silent_success(tmp_path: Path) -> None:
    client = RrdcachedClient(f"unix:{tmp_path / 'none.sock'}", tmp_path)
    with pytest.raises(ArchiveError, match="cannot connect"):
        client.update([(tmp_path / "a.rrd", [f"{T0}:1"])])
    with pytest.raises(ArchiveError, match="cannot connect"):
        RrdcachedClient("127.0.0.1:1", tmp_path).ping()


def test_the_client_reconnects_after_a_restart_and_counts_connections(
    client: RrdcachedClient, rrdcached: Rrdcached
) -> None:
    client.ping()
    assert client.epoch == 1
    rrdcached.kill()
    with pytest.raises(ArchiveError):
        client.ping()
    rrdcached.start()
    client.ping()
    assert client.epoch == 2


def test_the_archive_writes_through_rrdcached_and_reads_see_cached_data(
    config: ArchiveConfig, open_archive: Callable[[], Archive]
) -> None:
    archive = open_archive()
    samples = [Sample("host.n1.load", T0 + 60 * i, float(i)) for i in range(1, 6)]
    assert archive.write(samples) == [STORED] * 5
    path = metric_path(config.root, "host.n1.load")
    assert last_update(path) == T0  # created, the samples still in rrdcached's memory
    assert archive.last("host.n1.load") == (T0 + 300, 5.0)
    assert last_update(path) == T0  # last() asked rrdcached instead of making it write
    series = archive.fetch("host.n1.load", T0, T0 + 300)
    assert dict(zip(series.times, series.values, strict=True))[T0 + 300] == 5.0
    assert archive.graph(["host.n1.load"], T0, T0 + 300).startswith(b"\x89PNG")
    assert (
        archive.xport(["host.n1.load"], T0, T0 + 300)["series"]["host.n1.load"][-2:]
        == [
            5.0,
            None,
        ]
        or 5.0 in archive.xport(["host.n1.load"], T0, T0 + 300)["series"]["host.n1.load"]
    )
    archive.close()
    assert known_values(path, T0, T0 + 300) == {T0 + 60 * i: float(i) for i in range(1, 6)}
    assert list(config.wal_dir.glob("*.wal")) == []  # flushed, so the log is trimmed


def test_ordering_and_resending_are_checked_against_rrdcached(
    config: ArchiveConfig, open_archive: Callable[[], Archive]
) -> None:
    first = open_archive()
    batch = [Sample("a.b", T0 + 60, 1.5), Sample("a.b", T0 + 120, 2.5)]
    assert first.write(batch) == [STORED] * 2
    second = open_archive()  # another worker: no memory of the above
    verdicts = second.write(batch + [Sample("a.b", T0 + 180, 3.5)])
    assert verdicts == [STORED] * 3  # rrdcached still holds the first two (PENDING)
    conflict = "a.b already has a different value at {}: 9.0 conflicts with the stored value {}"
    assert second.write([Sample("a.b", T0 + 120, 9.0), Sample("a.b", T0 + 180, 9.0)]) == [
        rejected(conflict.format(T0 + 120, 2.5)),
        rejected(conflict.format(T0 + 180, 3.5)),
    ]
    first.close()
    second.close()  # closing twice (again at teardown) is harmless
    assert known_values(metric_path(config.root, "a.b"), T0, T0 + 180) == {
        T0 + 60: 1.5,
        T0 + 120: 2.5,
        T0 + 180: 3.5,
    }


def test_a_counter_rrd_refuses_fractions_before_rrdcached_sees_them(
    config: ArchiveConfig, open_archive: Callable[[], Archive]
) -> None:
    metric = "net.bytes_total"
    archive = open_archive()
    assert archive.write([Sample(metric, T0 + 60, 100.0, DsType.COUNTER)]) == [STORED]
    verdicts = archive.write([Sample(metric, T0 + 120, 150.5), Sample(metric, T0 + 180, 200.0)])
    assert verdicts == [
        rejected("value 150.5 refused: a COUNTER RRD needs an integer >= 0"),
        STORED,
    ]
    other = open_archive()  # did not create the file: reads its type
    assert other.write([Sample(metric, T0 + 240, -3.0), Sample(metric, T0 + 300, 250.0)]) == [
        rejected("value -3.0 refused: a COUNTER RRD needs an integer >= 0"),
        STORED,
    ]
    archive.close()
    other.close()
    assert last_update(metric_path(config.root, metric)) == T0 + 300


def test_writing_with_rrdcached_down_raises_and_stores_nothing(
    config: ArchiveConfig, rrdcached: Rrdcached, open_archive: Callable[[], Archive]
) -> None:
    archive = open_archive()
    assert archive.write([Sample("a.b", T0 + 60, 1.0)]) == [STORED]
    rrdcached.stop()
    with pytest.raises(ArchiveError, match="rrdcached"):
        archive.write([Sample("a.b", T0 + 120, 2.0)])
    with pytest.raises(ArchiveError, match="rrdcached"):
        archive.last("a.b")  # never the file alone, silently
    rrdcached.start()
    assert archive.write([Sample("a.b", T0 + 120, 2.0)]) == [STORED]
    archive.close()
    assert known_values(metric_path(config.root, "a.b"), T0, T0 + 120) == {
        T0 + 60: 1.0,
        T0 + 120: 2.0,
    }


def test_an_archive_opened_while_rrdcached_is_down_fails_loudly_on_write(
    config: ArchiveConfig, rrdcached: Rrdcached, open_archive: Callable[[], Archive]
) -> None:
    rrdcached.stop()
    archive = open_archive()
    with pytest.raises(ArchiveError, match="cannot connect"):
        archive.write([Sample("a.b", T0 + 60, 1.0)])


def test_a_long_update_is_cut_into_lines_and_a_refused_line_says_which_values_it_held(
    client: RrdcachedClient, rrdcached: Rrdcached
) -> None:
    a = make_rrd(rrdcached.base_dir / "a.rrd")
    times = [T0 + i for i in range(1, 1201)]
    values = [f"{t}:1" for t in times]
    values[700] = f"{times[699]}:1"  # a repeated time on the second line
    errors, _ = client.update([(a, values)])
    [(start, end, message)] = errors[0]
    assert 0 < start < 700 < end < len(values)  # only the second line was refused
    assert f"using time {times[699]}" in message
    pending = client.pending(a)
    # rrdcached took the lines before, the values before the refused one, and the lines after
    assert pending == values[:700] + values[end:]
    assert len(max(values, key=len)) * (end - start) < 4096
