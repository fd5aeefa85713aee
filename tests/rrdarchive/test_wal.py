"""The write-ahead log: group commit, torn records, orphans, and the crash it exists for."""

from __future__ import annotations

import json
import logging
import re
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from rexmon.metric import metric_path
from rexmon.sample import DsType, Sample
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rrdarchive.verdict import STORED
from rrdarchive.wal import WriteAheadLog
from rrdarchive.walformat import read_segment
from tests.fixtures_rrdcached import Rrdcached
from tests.plain_rrdtool import known_values, last_update

T0 = 1_699_999_980
NOW = T0 + 3600


def make_log(directory: Path) -> WriteAheadLog:
    return WriteAheadLog(directory, segment_bytes=1 << 20, segment_seconds=300)


def test_appended_samples_read_back_and_a_torn_record_is_skipped(tmp_path: Path) -> None:
    log = make_log(tmp_path / "wal")
    first = [Sample("a.b", T0, 1.5, DsType.COUNTER), Sample("a.c", T0, None)]
    log.append(first, epoch=1)
    log.append([Sample("a.b", T0 + 60, 2.0)], epoch=1)
    (segment,) = log.closed_segments(rotate=True)
    assert read_segment(segment.path).samples == [*first, Sample("a.b", T0 + 60, 2.0)]
    with segment.path.open("ab") as stream:
        stream.write(b"R 2 0badc0de\na.b 1700000100 3.0 -\n")  # a crash mid-append
    assert len(read_segment(segment.path).samples) == 3
    log.discard(segment)
    assert list((tmp_path / "wal").glob("*.wal")) == []
    log.close()


def test_concurrent_writers_share_fsyncs(tmp_path: Path) -> None:
    log = make_log(tmp_path / "wal")
    barrier = threading.Barrier(8)

    def writer(number: int) -> None:
        barrier.wait()
        for minute in range(50):
            log.append([Sample(f"w.n{number}", T0 + 60 * minute, 1.0)], epoch=1)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    (segment,) = log.closed_segments(rotate=True)
    assert len(read_segment(segment.path).samples) == 400
    assert log.syncs < 400
    log.close()


def test_a_new_connection_starts_a_new_segment(tmp_path: Path) -> None:
    log = make_log(tmp_path / "wal")
    log.append([Sample("a.b", T0, 1.0)], epoch=1)
    log.append([Sample("a.b", T0 + 60, 1.0)], epoch=2)
    segments = log.closed_segments(rotate=True)
    assert [s.epochs for s in segments] == [{1}, {2}]
    log.close()


def test_segments_of_live_processes_are_not_taken_over(tmp_path: Path) -> None:
    live = make_log(tmp_path / "wal")
    live.append([Sample("a.b", T0, 1.0)], epoch=1)
    dead = make_log(tmp_path / "wal")
    dead.append([Sample("a.c", T0, 1.0)], epoch=1)
    dead.close()  # closed without discarding: what a killed process leaves
    other = make_log(tmp_path / "wal")
    (orphan,) = other.orphans()
    assert [s.metric for s in read_segment(orphan.path).samples] == ["a.c"]
    other.discard(orphan)
    live.close()
    other.close()


CHILD = """
import json, sys, time
from pathlib import Path
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rexmon.sample import Sample
root, address, wal = sys.argv[1:4]
config = ArchiveConfig.simple(Path(root), rrdcached=address, wal=Path(wal))
archive = Archive(config, clock=lambda: {now})
samples = [Sample(f"host.n{{i}}.load", {t0} + 60 * m, float(10 * i + m))
           for i in range(5) for m in range(1, 4)]
print(json.dumps([v.stored for v in archive.write(samples)]), flush=True)
time.sleep(600)
"""


