"""A fleet's pushes: many nodes, each with its own token, pushing 20 samples at a time.

    .venv/bin/python bench/fleet.py [--nodes 500] [--rounds 4] [--clients 32]
                                    [--samples 20] [--schemas shipped|small]

The server runs as deployed: rrdcached with the write-ahead log, the app under gunicorn
(2 workers x 4 threads, as ``make run``), one token per node in its config, each allowed
only ``fleet.<node>.*`` (so every sample is checked against its token's glob). Round 0 is
the fleet's first contact (every file created inside the request) and is reported apart;
in the steady rounds every node pushes once per round, as fast as ``--clients``
connections allow. A client is one keep-alive connection sending a prepared body with
``http.client``, so that the client side costs little of the two cores. Reported:
pushes/s, samples/s, push latency p50/p99 (target >= 2,000 pushes/s, p99 < 250 ms), and 0
lost: after the load rrdcached stops (writing everything) and every acknowledged sample is
read back with rrdtool alone.

Then one push is taken apart in process (the Flask test client on the same config, cProfile
over ``--profile`` pushes): authentication (token digest and lookup), reading and parsing the
body, the token's metric globs, the write-ahead log append and its fsync, the rrdcached round
trip, and the rest (Flask, the answer). Group commit: ``--clients`` threads push at once
against that one process, and the log's fsyncs are counted against its appends.
"""

from __future__ import annotations

import argparse
import cProfile
import http.client
import json
import pstats
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    Gunicorn,
    add_schemas_option,
    percentile,
    rrdcached_process,
    save,
    schemas_for,
    scratch_directory,
    stored_values,
    write_server_config,
)
from web.auth.tokens import digest_token, new_token  # noqa: E402

STEP = 60
# where a push's time goes, by the functions that do each part (file:function)
PARTS = {
    "authentication": ("web/ingest/views.py:_authenticate",),
    "body and parsing": ("web/ingest/batch.py:parse_batch", "web/ingest/batch.py:decompress"),
    "token metric globs": ("web/ingest/views.py:_drop_forbidden",),
    "log append + fsync": ("rrdarchive/wal.py:append",),
    "rrdcached round trip": ("rrdarchive/rrdcached.py:update",),
    "whole request": ("web/ingest/views.py:post_samples",),
}


def node_name(number: int) -> str:
    return f"n{number:05d}"


def metric_of(node: int, index: int) -> str:
    return f"fleet.{node_name(node)}.m{index:02d}"


def value_of(node: int, index: int, round_number: int) -> float:
    return float((node * 31 + index * 7 + round_number) % 1000)


class Fleet:
    """The nodes, their secrets and their prepared bodies."""

    def __init__(self, nodes: int, samples: int, first: int) -> None:
        self.nodes, self.samples, self.first = nodes, samples, first
        self.secrets = [new_token() for _ in range(nodes)]

    def tokens(self) -> list[dict[str, Any]]:
        return [
            {"name": node_name(n), "digest": digest_token(secret),
             "metrics": [f"fleet.{node_name(n)}.*"]}
            for n, secret in enumerate(self.secrets)
        ]  # fmt: skip

    def body(self, node: int, round_number: int) -> bytes:
        when = self.first + STEP * round_number
        values = [value_of(node, i, round_number) for i in range(self.samples)]
        samples = [
            {"metric": metric_of(node, i), "time": when, "value": v} for i, v in enumerate(values)
        ]
        return json.dumps({"samples": samples}).encode()


def push_round(
    url: str, fleet: Fleet, round_number: int, clients: int
) -> tuple[float, list[float], int]:
    """Every node pushes once: (seconds, latency of each push, samples acknowledged)."""
    bodies = [fleet.body(node, round_number) for node in range(fleet.nodes)]
    parts = urlsplit(url)
    next_node = iter(range(fleet.nodes))
    lock = threading.Lock()
    latencies: list[float] = []
    accepted = [0]

    def client() -> None:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
        try:
            while True:
                with lock:
                    node = next(next_node, None)
                if node is None:
                    return
                headers = {"Authorization": f"Bearer {fleet.secrets[node]}",
                           "Content-Type": "application/json"}  # fmt: skip
                began = time.perf_counter()
                connection.request("POST", "/api/v1/samples", bodies[node], headers)
                answer = connection.getresponse()
                text = answer.read()
                took = time.perf_counter() - began
                assert answer.status == 200, (answer.status, text[:300])
                got = json.loads(text)["accepted"]
                assert got == fleet.samples, text[:300]
                with lock:
                    latencies.append(took)
                    accepted[0] += got
        finally:
            connection.close()

    began = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        for future in [pool.submit(client) for _ in range(clients)]:
            future.result()
    return time.perf_counter() - began, latencies, accepted[0]


def lost_samples(root: Path, fleet: Fleet, rounds: int) -> int:
    """Acknowledged samples that rrdtool alone does not read back as sent."""
    lost = 0
    end = fleet.first + STEP * (rounds - 1)
    for node in range(fleet.nodes):
        for index in range(fleet.samples):
            stored = stored_values(root, metric_of(node, index), fleet.first - STEP, end)
            for round_number in range(rounds):
                when = fleet.first + STEP * round_number
                if stored.get(when) != value_of(node, index, round_number):
                    lost += 1
    return lost


