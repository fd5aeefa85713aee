"""The Graphite render API against ``rrdtool xport`` of the same data, in the same run.

    .venv/bin/python bench/graphite.py            # 100 hosts x 7 days (< 2 min)
    .venv/bin/python bench/graphite.py --full     # 1,000 hosts x 7 days (as issue 20 asks)

Two requests, served by the app under gunicorn over real HTTP, each timed ``--requests``
times (p50, p99):

- ``host.h00*.cpu.user`` over one day: 100 series, JSON;
- ``sumSeries(host.*.cpu.user)`` over seven days: every host, JSON.

And ``metrics/find`` on a tree of 100,000 metrics (1,000 hosts x 100; empty files: find
reads only the tree), in process, for the patterns Grafana's editor sends.

Against each, the ``rrdtool xport`` command reading the same files at the same step
(the one the app answered with): ``DEF`` + ``XPORT`` per series for the first, one
``CDEF`` sum (``ADDNAN``, unknown only where all are, as sumSeries) for the second. The
files hold a sample a minute under the shipped schemas (``etc/archive.yaml``). Target:
within 1.5x of xport. Renders and xports are taken in turns (both see the same load), and
an answer is read whole at once, as Grafana's Go client does (``requests`` reads 10 KB at
a time: 17 ms of a 4.6 MB answer here, client time that is not the server's).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import REPO, percentile, rexmon_server, save, scratch_directory  # noqa: E402
from rexmon.metric import metric_path  # noqa: E402
from rexmon.sample import Sample  # noqa: E402
from rrdarchive.archive import Archive  # noqa: E402
from rrdarchive.config import ArchiveConfig  # noqa: E402
from rrdarchive.graph import escape_path  # noqa: E402
from web.config import load_server_config  # noqa: E402
from web.graphite.find import find_nodes  # noqa: E402

SCHEMAS = REPO / "etc" / "archive.yaml"
DAY = 86400


def host(number: int) -> str:
    return f"h{number:04d}"


def fill(config_path: Path, hosts: int, days: int, now: int) -> list[Path]:
    """A sample a minute per host for ``days``, written through the archive."""
    config = load_server_config(config_path)
    archive_config = dataclasses.replace(config.archive, max_age=days * DAY + DAY)
    first = (now - days * DAY) // 60 * 60
    paths = []
    with Archive(archive_config) as archive:
        for number in range(hosts):
            metric = f"host.{host(number)}.cpu.user"
            samples = [
                Sample(metric, t, 0.3 + 0.2 * math.sin(t / 3600 + number))
                for t in range(first, now - 60, 60)
            ]
            verdicts = archive.write(samples)
            assert all(v.stored for v in verdicts), [v for v in verdicts if not v.stored][:3]
            paths.append(metric_path(config.archive.root, metric))
    return paths


def render_once(http: requests.Session, url: str, params: dict[str, str]) -> tuple[float, int]:
    """One render request: its seconds (the whole answer read) and the answer's step."""
    began = time.perf_counter()
    answer = http.get(f"{url}/graphite/render", params=params, timeout=600, stream=True)
    body = answer.raw.read(decode_content=True)  # at once: not requests' 10 KB chunks
    took = time.perf_counter() - began
    assert answer.status_code == 200, body[:300]
    series = json.loads(body)
    assert series and series[0]["datapoints"], params["target"]
    points = series[0]["datapoints"]
    return took, int(points[1][1] - points[0][1])


def xport_args(paths: list[Path], start: int, end: int, step: int, total: bool) -> list[str]:
    rows = (end - start) // step + 2
    args = ["rrdtool", "xport", "--json", "--start", str(start), "--end", str(end),
            "--step", str(step), "--maxrows", str(rows), "--"]  # fmt: skip
    for number, path in enumerate(paths):
        args.append(f"DEF:m{number}={escape_path(path)}:value:AVERAGE")
    if total:
        terms = ["m0"] + [f"m{n},ADDNAN" for n in range(1, len(paths))]
        args += [f"CDEF:total={','.join(terms)}", "XPORT:total"]
    else:
        args += [f"XPORT:m{number}" for number in range(len(paths))]
    return args


def xport_once(args: list[str]) -> float:
    began = time.perf_counter()
    done = subprocess.run(args, capture_output=True, check=False)
    took = time.perf_counter() - began
    assert done.returncode == 0, done.stderr[:300]
    return took