def test_acknowledged_samples_survive_a_sigkill_of_rrdcached_and_of_the_writer(
    rrdcached: Rrdcached, tmp_path: Path
) -> None:
    root, wal = rrdcached.base_dir, tmp_path / "wal"
    child = subprocess.Popen(
        [
            sys.executable,
            "-c",
            CHILD.format(now=NOW, t0=T0),
            str(root),
            rrdcached.address,
            str(wal),
        ],
        stdout=subprocess.PIPE,
    )
    try:
        assert child.stdout is not None
        assert json.loads(child.stdout.readline()) == [True] * 15  # acknowledged
        rrdcached.kill()
    finally:
        child.kill()
        child.communicate(timeout=10)
    rrdcached.start()
    metrics = [f"host.n{i}.load" for i in range(5)]
    # rrdcached lost them: it keeps them in memory, and nothing was written to the files
    assert [last_update(metric_path(root, m)) for m in metrics] == [T0] * 5
    config = ArchiveConfig.simple(root, rrdcached=rrdcached.address, wal=wal)
    Archive(config, clock=lambda: NOW).close()  # opening replays what the dead one logged
    for i, metric in enumerate(metrics):
        assert known_values(metric_path(root, metric), T0, T0 + 180) == {
            T0 + 60 * m: float(10 * i + m) for m in range(1, 4)
        }
    assert list(wal.glob("*.wal")) == []


def test_a_replay_merges_the_segments_of_dead_and_live_writers_in_time_order(
    rrdcached: Rrdcached, tmp_path: Path
) -> None:
    """Two writers took turns on one metric, then rrdcached lost it all. Replayed alone,
    the dead writer's later sample would make the live writer's earlier one look stored."""
    root, wal = rrdcached.base_dir, tmp_path / "wal"
    config = ArchiveConfig.simple(root, rrdcached=rrdcached.address, wal=wal)
    with Archive(config, clock=lambda: NOW) as opened:  # creates the file: last update T0
        assert opened.write([Sample("a.b", T0, 0.0)]) == [STORED]
    live, dead = make_log(wal), make_log(wal)
    live.append([Sample("a.b", T0 + 60, 1.0), Sample("a.b", T0 + 180, 3.0)], epoch=1)
    dead.append([Sample("a.b", T0 + 120, 2.0), Sample("a.b", T0 + 240, 4.0)], epoch=1)
    dead.close()  # what a killed process leaves; rrdcached never wrote any of them
    Archive(config, clock=lambda: NOW).close()  # replays the dead segment with the live one
    assert known_values(metric_path(root, "a.b"), T0, T0 + 240) == {
        T0 + 60 * m: float(m) for m in range(1, 5)
    }
    assert len(list(wal.glob("*.wal"))) == 1  # the live writer's own, not taken over
    live.close()


def test_samples_are_sent_again_when_rrdcached_restarts_under_a_live_archive(
    rrdcached: Rrdcached, tmp_path: Path
) -> None:
    root = rrdcached.base_dir
    config = ArchiveConfig.simple(root, rrdcached=rrdcached.address, wal=tmp_path / "wal")
    archive = Archive(config, clock=lambda: NOW)
    assert (
        archive.write([Sample("a.b", T0 + 60, 1.0), Sample("a.b", T0 + 120, 2.0)]) == [STORED] * 2
    )
    rrdcached.kill()
    rrdcached.start()
    # the next write notices the new connection and first replays what came before
    assert archive.write([Sample("a.b", T0 + 180, 3.0)]) == [STORED]
    assert archive.last("a.b") == (T0 + 180, 3.0)
    archive.close()
    assert known_values(metric_path(root, "a.b"), T0, T0 + 180) == {
        T0 + 60: 1.0,
        T0 + 120: 2.0,
        T0 + 180: 3.0,
    }
    assert list((tmp_path / "wal").glob("*.wal")) == []


