"""Graph rendering: a 1-day and a 1-year PNG served by the app (gunicorn, real HTTP)
against the plain ``rrdtool graph`` command drawing the same elements from the same file.

    .venv/bin/python bench/graph.py [--requests 30]

The file holds a year of 5-minute samples under the production schemas
(``etc/archive.yaml``). Every request asks for a full render (no ``If-None-Match``); the
app's extra work is the request, the metric and range checks, the downtime and alarm
lookups for the overlays and the ETag. The in-process binding is shown for reference.
Target: the app within 30% of the command.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
import rrdtool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import REPO, remove, rexmon_server, save  # noqa: E402
from rexmon.metric import metric_path  # noqa: E402
from rexmon.sample import Sample  # noqa: E402
from rrdarchive.archive import Archive  # noqa: E402
from rrdarchive.graph import graph_elements  # noqa: E402
from web.config import load_server_config  # noqa: E402

SCHEMAS = REPO / "etc" / "archive.yaml"
METRIC = "host.bench01.disk.root.used_ratio"
YEAR = 365 * 86400
WIDTH, HEIGHT = 800, 240


def fill(config_path: Path, now: int) -> Path:
    """A year of 5-minute samples, written through the archive (old samples allowed)."""
    config = load_server_config(config_path)
    archive_config = dataclasses.replace(config.archive, max_age=YEAR + 86400)
    first = (now - YEAR) // 300 * 300
    samples = [
        Sample(METRIC, t, 0.5 + 0.4 * math.sin(t / 86400 * 2 * math.pi))
        for t in range(first, now - 60, 300)
    ]
    with Archive(archive_config) as archive:
        for offset in range(0, len(samples), 20_000):
            verdicts = archive.write(samples[offset : offset + 20_000])
            assert all(v.stored for v in verdicts), [str(v) for v in verdicts if not v.stored][:3]
    return metric_path(config.archive.root, METRIC)


def command_args(path: Path, start: int, end: int) -> list[str]:
    """What the app passes to rrdtool for this graph without overlays."""
    return [
        "--start", str(start), "--end", str(end),
        "--width", str(WIDTH), "--height", str(HEIGHT), "--imgformat", "PNG",
        "--title", METRIC, "--vertical-label", "ratio", "--",
        *graph_elements([(METRIC, path)], cf="AVERAGE"),
    ]  # fmt: skip


def time_app(url: str, start: int, end: int, count: int) -> list[float]:
    http = requests.Session()
    query = {"start": str(start), "end": str(end), "width": str(WIDTH), "height": str(HEIGHT)}
    seconds = []
    for _ in range(count + 2):
        began = time.perf_counter()
        answer = http.get(f"{url}/graph/{METRIC}.png", params=query, timeout=60)
        elapsed = time.perf_counter() - began
        assert answer.status_code == 200 and answer.content.startswith(b"\x89PNG"), answer.text
        seconds.append(elapsed)
    return seconds[2:]  # the first requests open the archive and database


def time_command(path: Path, start: int, end: int, count: int) -> list[float]:
    argv = ["rrdtool", "graph", "-", *command_args(path, start, end)]
    seconds = []
    for _ in range(count + 1):
        began = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=True)
        seconds.append(time.perf_counter() - began)
        assert b"PNG" in done.stdout[:8]
    return seconds[1:]


def time_binding(path: Path, start: int, end: int, count: int) -> list[float]:
    seconds = []
    for _ in range(count):
        began = time.perf_counter()
        rrdtool.graphv("-", *command_args(path, start, end))
        seconds.append(time.perf_counter() - began)
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=30)
    options = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="rexmon-graph-bench-"))
    figures: dict[str, object] = {"requests": options.requests, "width": WIDTH,
                                  "height": HEIGHT}  # fmt: skip
    try:
        directory = base / "server"
        directory.mkdir()
        with rexmon_server(directory, SCHEMAS, workers=2, threads=2) as server:
            now = int(time.time())
            path = fill(server.config_path, now)
            end = now // 60 * 60
            for name, span in (("1d", 86400), ("1y", YEAR)):
                start = end - span
                app = statistics.median(time_app(server.url, start, end, options.requests))
                command = statistics.median(time_command(path, start, end, options.requests))
                binding = statistics.median(time_binding(path, start, end, options.requests))
                ratio = app / command
                figures[name] = {
                    "app_median_ms": round(app * 1000, 2),
                    "rrdtool_command_median_ms": round(command * 1000, 2),
                    "binding_in_process_median_ms": round(binding * 1000, 2),
                    "app_over_command": round(ratio, 3),
                    "overhead_percent": round((ratio - 1) * 100, 1),
                    "app_over_binding": round(app / binding, 3),
                }
                print(
                    f"{name}: app {app * 1000:.1f} ms, rrdtool graph {command * 1000:.1f} ms"
                    f" (in-process {binding * 1000:.1f} ms): ratio {ratio:.2f},"
                    f" overhead {(ratio - 1) * 100:+.0f}% (target <= +30%);"
                    f" {app / binding:.2f}x the in-process binding"
                )
        save("graph", figures)
    finally:
        remove(base)
    return 0


if __name__ == "__main__":
    sys.exit(main())