def time_both(
    url: str, target: str, span: tuple[int, int], files: list[Path], total: bool, count: int
) -> tuple[list[float], list[float], int]:
    """``count`` renders and as many xports of the same data, taken in turns so that both
    see the same load on the machine; a first one of each (it opens the archive in that
    worker, and reads the files into the page cache) is not counted."""
    http = requests.Session()
    start, end = span
    params = {"target": target, "from": str(start), "until": str(end), "format": "json"}
    _, step = render_once(http, url, params)
    args = xport_args(files, start, end, step, total)
    xport_once(args)
    app, xport = [], []
    for _ in range(count):
        app.append(render_once(http, url, params)[0])
        xport.append(xport_once(args))
    return app, xport, step


def figures_of(app: list[float], xport: list[float]) -> dict[str, float]:
    app50, xport50 = statistics.median(app), statistics.median(xport)
    return {
        "app_p50_ms": round(app50 * 1000, 1),
        "app_p99_ms": round(percentile(app, 0.99) * 1000, 1),
        "xport_p50_ms": round(xport50 * 1000, 1),
        "xport_p99_ms": round(percentile(xport, 0.99) * 1000, 1),
        "app_over_xport_p50": round(app50 / xport50, 2),
    }


FIND_PATTERNS = ("*", "host.*", "host.h0042.*", "host.*.cpu.*", "host.h00[0-4]?.cpu.{user,system}")


def time_find(base: Path, count: int) -> dict[str, float]:
    """p50 milliseconds of find_nodes per pattern over 100,000 (empty) metric files."""
    root = base / "find-tree"
    for number in range(1000):
        for group in ("cpu", "disk", "net", "mem", "load"):
            directory = root / "host" / host(number) / group
            directory.mkdir(parents=True)
            for metric in range(20):
                name = ("user", "system")[metric] if group == "cpu" and metric < 2 else f"m{metric}"
                (directory / f"{name}.rrd").touch()
    archive = Archive(ArchiveConfig.simple(root))
    figures = {}
    for pattern in FIND_PATTERNS:
        seconds = []
        for _ in range(count):
            began = time.perf_counter()
            found = find_nodes(archive.children, pattern)
            seconds.append(time.perf_counter() - began)
        figures[pattern] = round(statistics.median(seconds) * 1000, 2)
        print(f"metrics/find {pattern!r} over 100,000 metrics: {len(found)} nodes,"
              f" p50 {figures[pattern]} ms")  # fmt: skip
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--full", action="store_true", help="1,000 hosts (several GB, minutes)")
    options = parser.parse_args()
    hosts = 1000 if options.full else options.hosts
    figures: dict[str, object] = {"hosts": hosts, "days": options.days,
                                  "requests": options.requests}  # fmt: skip
    with scratch_directory("rexmon-graphite-bench-") as base:
        directory = base / "server"
        directory.mkdir()
        with rexmon_server(directory, SCHEMAS, workers=2, threads=2) as server:
            now = int(time.time()) // 60 * 60
            began = time.perf_counter()
            paths = fill(server.config_path, hosts, options.days, now)
            took = time.perf_counter() - began
            print(f"filled {hosts} hosts x {options.days} days in {took:.0f} s")
            end = now - 60
            cases = (
                ("100_series_1_day", "host.h00*.cpu.user", DAY, paths[:100], False),
                (f"sum_{hosts}_hosts_{options.days}_days", "sumSeries(host.*.cpu.user)",
                 options.days * DAY - 3600, paths, True),
            )  # fmt: skip
            for name, target, span, files, total in cases:
                start = end - span
                app, xport, step = time_both(
                    server.url, target, (start, end), files, total, options.requests
                )
                figures[name] = {"target": target, "series": len(files), "step": step,
                                 **figures_of(app, xport)}  # fmt: skip
                row = figures[name]
                assert isinstance(row, dict)
                print(
                    f"{name}: app p50 {row['app_p50_ms']} ms p99 {row['app_p99_ms']} ms;"
                    f" rrdtool xport p50 {row['xport_p50_ms']} ms p99 {row['xport_p99_ms']} ms;"
                    f" ratio {row['app_over_xport_p50']} (target <= 1.5), step {step} s"
                )
        figures["find_p50_ms"] = time_find(base, options.requests)
    save("graphite", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
