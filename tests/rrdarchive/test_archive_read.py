"""Reading back: last, fetch, xport, graph, info, list_metrics."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest

from rexmon.errors import InvalidMetricName
from rexmon.sample import Sample
from rrdarchive.archive import Archive, Series
from rrdarchive.config import ArchiveConfig
from rrdarchive.errors import ArchiveError
from rrdarchive.graph import Band, HLine, escape_text, graph_elements
from rrdarchive.verdict import STORED
from tests.plain_rrdtool import fetch_values

T0 = 1_699_999_980
NOW = T0 + 3600


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    archive = Archive(ArchiveConfig.simple(tmp_path / "rrd"), clock=lambda: NOW)
    samples = [Sample("host.n1.load", T0 + 60 * i, float(i % 7)) for i in range(1, 31)]
    samples += [Sample("host.n2.load", T0 + 60 * i, 10.0 + i) for i in range(1, 31)]
    assert archive.write(samples) == [STORED] * 60
    return archive


def test_last_gives_the_last_update_and_none_for_a_missing_metric(archive: Archive) -> None:
    assert archive.last("host.n1.load") == (T0 + 1800, 30 % 7)
    assert archive.last("host.n9.load") is None
    with pytest.raises(InvalidMetricName):
        archive.last("../etc/passwd")


def test_fetch_agrees_with_the_plain_rrdtool_fetch(archive: Archive) -> None:
    series = archive.fetch("host.n1.load", T0, T0 + 1800)
    plain = fetch_values(archive.config.root / "host" / "n1" / "load.rrd", T0, T0 + 1800)
    assert dict(zip(series.times, series.values, strict=True)) == plain
    assert series.step == 60 and series.values[0] == 1.0


def test_fetch_at_a_coarser_resolution(archive: Archive) -> None:
    series = archive.fetch("host.n2.load", T0, T0 + 3 * 3600, resolution=3600)
    assert isinstance(series, Series) and series.step == 3600


@pytest.mark.parametrize(
    ("start", "end", "cf", "message"),
    [
        (T0 + 60, T0, "AVERAGE", "must be before"),
        (-3600, T0, "AVERAGE", "start must be a UNIX time"),
        (T0, T0 + 60, "MEDIAN", "consolidation must be one of"),
    ],
)
def test_fetch_refuses_bad_arguments(
    archive: Archive, start: int, end: int, cf: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        archive.fetch("host.n1.load", start, end, cf)


def test_fetch_of_a_missing_metric_is_an_archive_error(archive: Archive) -> None:
    with pytest.raises(ArchiveError, match="no such metric"):
        archive.fetch("host.n9.load", T0, T0 + 60)


def test_an_rrdtool_error_becomes_an_archive_error_naming_file_and_command(
    archive: Archive,
) -> None:
    path = archive.config.root / "host" / "n1" / "load.rrd"
    path.write_bytes(b"garbage")
    with pytest.raises(ArchiveError) as info:
        archive.fetch("host.n1.load", T0, T0 + 600)
    assert (info.value.path, info.value.command) == (str(path), "fetch")


def test_xport_is_json_ready_and_picks_the_resolution_from_the_range(archive: Archive) -> None:
    data = archive.xport(["host.n1.load", "host.n2.load"], T0, T0 + 1800)
    json.dumps(data, allow_nan=False)
    assert data["step"] == 60
    assert len(data["timestamps"]) == len(data["series"]["host.n1.load"])
    by_time = dict(zip(data["timestamps"], data["series"]["host.n2.load"], strict=True))
    assert by_time[T0 + 600] == 20.0
    wide = archive.xport(["host.n1.load"], T0 - 20 * 86400, T0 + 1800, max_points=100)
    assert wide["step"] >= 3600 and len(wide["timestamps"]) <= 100


def test_graph_makes_a_real_png_and_svg(archive: Archive) -> None:
    png = archive.graph(
        ["host.n1.load", "host.n2.load"],
        T0,
        T0 + 1800,
        title="load: n1 \\ n2",
        bands=[Band(T0 + 300, T0 + 600, "#ff000040", "downtime: disk swap")],
        lines=[HLine(15.0, "#0000ff", "warning: 15")],
    )
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 1000
    svg = archive.graph(["host.n1.load"], T0, T0 + 1800, image_format="SVG")
    assert svg.lstrip().startswith(b"<?xml") and b"<svg" in svg


DRAW_IN_THREADS = """
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from rrdarchive.verdict import STORED
from rexmon.sample import Sample

