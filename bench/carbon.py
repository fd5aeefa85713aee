"""Graphite lines through ``rexmon-carbon`` and collectd JSON through ``/api/v1/collectd``
against the slurpers' gzip JSON through ``/api/v1/samples``, in the same run: N metrics x
R rounds each, every sample verified in the files afterwards (0 lost).

    .venv/bin/python bench/carbon.py [--metrics 10000] [--rounds 6] [--schemas shipped]

Each path gets a fresh archive; round 0 creates the files and is reported apart; the
steady rounds are the figure. A carbon round is timed until every connection has been
closed by the receiver after the sender's end of stream: it closes only once every line
read is stored, so that is the protocol's only acknowledgement. collectd bodies are
value lists of one value, uncompressed, as collectd's write_http posts them. The files
are those a site gets (``etc/archive.yaml``) unless ``--schemas small``.
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

import requests
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    BIN,
    REPO,
    add_schemas_option,
    rexmon_server,
    rrdcached_process,
    save,
    schemas_for,
    scratch_directory,
    write_server_config,
)
from bench.ingest import STEP, push_round, round_bodies, value_of, verify  # noqa: E402
from bench.ingest import metric_name as samples_name  # noqa: E402

CLIENTS = 6
BATCH = 2500


def collectd_name(index: int) -> str:
    """The id /api/v1/collectd makes of host h<i/1000>, plugin bench, type s<i%1000>."""
    return f"collectd.h{index // 1000:03d}.bench.s{index % 1000:03d}"


def carbon_round(port: int, size: int, round_number: int, when: int) -> float:
    """One round over ``CLIENTS`` connections; seconds until the receiver closed them all."""
    shares = [
        "".join(
            f"{collectd_name(i)} {value_of(i, round_number)} {when}\n"
            for i in range(client, size, CLIENTS)
        ).encode()
        for client in range(CLIENTS)
    ]

    def send(data: bytes) -> None:
        with socket.create_connection(("127.0.0.1", port), timeout=300) as connection:
            connection.sendall(data)
            connection.shutdown(socket.SHUT_WR)
            if connection.recv(1) != b"":
                raise RuntimeError("rexmon-carbon sent something; it never should")

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send, shares))
    return time.perf_counter() - started


def collectd_bodies(size: int, round_number: int, when: int) -> list[bytes]:
    bodies = []
    for first in range(0, size, BATCH):
        lists = [
            {
                "values": [value_of(i, round_number)],
                "dstypes": ["gauge"],
                "dsnames": ["value"],
                "time": when,
                "interval": 60.0,
                "host": f"h{i // 1000:03d}",
                "plugin": "bench",
                "plugin_instance": "",
                "type": f"s{i % 1000:03d}",
                "type_instance": "",
            }
            for i in range(first, min(size, first + BATCH))
        ]
        bodies.append(json.dumps(lists).encode())
    return bodies


def collectd_round(url: str, token: str, bodies: list[bytes]) -> float:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    sessions = [requests.Session() for _ in range(CLIENTS)]

    def send(item: tuple[int, bytes]) -> None:
        number, body = item
        response = sessions[number % CLIENTS].post(
            url + "/api/v1/collectd", data=body, headers=headers, timeout=300
        )
        if response.status_code != 200 or response.json()["rejected"]:
            raise RuntimeError(f"push failed: {response.status_code} {response.text[:300]}")

    started = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        list(pool.map(send, enumerate(bodies)))
    return time.perf_counter() - started


@contextmanager
def carbon_process(config_path: Path) -> Iterator[int]:
    """rexmon-carbon on a free port of 127.0.0.1; stopped with SIGTERM (exit 0 checked)."""
    process = subprocess.Popen(
        [str(BIN / "rexmon-carbon"), "--config", str(config_path), "run"],
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    lines: list[str] = []
    port: list[int] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            found = re.search(r"listening on [0-9.]+:(\d+)", line)
            if found:
                port.append(int(found.group(1)))
                ready.set()
        ready.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        if not ready.wait(30) or not port:
            raise RuntimeError("rexmon-carbon did not start:\n" + "".join(lines))
        yield port[0]
    finally:
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=120)
        reader.join(timeout=10)
        process.stderr.close()
        if code != 0:
            raise RuntimeError(f"rexmon-carbon exited {code}:\n" + "".join(lines[-20:]))
        totals = [line for line in lines if "carbon: totals" in line]
        print(f"  {totals[-1].strip() if totals else 'no totals logged'}", flush=True)


def with_carbon_section(config_path: Path) -> None:
    config = yaml.safe_load(config_path.read_text())
    config["carbon"] = {"listen": "127.0.0.1:0", "log_interval": "10s"}
    config_path.write_text(yaml.safe_dump(config))


def bench_path(path: str, size: int, rounds: int, mode: str, schemas: Path) -> dict[str, Any]:
    base = int(time.time()) // STEP * STEP - (rounds + 2) * STEP
    times = [base + r * STEP for r in range(rounds)]
    seconds: list[float] = []
    with scratch_directory(f"rexmon-bench-{path}-") as directory:
        root = directory / "rrd"
        root.mkdir()
        with rrdcached_process(directory, root) if mode == "rrdcached" else nullcontext() as cached:
            if path == "carbon":
                _, root, config_path = write_server_config(directory, schemas, cached)
                with_carbon_section(config_path)
                with carbon_process(config_path) as port:
                    for number, when in enumerate(times):
                        seconds.append(carbon_round(port, size, number, when))
                        _report(path, mode, size, number, seconds[-1])
            else:
                with rexmon_server(directory, schemas, rrdcached=cached) as server:
                    for number, when in enumerate(times):
                        if path == "collectd":
                            bodies = collectd_bodies(size, number, when)
                            seconds.append(collectd_round(server.url, server.token, bodies))
                        else:
                            bodies = round_bodies(size, number, when, BATCH)
                            seconds.append(push_round(server.url, server.token, bodies, CLIENTS)[0])
                        _report(path, mode, size, number, seconds[-1])
        name = samples_name if path == "samples" else collectd_name
        lost = verify(root, size, times, name)
    return {
        "path": path,
        "mode": mode,
        "metrics": size,
        "rounds": rounds,
        "clients": CLIENTS,
        "create_round_per_s": round(size / seconds[0]),
        "steady_per_s": round(size * (rounds - 1) / sum(seconds[1:])),
        "samples_missing_or_wrong": lost,
    }


def _report(path: str, mode: str, size: int, number: int, seconds: float) -> None:
    print(f"  {path} {mode} round {number}: {size / seconds:,.0f}/s", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--metrics", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--modes", default="direct")
    parser.add_argument("--paths", default="samples,collectd,carbon")
    add_schemas_option(parser)
    args = parser.parse_args()
    schemas = schemas_for(args.schemas, args.metrics)
    results = []
    for mode in args.modes.split(","):
        by_path = {}
        for path in args.paths.split(","):
            by_path[path] = bench_path(path, args.metrics, args.rounds, mode, schemas)
            results.append(by_path[path])
        reference = by_path.get("samples")
        for path, figures in by_path.items():
            if reference is not None:
                figures["ratio_to_samples"] = round(
                    figures["steady_per_s"] / reference["steady_per_s"], 2
                )
            print(
                f"{path:<9} {mode:<9} {args.metrics} metrics: {figures['steady_per_s']:>8,}/s"
                f" steady ({figures.get('ratio_to_samples', '-')}x /api/v1/samples),"
                f" create round {figures['create_round_per_s']:,}/s,"
                f" lost {figures['samples_missing_or_wrong']}",
                flush=True,
            )
    save("carbon", {"schemas": str(schemas.relative_to(REPO)), "results": results})
    return 1 if any(r["samples_missing_or_wrong"] for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