def test_trimming_sends_the_log_again_when_rrdcached_restarted_since(
    rrdcached: Rrdcached, tmp_path: Path
) -> None:
    root = rrdcached.base_dir
    config = ArchiveConfig.simple(root, rrdcached=rrdcached.address, wal=tmp_path / "wal")
    archive = Archive(config, clock=lambda: NOW)
    assert (
        archive.write([Sample("a.b", T0 + 60, 1.0), Sample("a.b", T0 + 120, 2.0)]) == [STORED] * 2
    )
    rrdcached.kill()
    rrdcached.start()
    archive.close()  # a flush on the new daemon alone would prove nothing
    assert known_values(metric_path(root, "a.b"), T0, T0 + 120) == {T0 + 60: 1.0, T0 + 120: 2.0}
    assert list((tmp_path / "wal").glob("*.wal")) == []


def test_a_batch_whose_daemon_died_before_the_log_held_it_is_replayed_before_its_answer(
    rrdcached: Rrdcached, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """rrdcached takes a batch, then dies before the log holds it; a new process replays the
    log (without that batch) and goes on writing. Unless the first process sends the batch
    again before answering, the client's next sample reaches the file first and the batch
    then looks stored to every replay (the fault harness lost 333 samples so)."""
    root, wal = rrdcached.base_dir, tmp_path / "wal"
    config = ArchiveConfig.simple(root, rrdcached=rrdcached.address, wal=wal)
    old = Archive(config, clock=lambda: NOW)
    assert old.write([Sample("a.b", T0 + 60, 1.0)]) == [STORED]  # creates the file
    new: list[Archive] = []
    append = WriteAheadLog.append

    def die_first(self: WriteAheadLog, samples: list[Sample], epoch: int) -> None:
        if not new:  # between rrdcached's answer and the log's fsync
            rrdcached.kill()
            rrdcached.start()
            new.append(Archive(config, clock=lambda: NOW))  # replays the log as it is now
        append(self, samples, epoch)

    monkeypatch.setattr(WriteAheadLog, "append", die_first)
    assert old.write([Sample("a.b", T0 + 120, 2.0)]) == [STORED]
    monkeypatch.setattr(WriteAheadLog, "append", append)
    assert new[0].write([Sample("a.b", T0 + 180, 3.0)]) == [STORED]  # the client's next push
    new[0].close()
    old.close()
    rrdcached.stop()
    assert known_values(metric_path(root, "a.b"), T0, T0 + 180) == {
        T0 + 60: 1.0,
        T0 + 120: 2.0,
        T0 + 180: 3.0,
    }


def test_the_log_is_trimmed_while_the_archive_runs(rrdcached: Rrdcached, tmp_path: Path) -> None:
    wal = tmp_path / "wal"
    config = ArchiveConfig.simple(rrdcached.base_dir, rrdcached=rrdcached.address, wal=wal)
    archive = Archive(replace(config, wal_segment_seconds=1), clock=lambda: NOW)
    assert archive.write([Sample("a.b", T0 + 60, 1.0)]) == [STORED]
    deadline = time.monotonic() + 10
    while list(wal.glob("*.wal")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert list(wal.glob("*.wal")) == []
    assert last_update(metric_path(config.root, "a.b")) == T0 + 60  # trimming flushed it first
    archive.close()


def test_a_replay_logs_its_segments_samples_seconds_and_what_it_set_aside(
    rrdcached: Rrdcached, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    wal = tmp_path / "wal"
    dead = make_log(wal)
    dead.append([Sample("a.b", T0 + 60, 1.0), Sample("a.c", T0 + 60, 2.0)], epoch=1)
    dead.close()  # what a killed process leaves
    config = ArchiveConfig.simple(rrdcached.base_dir, rrdcached=rrdcached.address, wal=wal)
    with caplog.at_level(logging.INFO, logger="rrdarchive.durability"):
        Archive(config, clock=lambda: NOW).close()
    (line,) = [r.getMessage() for r in caplog.records if r.getMessage().startswith("replay:")]
    assert re.fullmatch(
        r"replay: 1 segment\(s\) \(1 of dead processes\), 2 sample\(s\) in \d+\.\d\d s;"
        r" set aside: 0 sample\(s\) of 0 metric\(s\), 0 damaged range\(s\)",
        line,
    ), line
