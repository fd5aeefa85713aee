"""Files a killed rrdcached left half updated are repaired before the log is replayed.

Each torn file is made the way a SIGKILL inside librrd's update leaves it (see
``rrdarchive/torn.py``): a copy of the file that took the update, with parts of the
state from before it put back through ``rrdtool dump``/``restore``. The repaired file,
after the replay, must dump exactly as a file that was never torn."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest

from rexmon.metric import metric_path
from rexmon.sample import Sample
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rrdarchive.wal import WriteAheadLog
from tests.fixtures_rrdcached import Rrdcached
from tests.plain_rrdtool import run_rrdtool

T0 = 1_699_999_800  # a multiple of 300: the 5-step archives close a row every 5 samples
NOW = T0 + 7200
DATABASE = re.compile(r"<database>.*?</database>", re.S)


def make_file(path: Path, values: list[float]) -> None:
    """One-minute steps, three archives: 10 x 1 min average, 4 x 5 min average and max."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run_rrdtool(
        "create", str(path), "--start", str(T0 - 60), "--step", "60",
        "DS:value:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:10", "RRA:AVERAGE:0.5:5:4",
        "RRA:MAX:0.5:5:4",
    )  # fmt: skip
    update(path, values, 0)


def update(path: Path, values: list[float], first: int) -> None:
    for number, value in enumerate(values, start=first):
        run_rrdtool("update", str(path), f"{T0 + 60 * number}:{value:g}")


def dump(path: Path) -> str:
    """The file as XML, each row with its time."""
    return run_rrdtool("dump", str(path))


def restore(xml: str, path: Path) -> None:
    source = path.with_suffix(".xml")
    source.write_text(xml)
    path.unlink()
    run_rrdtool("restore", str(source), str(path))


def torn(before: Path, after: Path, into: Path, *, keep_rows: set[int], counted: bool) -> None:
    """``after``'s state with ``before``'s last update; the archives in ``keep_rows`` keep
    ``before``'s rows (not reached); ``counted``: archive 0 counted its new row but did not
    write it (its oldest slot, still unknown, became its newest)."""
    old, new = dump(before), dump(after)
    old_last = re.search(r"<lastupdate>\d+</lastupdate>", old)
    assert old_last is not None
    xml = re.sub(r"<lastupdate>\d+</lastupdate>", old_last.group(0), new)
    old_rows, new_rows = DATABASE.findall(old), DATABASE.findall(new)
    parts = DATABASE.split(xml)
    databases = [old_rows[n] if n in keep_rows else new_rows[n] for n in range(len(new_rows))]
    if counted:
        rows = re.findall(r"<row>.*?</row>", old_rows[0])
        assert "NaN" in rows[0]  # a file not yet full: its oldest slot is unknown
        databases[0] = "<database>" + "".join(rows[1:] + rows[:1]) + "</database>"
    restore("".join(p + d for p, d in zip(parts, [*databases, ""], strict=True)), into)


@pytest.mark.parametrize(
    ("samples_before", "keep_rows", "counted"),
    [
        (7, set(), False),  # every row written, only the time not (the harness's case)
        (5, set(), False),  # a 5-minute row was due too, and was written
        (5, {1, 2}, False),  # killed after the 1-minute row: the 5-minute rows missing
        (5, {0, 1, 2}, True),  # killed with the 1-minute row counted, not written
    ],
)
def test_a_file_torn_by_a_killed_rrdcached_is_repaired_before_the_replay(
    rrdcached: Rrdcached,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    samples_before: int,
    keep_rows: set[int],
    counted: bool,
) -> None:
    values = [float(3 * n % 7 + n) for n in range(samples_before + 3)]
    root, wal = rrdcached.base_dir, tmp_path / "wal"
    path = metric_path(root, "a.b")
    make_file(path, values[:samples_before])
    before = tmp_path / "before.rrd"
    shutil.copy(path, before)
    reference = tmp_path / "reference.rrd"  # took the next sample whole, and then two more
    shutil.copy(path, reference)
    update(reference, values[samples_before:], samples_before)
    after = tmp_path / "after.rrd"
    shutil.copy(before, after)
    update(after, values[samples_before : samples_before + 1], samples_before)
    torn(before, after, path, keep_rows=keep_rows, counted=counted)
    dead = WriteAheadLog(wal, segment_bytes=1 << 20, segment_seconds=300)
    dead.append([Sample("a.b", T0 + 60 * n, v) for n, v in enumerate(values)], epoch=1)
    dead.close()  # the log of the writer that was killed with rrdcached
    config = ArchiveConfig.simple(root, rrdcached=rrdcached.address, wal=wal)
    with caplog.at_level(logging.WARNING, "rrdarchive.torn"):
        Archive(config, clock=lambda: NOW).close()  # opening replays the log
    rrdcached.stop()
    assert dump(path) == dump(reference)
    assert f"update at {T0 + 60 * samples_before} half done; repaired" in caplog.text


def test_a_whole_file_is_never_written_by_the_check(rrdcached: Rrdcached, tmp_path: Path) -> None:
    """A file that took the log's sample at its last update is not torn, even when the next
    sample's value is the same (the two cannot be told apart, so nothing is touched)."""
    root, wal = rrdcached.base_dir, tmp_path / "wal"
    path = metric_path(root, "a.b")
    make_file(path, [1.0, 2.0, 2.0])
    reference = tmp_path / "reference.rrd"
    shutil.copy(path, reference)
    update(reference, [2.0, 5.0], 3)
    dead = WriteAheadLog(wal, segment_bytes=1 << 20, segment_seconds=300)
    dead.append([Sample("a.b", T0 + 60 * n, v) for n, v in enumerate([1, 2, 2, 2, 5])], epoch=1)
    dead.close()
    config = ArchiveConfig.simple(root, rrdcached=rrdcached.address, wal=wal)
    Archive(config, clock=lambda: NOW).close()
    rrdcached.stop()
    assert dump(path) == dump(reference)
