"""Ingest throughput: N metrics x R rounds pushed through the HTTP API in batches, every
sample verified in the files afterwards, against the naive baseline (one
``rrdtool.update`` call per sample) on the same workload in the same process.

    .venv/bin/python bench/ingest.py [--sizes 1000,10000] [--rounds 5] [--schemas shipped]

Round 0 creates the files and is reported apart; the steady rounds are the figure. The
files are those a site gets (``etc/archive.yaml``, ~1.4 MB each) unless ``--schemas
small`` (13 KB each: 100,000 shipped files would need ~150 GB).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests
import rrdtool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    REPO,
    add_schemas_option,
    percentile,
    remove,
    rexmon_server,
    rrdcached_process,
    save,
    schemas_for,
    stored_values,
)
from rexmon.metric import metric_path  # noqa: E402

STEP = 60


def metric_name(index: int) -> str:
    return f"bench.m{index // 1000:03d}.s{index % 1000:03d}"


def value_of(index: int, round_number: int) -> float:
    return float((index * 7 + round_number) % 1000)


def round_bodies(size: int, round_number: int, when: int, batch: int) -> list[bytes]:
    """The gzip JSON bodies of one round, built before the clock starts."""
    bodies = []
    for first in range(0, size, batch):
        samples = [
            {"metric": metric_name(i), "time": when, "value": value_of(i, round_number)}
            for i in range(first, min(size, first + batch))
        ]
        bodies.append(gzip.compress(json.dumps({"samples": samples}).encode(), 1))
    return bodies


def push_round(
    url: str, token: str, bodies: list[bytes], clients: int
) -> tuple[float, list[float]]:
    """Push bodies with ``clients`` concurrent connections; (seconds, request latencies)."""
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "application/json",
        "Content-Encoding": "gzip",
    }
    sessions = [requests.Session() for _ in range(clients)]
    latencies: list[float] = []

    def send(item: tuple[int, bytes]) -> None:
        number, body = item
        started = time.perf_counter()
        response = sessions[number % clients].post(
            url + "/api/v1/samples", data=body, headers=headers, timeout=300
        )
        latencies.append(time.perf_counter() - started)
        answer = response.json()
        if response.status_code != 200 or answer["rejected"]:
            raise RuntimeError(f"push failed: {response.status_code} {str(answer)[:300]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(send, enumerate(bodies)))
    return time.perf_counter() - started, latencies


def verify(
    root: Path, size: int, times: list[int], name: Callable[[int], str] | None = None
) -> int:
    """Count samples missing or wrong in the files (read with rrdtool, no daemon); ``name``
    maps a metric's index to its id (default :func:`metric_name`)."""
    missing = 0
    for index in range(size):
        metric = (name or metric_name)(index)
        by_time = stored_values(root, metric, times[0] - STEP, times[-1])
        for round_number, when in enumerate(times):
            if round_number == 0:
                continue  # the PDP ending at the creation sample is partial by design
            if by_time.get(when) != value_of(index, round_number):
                missing += 1
    return missing


def bench_api(
    size: int, rounds: int, batch: int, clients: int, mode: str, schemas: Path
) -> dict[str, Any]:
    directory = Path(tempfile.mkdtemp(prefix=f"rexmon-bench-{mode}-"))
    base = int(time.time()) // STEP * STEP - (rounds + 2) * STEP
    times = [base + r * STEP for r in range(rounds)]
    steady_seconds = 0.0
    latencies: list[float] = []
    create_seconds = 0.0
    try:
        root = directory / "rrd"
        root.mkdir()
        with rrdcached_process(directory, root) if mode == "rrdcached" else _nothing() as cached:
            with rexmon_server(directory, schemas, rrdcached=cached) as server:
                for round_number, when in enumerate(times):
                    bodies = round_bodies(size, round_number, when, batch)
                    seconds, lat = push_round(server.url, server.token, bodies, clients)
                    if round_number == 0:
                        create_seconds = seconds
                    else:
                        steady_seconds += seconds
                        latencies += lat
                    print(
                        f"  {mode} {size} metrics round {round_number}: "
                        f"{size / seconds:,.0f} samples/s",
                        flush=True,
                    )
        missing = verify(root, size, times)
    finally:
        remove(directory)
    steady = size * (rounds - 1)
    return {
        "mode": mode,
        "metrics": size,
        "rounds": rounds,
        "batch": batch,
        "clients": clients,
        "create_round_samples_per_s": round(size / create_seconds),
        "steady_samples_per_s": round(steady / steady_seconds),
        "request_latency_p50_s": round(percentile(latencies, 0.5), 4),
        "request_latency_p99_s": round(percentile(latencies, 0.99), 4),
        "samples_missing_or_wrong": missing,
    }


def bench_naive(size: int, rounds: int, schemas: Path) -> dict[str, Any]:
    """One ``rrdtool.update`` per sample on files made by the archive beforehand."""
    from rexmon.sample import Sample
    from rexmon.yamlconf import parse_yaml
    from rrdarchive.archive import Archive
    from rrdarchive.config import archive_config_from_node

    directory = Path(tempfile.mkdtemp(prefix="rexmon-bench-naive-"))
    base = int(time.time()) // STEP * STEP - (rounds + 2) * STEP
    times = [base + r * STEP for r in range(rounds)]
    try:
        node = parse_yaml(f"root: {directory / 'rrd'}\nschemas: {schemas}\nmax_age: 30d\n")
        with Archive(archive_config_from_node(node, directory)) as archive:
            archive.write([Sample(metric_name(i), times[0], value_of(i, 0)) for i in range(size)])
        paths = [str(metric_path(directory / "rrd", metric_name(i))) for i in range(size)]
        started = time.perf_counter()
        for round_number, when in enumerate(times[1:], start=1):
            for index, path in enumerate(paths):
                rrdtool.update(path, f"{when}:{value_of(index, round_number)}")
        seconds = time.perf_counter() - started
        missing = verify(directory / "rrd", size, times)
    finally:
        remove(directory)
    return {
        "mode": "naive",
        "metrics": size,
        "rounds": rounds,
        "steady_samples_per_s": round(size * (rounds - 1) / seconds),
        "samples_missing_or_wrong": missing,
    }


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000", help="100000 needs --schemas small")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=2500)
    parser.add_argument("--clients", type=int, default=6)
    parser.add_argument("--modes", default="direct,rrdcached")
    add_schemas_option(parser)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    schemas = schemas_for(args.schemas, max(sizes))
    results = []
    for size in sizes:
        naive = bench_naive(size, args.rounds, schemas)
        print(
            f"naive   {size:>7} metrics: {naive['steady_samples_per_s']:>9,} samples/s", flush=True
        )
        results.append(naive)
        for mode in args.modes.split(","):
            figures = bench_api(size, args.rounds, args.batch, args.clients, mode, schemas)
            figures["ratio_to_naive"] = round(
                figures["steady_samples_per_s"] / naive["steady_samples_per_s"], 2
            )
            results.append(figures)
            print(
                f"{mode:<9} {size:>7} metrics: {figures['steady_samples_per_s']:>9,} samples/s"
                f" ({figures['ratio_to_naive']}x naive), p50 {figures['request_latency_p50_s']}s"
                f" p99 {figures['request_latency_p99_s']}s,"
                f" missing {figures['samples_missing_or_wrong']}",
                flush=True,
            )
    save("ingest", {"schemas": str(schemas.relative_to(REPO)), "results": results})
    lost = sum(r["samples_missing_or_wrong"] for r in results)
    return 1 if lost else 0


if __name__ == "__main__":
    sys.exit(main())
