"""The status page and ``GET /api/v1/status`` of a whole site: 10k and 100k metrics.

    .venv/bin/python bench/status.py [--metrics 10000 --metrics 100000] [--requests 30]

Each site has hosts of 60 metrics (50 ``host.<h>.*`` and 10 ``munin.<h>.*``), real RRD
files under ``bench/archive-bench.yaml`` (the shipped schemas, about 1.3 MB a file, would
need 130 GB at 100k; the page reads no file's content, only its name and mtime), 1% of
them stale, and alarm records for a tenth of them (critical, warning, acknowledged,
stale, the rest OK) written with alarmd's own ``AlarmStore.save``. The files are copies of
one file written through the archive, which keeps building 100k of them to a minute or so.

Figures per site: p50/p95 of ``/``, ``/api/v1/status``, a scoped status, a host page and
``/healthz`` (the baseline: the same server doing almost nothing), the first request
(which builds the snapshot) apart, and each p50 as a ratio to ``/healthz``.
Target: page and API p50 < 300 ms at 100k.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from alarmd.alarmstate import AlarmState, Severity  # noqa: E402
from alarmd.record import Ack, new_record  # noqa: E402
from alarmd.statestore import AlarmStore, Change  # noqa: E402
from bench.harness import REPO, percentile, remove, rexmon_server, save  # noqa: E402
from rexmon.database import open_database  # noqa: E402
from rexmon.metric import metric_path  # noqa: E402
from rexmon.sample import Sample  # noqa: E402
from rrdarchive.archive import Archive  # noqa: E402
from web.config import load_server_config  # noqa: E402

SCHEMAS = REPO / "bench" / "archive-bench.yaml"
PER_HOST = (("host", 50), ("munin", 10))


def metric_names(count: int) -> list[str]:
    names: list[str] = []
    host = 0
    while len(names) < count:
        for category, many in PER_HOST:
            names += [f"{category}.wn{host:05d}.m{number:02d}.value" for number in range(many)]
        host += 1
    return names[:count]


def build_archive(config_path: Path, names: list[str], now: int) -> None:
    """One file written through the archive, copied to every name; 1% made stale."""
    config = load_server_config(config_path)
    with Archive(config.archive) as archive:
        verdicts = archive.write([Sample(names[0], now - 60 * i, 0.5) for i in range(10, 0, -1)])
        assert all(v.stored for v in verdicts), [str(v) for v in verdicts]
    template = metric_path(config.archive.root, names[0])
    began = time.perf_counter()
    for number, name in enumerate(names[1:], 1):
        target = metric_path(config.archive.root, name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(template, target)
        if number % 100 == 0:
            old = now - 7200
            os.utime(target, (old, old))
        if number % 10_000 == 0:
            print(f"  {number} files ({time.perf_counter() - began:.0f} s)", flush=True)


def write_alarms(config_path: Path, names: list[str], now: int) -> int:
    """Records for every tenth metric, as alarmd stores them."""
    config = load_server_config(config_path)
    store = AlarmStore(open_database(config.database.url))
    store.migrate()
    changes = []
    for number, name in enumerate(names[::10]):
        record = new_record("bench-rule", name, now - 3600)
        if number % 50 == 1:
            record = replace(record, state=AlarmState.FIRING, severity=Severity.CRITICAL,
                             value=0.99, problem_since=now - 1800)  # fmt: skip
        elif number % 50 == 2:
            record = replace(record, state=AlarmState.FIRING, severity=Severity.WARNING,
                             value=0.9, problem_since=now - 900)  # fmt: skip
        elif number % 50 == 3:
            record = replace(record, state=AlarmState.FIRING, severity=Severity.CRITICAL,
                             ack=Ack("olivia", now - 600, None, "on it"))  # fmt: skip
        elif number % 50 == 4:
            record = replace(record, state=AlarmState.STALE, problem_since=now - 1200)
        changes.append(Change(None, None, record))
    for offset in range(0, len(changes), 5000):
        assert store.save(changes[offset : offset + 5000], [], [], now) == []
    store.engine.dispose()
    return len(changes)


def timed(http: requests.Session, url: str, count: int) -> dict[str, float]:
    began = time.perf_counter()
    first = http.get(url, timeout=300)
    cold = time.perf_counter() - began
    assert first.status_code == 200, (url, first.status_code, first.text[:300])
    seconds = []
    for _ in range(count):
        began = time.perf_counter()
        answer = http.get(url, timeout=300)
        seconds.append(time.perf_counter() - began)
        assert answer.status_code == 200, url
    return {
        "first_ms": round(cold * 1000, 1),
        "p50_ms": round(percentile(seconds, 0.5) * 1000, 1),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 1),
    }


def run_site(count: int, requests_per_url: int) -> dict[str, Any]:
    base = Path(tempfile.mkdtemp(prefix="rexmon-status-bench-"))
    try:
        directory = base / "server"
        directory.mkdir()
        names = metric_names(count)
        now = int(time.time())
        with rexmon_server(directory, SCHEMAS, workers=2, threads=2) as server:
            print(f"{count} metrics: building the archive", flush=True)
            began = time.perf_counter()
            build_archive(server.config_path, names, now)
            records = write_alarms(server.config_path, names, now)
            built = time.perf_counter() - began
            print(f"  built in {built:.0f} s, {records} alarm records", flush=True)
            http = requests.Session()
            urls = {
                "healthz": "/healthz",
                "page": "/",
                "api": "/api/v1/status",
                "api_scoped": "/api/v1/status?scope=host.wn00007.*",
                "page_search": "/?q=wn0000",
                "host_page": "/hosts/wn00001",
            }
            figures: dict[str, Any] = {"metrics": count, "alarm_records": records,
                                          "build_seconds": round(built, 1)}  # fmt: skip
            for name, path in urls.items():
                figures[name] = timed(http, server.url + path, requests_per_url)
            baseline = figures["healthz"]["p50_ms"]
            for name in urls:
                entry = figures[name]
                entry["over_healthz"] = round(entry["p50_ms"] / max(baseline, 0.1), 1)
                print(f"  {name:12} p50 {entry['p50_ms']:7.1f} ms  p95 {entry['p95_ms']:7.1f} ms"
                      f"  first {entry['first_ms']:7.1f} ms  x{entry['over_healthz']} /healthz",
                      flush=True)  # fmt: skip
        return figures
    finally:
        remove(base)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, action="append")
    parser.add_argument("--requests", type=int, default=30)
    options = parser.parse_args()
    sites = [run_site(count, options.requests) for count in options.metrics or [10_000, 100_000]]
    figures: dict[str, Any] = {f"{site['metrics']}": site for site in sites}
    if len(sites) > 1:
        small, large = sites[0], sites[-1]
        for name in ("page", "api"):
            ratio = large[name]["p50_ms"] / max(small[name]["p50_ms"], 0.1)
            figures[f"{name}_p50_ratio_largest_over_smallest"] = round(ratio, 2)
            print(
                f"{name}: p50 at {large['metrics']} is {ratio:.2f}x the one at {small['metrics']}"
            )
    for site in sites:
        for name in ("page", "api"):
            p50 = site[name]["p50_ms"]
            verdict = "ok" if p50 < 300 else "OVER"
            print(f"{site['metrics']} {name}: p50 {p50} ms (target < 300 ms: {verdict})")
    save("status", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
