"""Writing with direct rrdtool calls; every result is read back with the plain rrdtool CLI."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from rexmon.metric import metric_path
from rexmon.sample import DsType, Sample
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rrdarchive.schemas import Schema, SchemaSet, Tier
from rrdarchive.verdict import STORED, rejected
from tests.plain_rrdtool import info_field, known_values, last_update, run_rrdtool

T0 = 1_699_999_980  # a multiple of the 60 s step, so stored points equal the fed values
NOW = T0 + 3600


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "rrd"


@pytest.fixture
def archive(root: Path) -> Archive:
    return Archive(ArchiveConfig.simple(root), clock=lambda: NOW)


def test_accepted_samples_are_in_the_rrd_file(archive: Archive, root: Path) -> None:
    samples = [Sample("host.n1.cpu.user", T0 + 60 * i, float(i)) for i in range(1, 6)]
    assert archive.write(list(reversed(samples))) == [STORED] * 5
    path = metric_path(root, "host.n1.cpu.user")
    assert known_values(path, T0, T0 + 300) == {T0 + 60 * i: float(i) for i in range(1, 6)}
    assert last_update(path) == T0 + 300


def test_a_new_rrd_starts_just_before_its_first_sample_and_follows_the_schema(root: Path) -> None:
    narrow = Schema("x.*", step=30, heartbeat=90, tiers=(Tier(30, 3600),), type=DsType.GAUGE)
    catch_all = Schema("*", step=60, heartbeat=120, tiers=(Tier(60, 86400),))
    config = ArchiveConfig.simple(root, schemas=SchemaSet((narrow, catch_all)))
    archive = Archive(config, clock=lambda: NOW)
    assert archive.write([Sample("x.a", T0 + 60, 1.0, DsType.COUNTER)]) == [STORED]
    assert archive.write([Sample("y.b", T0 + 60, 1.0, DsType.COUNTER)]) == [STORED]
    assert info_field(metric_path(root, "x.a"), "step") == "30"
    assert info_field(metric_path(root, "x.a"), "ds[value].type") == "GAUGE"  # the schema pins it
    assert info_field(metric_path(root, "y.b"), "ds[value].type") == "COUNTER"  # the hint decides
    assert info_field(metric_path(root, "y.b"), "rra[0].rows") == "1440"
    fresh = Archive(config, clock=lambda: NOW)
    assert fresh.write([Sample("z.c", T0 + 600, 2.0)]) == [STORED]
    assert run_rrdtool("first", str(metric_path(root, "z.c"))).strip()  # a real RRD
    assert info_field(metric_path(root, "z.c"), "last_update") == str(T0 + 600)


def test_each_bad_sample_is_refused_alone_and_the_good_ones_are_stored(
    archive: Archive, root: Path
) -> None:
    batch = [
        Sample("good.one", T0 + 60, 1.0),
        Sample("bad..name", T0 + 60, 1.0),
        Sample("good.one", True, 1.0),  # type: ignore[arg-type]
        Sample("good.one", -60, 1.0),
        Sample("good.one", T0 + 120, float("nan")),
        Sample("good.one", T0 + 120, float("inf")),
        Sample("good.one", T0 + 120, "2"),  # type: ignore[arg-type]
        Sample("good.one", T0 + 120, 2.0, "GAUGE"),  # type: ignore[arg-type]
        Sample("good.one", NOW + 301, 1.0),
        Sample("good.one", NOW - 2 * 86400 - 1, 1.0),
        Sample("good.one", T0 + 180, 3.0),
        Sample("good.one", T0 + 240, 4.0),
        Sample("good.one", T0 + 240, 4.5),
        Sample("good.one", T0 + 300, 5.0),
        Sample("good.one", T0 + 300, 5.0),
        Sample("-bad.name", T0 + 60, 1.0),
    ]
    verdicts = archive.write(batch)
    assert verdicts[0] is STORED
    assert "component 2 ''" in str(verdicts[1])
    assert "positive integer UNIX time" in str(verdicts[2])
    assert "positive integer UNIX time" in str(verdicts[3])
    assert "finite" in str(verdicts[4]) and "finite" in str(verdicts[5])
    assert "finite number" in str(verdicts[6])
    assert "DsType" in str(verdicts[7])
    assert "ahead of the server clock (at most 5m allowed)" in str(verdicts[8])
    assert "older than 2d" in str(verdicts[9])
    assert verdicts[10] is STORED
    assert (
        verdicts[11]
        == verdicts[12]
        == rejected(f"conflicting values for good.one at {T0 + 240} in this batch")
    )
    assert verdicts[13] is STORED and verdicts[14] is STORED  # the same sample twice is harmless
    assert "component 1 '-bad'" in str(verdicts[15])
    stored = known_values(metric_path(root, "good.one"), T0, T0 + 300)
    assert (stored[T0 + 60], stored[T0 + 180], stored[T0 + 300]) == (1.0, 3.0, 5.0)
    assert not {2.0, 4.0, 4.5} & set(stored.values())
    assert not (root / "bad").exists() and not (root / "-bad").exists()


def test_out_of_order_samples_are_refused_with_the_last_update(
    archive: Archive, root: Path
) -> None:
    assert archive.write([Sample("a.b", T0 + 300, 5.0)]) == [STORED]
    verdicts = archive.write([Sample("a.b", T0 + 240, 4.0), Sample("a.b", T0 + 360, 6.0)])
    assert verdicts == [
        rejected(
            f"out of order: a.b was last updated at {T0 + 300}; only samples after that are stored"
        ),
        STORED,
    ]
    assert known_values(metric_path(root, "a.b"), T0 + 180, T0 + 360) == {
        T0 + 300: 5.0,
        T0 + 360: 6.0,
    }


def test_sending_a_batch_again_is_harmless(archive: Archive, root: Path) -> None:
    batch = [Sample("a.b", T0 + 60, 1.0), Sample("a.c", T0 + 60, None), Sample("a.d", T0 + 60, 2.0)]
    assert archive.write(batch) == [STORED] * 3
    assert archive.write(batch) == [STORED] * 3
    # another process (no memory of the first write) gets the same batch again
    other = Archive(archive.config, clock=lambda: NOW)
    assert other.write(batch) == [STORED] * 3
    changed = other.write([Sample("a.b", T0 + 60, 9.0)])
    assert changed == [
        rejected(
            f"a.b already has a different value at {T0 + 60}:"
            " 9.0 conflicts with the stored value 1.0"
        )
    ]
    assert known_values(metric_path(root, "a.b"), T0, T0 + 60) == {T0 + 60: 1.0}


def test_a_process_that_did_not_write_a_batch_checks_a_resend_against_the_file(
    archive: Archive, root: Path
) -> None:
    aligned = [Sample("a.b", T0 + 60 * i, i / 3) for i in range(1, 31)]
    unaligned = [Sample("a.c", T0 + 60 * i + 17, float(i)) for i in range(1, 31)]
    assert archive.write(aligned + unaligned) == [STORED] * 60
    before = known_values(metric_path(root, "a.b"), T0, T0 + 1800)
    other = Archive(archive.config, clock=lambda: NOW)  # no memory of that write
    changed = [*aligned[:-1], Sample("a.b", T0 + 1800, 7.0)]
    verdicts = other.write(changed + unaligned)
    # one GAUGE sample a step, on the boundary: the finest tier holds exactly what was fed
    assert verdicts[:29] == [STORED] * 29
    assert verdicts[29] == rejected(
        f"a.b already has a different value at {T0 + 1800}:"
        " 7.0 conflicts with the stored value 10.0"
    )
    # off the boundaries the file holds a mix of two samples: only the last update is known
    assert all(
        not v.stored and not v.retry and v.reason.startswith("out of order")
        for v in verdicts[30:59]
    )
    assert verdicts[59] is STORED
    assert known_values(metric_path(root, "a.b"), T0, T0 + 1800) == before


def test_a_file_written_by_another_process_stays_the_authority(
    archive: Archive, root: Path
) -> None:
    assert archive.write([Sample("a.b", T0 + 60, 1.0)]) == [STORED]
    run_rrdtool("update", str(metric_path(root, "a.b")), f"{T0 + 180}:3")  # another writer
    verdicts = archive.write([Sample("a.b", T0 + 120, 2.0), Sample("a.b", T0 + 240, 4.0)])
    # the file holds 3 over (T0+60, T0+180]: its point at T0+120 is 3, not 2
    assert not verdicts[0].stored and "conflicts with the stored value 3.0" in verdicts[0].reason
    assert verdicts[1] is STORED
    stored = known_values(metric_path(root, "a.b"), T0, T0 + 240)
    assert (stored[T0 + 60], stored[T0 + 180], stored[T0 + 240]) == (1.0, 3.0, 4.0)
    assert 2.0 not in stored.values()


def test_a_file_created_by_another_process_first_is_used(archive: Archive, root: Path) -> None:
    path = metric_path(root, "a.b")
    path.parent.mkdir(parents=True)
    run_rrdtool(
        "create", str(path), "--start", str(T0), "--step", "60",
        "DS:value:GAUGE:120:U:U", "RRA:LAST:0.5:1:100",
    )  # fmt: skip
    assert archive.write([Sample("a.b", T0 + 60, 1.0)]) == [STORED]
    assert info_field(path, "rra[0].cf") == "LAST"
    assert [p.name for p in path.parent.iterdir()] == ["b.rrd"]  # no temporary file left


def test_a_locked_file_is_retried_until_the_lock_goes(archive: Archive, root: Path) -> None:
    assert archive.write([Sample("a.b", T0 + 60, 1.0)]) == [STORED]
    holder = subprocess.Popen(
        [sys.executable, "-c", LOCK_HOLDER, str(metric_path(root, "a.b"))], stdout=subprocess.PIPE
    )
    assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
    started = time.monotonic()
    assert archive.write([Sample("a.b", T0 + 120, 2.0)]) == [STORED]
    assert time.monotonic() - started >= 0.2
    holder.communicate(timeout=10)
    assert known_values(metric_path(root, "a.b"), T0, T0 + 120) == {T0 + 60: 1.0, T0 + 120: 2.0}


def test_a_file_locked_for_longer_than_the_writer_waits_is_refused_to_send_later(
    archive: Archive, root: Path
) -> None:
    assert archive.write([Sample("a.b", T0 + 60, 1.0)]) == [STORED]
    script = LOCK_HOLDER.replace("0.4", "60")
    path = str(metric_path(root, "a.b"))
    with subprocess.Popen([sys.executable, "-c", script, path], stdout=subprocess.PIPE) as holder:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        (verdict,) = archive.write([Sample("a.b", T0 + 120, 2.0)])
        holder.kill()
    assert verdict.retry and not verdict.stored
    assert archive.write([Sample("a.b", T0 + 120, 2.0)]) == [STORED]  # sent again, later


LOCK_HOLDER = """
import fcntl, os, sys, time
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True)
time.sleep(0.4)
"""


def test_a_damaged_file_refuses_its_samples_and_the_rest_is_stored(
    archive: Archive, root: Path
) -> None:
    assert archive.write([Sample("a.b", T0 + 60, 1.0), Sample("a.c", T0 + 60, 1.0)]) == [STORED] * 2
    metric_path(root, "a.b").write_bytes(b"not an rrd at all")
    verdicts = archive.write([Sample("a.b", T0 + 120, 2.0), Sample("a.c", T0 + 120, 2.0)])
    assert not verdicts[0].stored and verdicts[0].reason.startswith("not stored: ")
    assert not verdicts[0].retry  # sending it again cannot help
    assert verdicts[1] is STORED


def test_a_deleted_file_is_created_again(archive: Archive, root: Path) -> None:
    assert archive.write([Sample("a.b", T0 + 60, 1.0)]) == [STORED]
    metric_path(root, "a.b").unlink()
    assert archive.write([Sample("a.b", T0 + 120, 2.0)]) == [STORED]
    assert known_values(metric_path(root, "a.b"), T0, T0 + 120) == {T0 + 120: 2.0}


def test_concurrent_writers_in_several_processes_store_every_sample(root: Path) -> None:
    # each process writes its own minutes of the same metrics; ordering is by the file
    script = WRITER.format(root=str(root), t0=T0)
    children = [
        subprocess.Popen([sys.executable, "-c", script, str(k)], stdout=subprocess.PIPE)
        for k in range(3)
    ]
    outputs = [child.communicate(timeout=60)[0].decode() for child in children]
    assert all(child.returncode == 0 for child in children), outputs
    accepted = sum(int(output.split()[0]) for output in outputs)
    stored = sum(len(known_values(metric_path(root, f"m.n{j}"), T0, T0 + 3000)) for j in range(5))
    assert accepted == stored and accepted > 0


WRITER = """
import sys
from pathlib import Path
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rexmon.sample import Sample
k = int(sys.argv[1])
archive = Archive(ArchiveConfig.simple(Path({root!r})), clock=lambda: {t0} + 3600)
accepted = 0
for minute in range(1, 50):
    verdicts = archive.write([Sample(f"m.n{{j}}", {t0} + 60 * minute, float(k)) for j in range(5)])
    accepted += sum(v.stored for v in verdicts)
    bad = [str(v) for v in verdicts if not v.stored and "out of order" not in v.reason
           and "different value" not in v.reason]
    assert not bad, bad
print(accepted)
"""