T0 = int(sys.argv[2])
archive = Archive(ArchiveConfig.simple(Path(sys.argv[1])), clock=lambda: T0 + 3600)
samples = [Sample(f"host.n{n}.load", T0 + 60 * i, float(i)) for n in range(4) for i in range(1, 31)]
assert archive.write(samples) == [STORED] * len(samples)
with ThreadPoolExecutor(4) as pool:
    images = list(pool.map(
        lambda n: archive.graph([f"host.n{n % 4}.load"], T0, T0 + 1800, title=f"n{n}"), range(200)
    ))
assert all(image.startswith(b"\\x89PNG") for image in images)
print("drew", len(images))
"""


def test_threads_drawing_at_once_all_get_their_graph_and_the_process_survives(
    tmp_path: Path,
) -> None:
    """gunicorn's threads draw through one Archive, and librrd's drawing (pango) is not
    thread-safe: two graphs at once corrupt memory and crash the worker. In a process of
    its own, so that a crash fails this test instead of the test run."""
    done = subprocess.run(
        [sys.executable, "-c", DRAW_IN_THREADS, str(tmp_path / "rrd"), str(T0)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "drew 200"
    assert "CRITICAL" not in done.stderr and "corrupted" not in done.stderr, done.stderr[-2000:]


def test_graph_refuses_what_it_cannot_draw_safely(archive: Archive) -> None:
    with pytest.raises(ValueError, match="image_format"):
        archive.graph(["host.n1.load"], T0, T0 + 60, image_format="GIF")
    with pytest.raises(ValueError, match="colour"):
        Band(T0, T0 + 60, "red; rm -rf", "x")
    with pytest.raises(ValueError, match="before its end"):
        Band(T0 + 60, T0, "#ff0000")
    with pytest.raises(ValueError, match="finite"):
        HLine(float("nan"))
    with pytest.raises(ValueError, match="one label per metric"):
        archive.graph(["host.n1.load"], T0, T0 + 60, labels=["a", "b"])


def test_text_in_graph_elements_is_escaped() -> None:
    assert escape_text("a:b\\c\nd") == "a\\:b\\\\c d"
    elements = graph_elements(
        [("x:y", Path("/r/a:b.rrd"))], cf="AVERAGE", lines=[HLine(1.5, "#000000", "l:1")]
    )
    assert elements[0] == "DEF:m0=/r/a\\:b.rrd:value:AVERAGE"
    assert "LINE1:m0#1f77b4:x\\:y" in elements
    assert elements[-1] == "HRULE:1.5#000000:l\\:1"


def test_info_describes_the_rrd(archive: Archive) -> None:
    info = archive.info("host.n1.load")
    assert (info["step"], info["type"], info["heartbeat"]) == (60, "GAUGE", 120)
    assert info["last_update"] == T0 + 1800
    assert {(r["cf"], r["resolution"], r["keep"]) for r in info["rras"]} >= {
        ("AVERAGE", 60, 2 * 86400),
        ("MAX", 3600, 30 * 86400),
    }


def test_list_metrics_walks_only_the_prefix_directory(archive: Archive) -> None:
    root = archive.config.root
    assert archive.list_metrics() == ["host.n1.load", "host.n2.load"]
    assert archive.list_metrics("host.n1.*") == ["host.n1.load"]
    assert archive.list_metrics("*.n2.*") == ["host.n2.load"]
    assert archive.list_metrics("host.n2.load") == ["host.n2.load"]
    assert archive.list_metrics("nothing.*") == []
    (root / "host" / "n1" / ".load.rrd.123.tmp").write_bytes(b"")
    (root / "host" / "n1" / "notes.txt").write_text("x")
    (root / "host" / "bad name").mkdir()
    assert archive.list_metrics("host.*") == ["host.n1.load", "host.n2.load"]
    os.chmod(root / "host" / "n2", 0)  # unreadable: proves that "host.n1.*" never opens it
    try:
        assert archive.list_metrics("host.n1.*") == ["host.n1.load"]
    finally:
        os.chmod(root / "host" / "n2", 0o755)
    with pytest.raises(InvalidMetricName):
        archive.list_metrics("../*")


def test_list_metrics_enters_only_directories_that_can_hold_a_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "rrd"
    for host in range(200):
        directory = root / "host" / f"n{host}" / "cpu"
        directory.mkdir(parents=True)
        for metric in range(50):
            (directory / f"m{metric}.rrd").touch()
    archive = Archive(ArchiveConfig.simple(root))
    assert len(archive.list_metrics()) == 10_000
    scanned: list[str] = []
    real_scandir = os.scandir

    def scandir(path: Path) -> object:
        scanned.append(str(Path(path).relative_to(root)))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    assert len(archive.list_metrics("host.n7.*")) == 50
    assert scanned == ["host/n7", "host/n7/cpu"]
    scanned.clear()
    hosts = ["n19", *(f"n19{digit}" for digit in range(10))]  # n19, n190 ... n199
    assert archive.list_metrics("host.n19*.cpu.m1") == [f"host.{h}.cpu.m1" for h in hosts]
    # "host" is walked, and of its 200 directories only those that can hold a match
    entered = [f"host/{h}{cpu}" for h in hosts for cpu in ("", "/cpu")]
    assert sorted(scanned) == sorted(["host", *entered])


def test_fetch_many_and_combine_give_what_fetching_each_gives(archive: Archive) -> None:
    metrics = ["host.n1.load", "host.n2.load"]
    alone = [archive.fetch(metric, T0, T0 + 1800) for metric in metrics]
    last = alone[0].times[-1]
    together = archive.fetch_many(metrics, T0, last, alone[0].step)
    assert [s.start for s in together] == [s.start for s in alone]
    assert [s.values for s in together] == [s.values[: len(together[0].values)] for s in alone]
    total = archive.combine(metrics, "sum", T0, last, 60)
    columns = list(zip(*(s.values for s in together), strict=True))
    assert total.values == tuple(
        None if all(v is None for v in c) else sum(v for v in c if v is not None) for c in columns
    )
    assert archive.combine(metrics, "max", T0, last, 60).values[5] == max(
        c for c in columns[5] if c is not None
    )
    with pytest.raises(ValueError):
        archive.combine(metrics, "median", T0, last, 60)


def test_reading_many_metrics_again_and_again_keeps_no_memory(archive: Archive) -> None:
    """python-rrdtool's xport keeps every answer alive (see ``drop_leaked_references``):
    a Graphite render of 100 series x 1 day kept 5 MB, a worker grew without end."""
    metrics = ["host.n1.load", "host.n2.load"]
    reads = [  # every read of the archive that goes through xport
        lambda: archive.fetch_many(metrics, T0, T0 + 1800, 60),
        lambda: archive.combine(metrics, "sum", T0, T0 + 1800, 60),
        lambda: archive.xport(metrics, T0, T0 + 1800, 30),
    ]
    for read in reads:
        read()  # caches and free lists filled
    tracemalloc.start()
    try:
        before, _ = tracemalloc.get_traced_memory()
        for _ in range(200):
            for read in reads:
                read()
        gc.collect()
        after, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert after - before < 20_000, f"{(after - before) / 600:.0f} bytes kept per read"