def profile_push(config_path: Path, fleet: Fleet, rounds: int, count: int) -> dict[str, float]:
    """ms per push of each part, over ``count`` pushes through the Flask test client."""
    from web.app import create_app

    client = create_app(config_path).test_client()
    profiler = cProfile.Profile()
    for node in range(count):
        body = fleet.body(node % fleet.nodes, rounds + node // fleet.nodes)
        headers = {"Authorization": f"Bearer {fleet.secrets[node % fleet.nodes]}"}
        profiler.enable()
        answer = client.post("/api/v1/samples", data=body, headers=headers,
                             content_type="application/json")  # fmt: skip
        profiler.disable()
        assert answer.status_code == 200, answer.data[:300]
    stats = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
    spent: dict[str, float] = {}
    for part, functions in PARTS.items():
        total = 0.0
        for (filename, _, function), (_, _, _, cumulative, _) in stats.items():
            if any(filename.endswith(f.split(":")[0]) and function == f.split(":")[1]
                   for f in functions):  # fmt: skip
                total += cumulative
        spent[part] = round(total / count * 1000, 3)
    return spent


def group_commit(
    config_path: Path, fleet: Fleet, first_round: int, clients: int
) -> dict[str, float]:
    """``clients`` threads pushing at once into one process: fsyncs per append."""
    from web.app import create_app
    from web.services import get_services

    app = create_app(config_path)
    archive = get_services(app).archive
    syncs_before = archive.log_syncs
    assert syncs_before is not None, "the archive runs without a write-ahead log"
    pushes = min(fleet.nodes, 50 * clients)

    def push(node: int) -> None:
        body = fleet.body(node, first_round)
        answer = app.test_client().post(
            "/api/v1/samples", data=body, content_type="application/json",
            headers={"Authorization": f"Bearer {fleet.secrets[node]}"},
        )  # fmt: skip
        assert answer.status_code == 200, answer.data[:300]

    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(push, range(pushes)))
    syncs = (archive.log_syncs or 0) - syncs_before
    return {"pushes": pushes, "fsyncs": syncs, "fsyncs_per_push": round(syncs / pushes, 3)}


@contextmanager
def fleet_server(
    directory: Path, schemas: Path, fleet: Fleet
) -> Iterator[tuple[Gunicorn, Path, Path]]:
    root = directory / "rrd"
    root.mkdir()
    with rrdcached_process(directory, root) as cached:
        _, root, config_path = write_server_config(
            directory, schemas, cached, extra_tokens=fleet.tokens()
        )
        gunicorn = Gunicorn(config_path, workers=2, threads=4)
        gunicorn.start()
        try:
            yield gunicorn, root, config_path
        finally:
            gunicorn.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500, help="x --samples metrics: 10k")
    parser.add_argument("--rounds", type=int, default=4, help="steady rounds after the first")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--samples", type=int, default=20, help="samples per push")
    parser.add_argument("--profile", type=int, default=300, help="pushes profiled in process")
    add_schemas_option(parser)
    options = parser.parse_args()
    schemas = schemas_for(options.schemas, options.nodes * options.samples)
    first = (int(time.time()) - 3600) // STEP * STEP
    fleet = Fleet(options.nodes, options.samples, first)
    figures: dict[str, Any] = {key: getattr(options, key) for key in
                               ("nodes", "rounds", "clients", "samples", "schemas")}  # fmt: skip
    rounds = options.rounds + 1
    with scratch_directory("rexmon-fleet-bench-") as directory:
        with fleet_server(directory, schemas, fleet) as (gunicorn, root, config_path):
            print(f"{options.nodes} nodes x {options.samples} samples, {options.clients} clients")
            steady: list[float] = []
            steady_seconds = 0.0
            for round_number in range(rounds):
                seconds, latencies, accepted = push_round(
                    gunicorn.url, fleet, round_number, options.clients
                )
                kind = "first contact" if round_number == 0 else "steady"
                print(
                    f"round {round_number} ({kind}): {options.nodes / seconds:,.0f} pushes/s,"
                    f" {accepted / seconds:,.0f} samples/s, p50"
                    f" {statistics.median(latencies) * 1000:.0f} ms, p99"
                    f" {percentile(latencies, 0.99) * 1000:.0f} ms",
                    flush=True,
                )
                if round_number == 0:
                    figures["first_contact"] = {
                        "pushes_per_s": round(options.nodes / seconds),
                        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
                    }
                else:
                    steady += latencies
                    steady_seconds += seconds
            pushes = options.nodes * options.rounds
            figures["steady"] = {
                "pushes_per_s": round(pushes / steady_seconds),
                "samples_per_s": round(pushes * options.samples / steady_seconds),
                "p50_ms": round(statistics.median(steady) * 1000, 1),
                "p99_ms": round(percentile(steady, 0.99) * 1000, 1),
            }
            gunicorn.stop()
            figures["per_push_ms"] = profile_push(config_path, fleet, rounds, options.profile)
            print("one push, in process (ms):", figures["per_push_ms"])
            extra_round = rounds + options.profile // options.nodes + 1
            figures["group_commit"] = group_commit(config_path, fleet, extra_round, options.clients)
            print("group commit:", figures["group_commit"])
        figures["lost"] = lost_samples(root, fleet, rounds)
    steady_figures = figures["steady"]
    print(
        f"steady: {steady_figures['pushes_per_s']:,} pushes/s (target >= 2,000),"
        f" p99 {steady_figures['p99_ms']} ms (target < 250), lost {figures['lost']}"
    )
    save("fleet", figures)
    return 1 if figures["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
