"""A fleet of slurper nodes against the real server, stopped for part of the run.

Every node runs the real slurper code (``slurpers.runner.run_instance``: push, retries,
spool) with its own spool directory and one shared token, driven in-process by a pool
of threads; the client's timeout and retries are the production defaults, only its
back-off is scaled down with the fleet's minute. Each round (one RRD step apart) every
node pushes ``--metrics`` samples ``bench.node<NNNNN>.m<KK>`` with a value known per
(node, metric, round). The server is ``make run``'s gunicorn (2 workers x 4 threads)
behind a real rrdcached; in ``--down-round`` it is stopped once ``--stop-after`` of the
nodes are done and started again before the next round, so the rest spool and send
their backlog first next time. Nodes still holding a backlog after the last round get
up to ``--drains`` more runs that collect nothing, as their next timer runs would.
Then gunicorn and rrdcached stop (``-F``: rrdcached writes everything on SIGTERM) and
every sample is checked in the files with ``rrdtool.fetch`` (no daemon).

    .venv/bin/python bench/slurpers.py [--nodes 10000] [--metrics 20] [--rounds 3]
                                       [--concurrency 100] [--down-round 1]

The fleet and the server share this machine's CPUs. Exits 1 if any sample is missing,
wrong, acknowledged twice or never, rejected, or left in a spool.
"""

from __future__ import annotations

import argparse
import gzip
import json
import logging
import os
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import rrdtool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    Gunicorn,
    percentile,
    rrdcached_process,
    save,
    scratch_directory,
    write_server_config,
)
from rexmon.metric import metric_path  # noqa: E402
from rexmon.sample import Sample  # noqa: E402
from slurpers.client import IngestClient  # noqa: E402
from slurpers.config import Instance, ServerConfig, SlurperConfig, SpoolConfig  # noqa: E402
from slurpers.runner import LOGGER, RunSummary, run_instance  # noqa: E402
from slurpers.source import Run, Source, parse_prefix  # noqa: E402
from slurpers.spool import Spool  # noqa: E402

STEP = 60
SCHEMAS = Path(__file__).resolve().parent / "archive-bench.yaml"
BACKOFF = 0.05  # the fleet's minute is compressed into seconds, and so is the back-off


def value_of(node: int, metric: int, round_number: int) -> float:
    return float(node * 10_000 + metric * 100 + round_number)


# -- the simulated source -------------------------------------------------------------


@dataclass(frozen=True)
class BenchOptions:
    node: int
    metrics: int
    first: int  # the time of round 0
    rounds: int  # later runs collect nothing: they only send the spool (a drain)


def _no_options(node: Any, instance: str) -> BenchOptions:
    raise NotImplementedError("bench nodes are configured in code")


def collect(options: BenchOptions, run: Run) -> Iterator[Sample]:
    round_number = (run.now - options.first) // STEP
    if round_number >= options.rounds:
        return
    for metric in range(options.metrics):
        yield run.sample((f"m{metric:02d}",), value_of(options.node, metric, round_number))


SOURCE = Source(
    "bench", "known values per node, metric and round", _no_options, collect, "bench.{host}"
)


def node_config(node: int, url: str, token: str, spools: Path, tally: Tally) -> SlurperConfig:
    hostname = f"node{node:05d}"
    prefix = parse_prefix(None, SOURCE.default_prefix, hostname, "bench")
    options = BenchOptions(node, tally.metrics, tally.first, tally.rounds)
    instance = Instance("bench", SOURCE, options, prefix)
    return SlurperConfig(
        ServerConfig(url, token=token),
        SpoolConfig(spools / hostname),
        hostname,
        {"bench": instance},
    )


# -- what went over the wire ----------------------------------------------------------


@dataclass
class Tally:
    """Per HTTP push: latency and status; per (node, metric, round): sends and acks."""

    nodes: int
    metrics: int
    rounds: int
    first: int
    acks: bytearray = field(init=False)
    sends: bytearray = field(init=False)
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    errors: dict[str, str] = field(default_factory=dict)  # an example per kind
    failed_at: list[float] = field(default_factory=list)  # perf_counter of each failure
    acked: int = 0
    rejected: list[str] = field(default_factory=list)
    foreign: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.acks = bytearray(self.nodes * self.metrics * self.rounds)
        self.sends = bytearray(self.nodes * self.metrics * self.rounds)

    def slot(self, item: dict[str, Any]) -> int | None:
        try:
            _, host, name = item["metric"].split(".")
            node, metric = int(host[4:]), int(name[1:])
            round_number, off = divmod(int(item["time"]) - self.first, STEP)
        except (ValueError, KeyError):
            return None
        if off or not (0 <= round_number < self.rounds and node < self.nodes):
            return None
        return (node * self.metrics + metric) * self.rounds + round_number

    def record(
        self, body: bytes, response: requests.Response | None, seconds: float, error: str
    ) -> None:
        slots = [self.slot(item) for item in json.loads(gzip.decompress(body))["samples"]]
        answer = {}
        if response is not None and response.status_code == 200:
            try:
                answer = response.json()
            except ValueError:  # the client says so too, and counts the batch as accepted
                answer = {"rejected": []}
        refused = {int(r["index"]): r for r in answer.get("rejected", ())}
        with self.lock:
            self.statuses[error or str(response and response.status_code)] += 1
            if error:
                self.failed_at.append(time.perf_counter())
            if response is not None:
                self.latencies.append(seconds)
            for index, slot in enumerate(slots):
                if slot is None:
                    self.foreign += 1
                    continue
                if error != "refused":
                    self.sends[slot] = min(255, self.sends[slot] + 1)
                if answer and index not in refused:
                    self.acks[slot] = min(255, self.acks[slot] + 1)
                    self.acked += 1
            for index, rejection in refused.items():
                self.rejected.append(
                    f"{rejection.get('metric')}@{slots[index]}: {rejection['error']}"
                )


class RecordingSession(requests.Session):
    """What the slurper's client sends and what the server answers, untouched."""

    def __init__(self, tally: Tally) -> None:
        super().__init__()
        self.tally = tally

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        body: bytes = kwargs["data"]
        started = time.perf_counter()
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            refused = "Connection refused" in str(exc)  # the body never left this host
            kind = "refused" if refused else type(exc).__name__
            self.tally.errors.setdefault(kind, str(exc)[:300])
            self.tally.record(body, None, 0.0, kind)
            raise
        self.tally.record(body, response, time.perf_counter() - started, "")
        return response


class LogCount(logging.Handler):
    """Counts the runner's log lines by template and keeps one example of each."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.counts: Counter[str] = Counter()
        self.examples: dict[str, str] = {}

    def emit(self, record: logging.LogRecord) -> None:
        key = f"{record.levelname} {record.msg}"
        self.counts[key] += 1
        self.examples.setdefault(key, record.getMessage())


# -- the fleet ------------------------------------------------------------------------


@dataclass
class Fleet:
    url: str
    token: str
    spools: Path
    tally: Tally

    def run(self, node: int, when: int) -> RunSummary:
        """One run of one node, as its systemd timer would start it at ``when``."""
        config = node_config(node, self.url, self.token, self.spools, self.tally)
        session = RecordingSession(self.tally)
        server = config.server
        client = IngestClient(
            server.url,
            server.read_token,
            timeout=server.timeout,
            retries=server.retries,
            backoff=BACKOFF,
            session=session,
        )
        try:
            return run_instance(
                config, config.instances["bench"], client=client, clock=lambda: when
            )
        finally:
            session.close()

    def backlog(self, node: int) -> int:
        """Samples in a node's spool (read as the runner reads it)."""
        spool = Spool(self.spools / f"node{node:05d}", "bench", 1, 1)
        return sum(batch.count for batch in spool.pending())

    def leftovers(self, nodes: int) -> tuple[int, int]:
        """Samples still in the spools, and samples moved to ``refused/``."""
        pending = refused = 0
        for node in range(nodes):
            spool = Spool(self.spools / f"node{node:05d}", "bench", 1, 1)
            pending += self.backlog(node)
            refused += sum(
                int(p.name.split("-")[1].split(".")[0]) for p in spool.refused_dir.glob("*.json.gz")
            )
        return pending, refused


def run_round(
    pool: ThreadPoolExecutor,
    fleet: Fleet,
    nodes: list[int],
    round_number: int | str,
    when: int,
    gunicorn: Gunicorn,
    stop_after: float | None,
) -> dict[str, Any]:
    """Each node once; with ``stop_after``, gunicorn is stopped once that share is done."""
    tally = fleet.tally
    before = (len(tally.latencies), tally.acked, Counter(tally.statuses), len(tally.failed_at))
    started = time.perf_counter()
    pending = {pool.submit(fleet.run, node, when) for node in nodes}
    summaries: list[RunSummary] = []
    stopped_at = None
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        summaries += [future.result() for future in done]
        if (
            stop_after is not None
            and stopped_at is None
            and len(summaries) >= stop_after * len(nodes)
        ):
            stopped_at = len(summaries)
            gunicorn.stop()
            print(f"  round {round_number}: gunicorn stopped after {stopped_at} nodes", flush=True)
    seconds = time.perf_counter() - started
    latencies = tally.latencies[before[0] :]
    answered = len(latencies)
    acked = tally.acked - before[1]
    failed_at = sorted(round(t - started, 1) for t in tally.failed_at[before[3] :])
    figures = {
        "round": round_number,
        "time": when,
        "nodes": len(nodes),
        "server_stopped_after_nodes": stopped_at,
        "seconds": round(seconds, 2),
        "http_pushes_answered": answered,
        "http_statuses": dict(Counter(tally.statuses) - before[2]),
        "failures_between_s": [failed_at[0], failed_at[-1]] if failed_at else None,
        "failures_per_10s": dict(Counter(f"{int(t // 10) * 10}s" for t in failed_at)),
        "samples_acknowledged": acked,
        "samples_per_s": round(acked / seconds),
        "pushes_per_s": round(answered / seconds, 1),
        "push_latency_p50_s": round(percentile(latencies, 0.5), 4),
        "push_latency_p99_s": round(percentile(latencies, 0.99), 4),
        "push_latency_max_s": round(max(latencies, default=float("nan")), 4),
        "samples_spooled": sum(s.spooled for s in summaries),
        "backlog_delivered": sum(s.backlog for s in summaries),
        "rejected": sum(s.rejected for s in summaries),
        "dropped": sum(s.dropped for s in summaries),
        "exit_codes": dict(Counter(str(s.exit_code) for s in summaries)),
    }
    print(
        f"  round {round_number}: {seconds:.1f}s, {acked:,} samples acknowledged"
        f" ({figures['samples_per_s']:,}/s), {answered:,} pushes ({figures['pushes_per_s']}/s),"
        f" p50 {figures['push_latency_p50_s']}s p99 {figures['push_latency_p99_s']}s,"
        f" spooled {figures['samples_spooled']:,}, backlog sent {figures['backlog_delivered']:,},"
        f" exit codes {figures['exit_codes']}, HTTP {figures['http_statuses']}"
        + (f" (failures from {failed_at[0]}s to {failed_at[-1]}s)" if failed_at else ""),
        flush=True,
    )
    return figures


# -- checking the archive -------------------------------------------------------------


def check_nodes(
    root: str, first_node: int, last_node: int, metrics: int, times: list[int]
) -> tuple[int, int, list[str]]:
    """(missing, wrong, examples) for a range of nodes, read with rrdtool, no daemon."""
    missing = wrong = 0
    examples: list[str] = []
    for node in range(first_node, last_node):
        for metric in range(metrics):
            name = f"bench.node{node:05d}.m{metric:02d}"
            try:
                (start, _, step), _, rows = rrdtool.fetch(
                    str(metric_path(Path(root), name)),
                    "AVERAGE",
                    "--start",
                    str(times[0] - STEP),
                    "--end",
                    str(times[-1]),
                )
            except rrdtool.OperationalError as exc:
                missing += len(times)
                if len(examples) < 10:
                    examples.append(f"{name}: {exc}")
                continue
            stored = {start + (n + 1) * step: row[0] for n, row in enumerate(rows)}
            for round_number, when in enumerate(times):
                got = stored.get(when)
                if got == value_of(node, metric, round_number):
                    continue
                if got is None:
                    missing += 1
                else:
                    wrong += 1
                if len(examples) < 10:
                    examples.append(f"{name} round {round_number} at {when}: {got!r}")
    return missing, wrong, examples


def check_archive(
    root: Path, nodes: int, metrics: int, times: list[int]
) -> tuple[int, int, list[str]]:
    workers = os.cpu_count() or 1
    chunk = -(-nodes // (workers * 4))
    missing = wrong = 0
    examples: list[str] = []
    with ProcessPoolExecutor(workers) as pool:
        futures = [
            pool.submit(check_nodes, str(root), first, min(nodes, first + chunk), metrics, times)
            for first in range(0, nodes, chunk)
        ]
        for future in futures:
            m, w, e = future.result()
            missing, wrong, examples = missing + m, wrong + w, examples + e
    return missing, wrong, examples[:10]


# -- the run --------------------------------------------------------------------------


def bench(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    nodes, metrics, rounds = args.nodes, args.metrics, args.rounds
    first = int(time.time()) // STEP * STEP - (rounds + 1) * STEP
    times = [first + r * STEP for r in range(rounds)]
    tally = Tally(nodes, metrics, rounds, first)
    root = directory / "rrd"
    root.mkdir()
    results: list[dict[str, Any]] = []
    with rrdcached_process(directory, root) as cached:
        token, root, config_path = write_server_config(directory, SCHEMAS, cached)
        gunicorn = Gunicorn(config_path, workers=2, threads=4)  # as `make run` starts it
        gunicorn.start()
        fleet = Fleet(gunicorn.url, token, directory / "spool", tally)
        everyone = list(range(nodes))
        try:
            with ThreadPoolExecutor(args.concurrency) as pool:
                for round_number, when in enumerate(times):
                    down = round_number == args.down_round
                    stop_after = args.stop_after if down else None
                    if down and args.stop_after == 0:
                        gunicorn.stop()
                    figures = run_round(
                        pool, fleet, everyone, round_number, when, gunicorn, stop_after
                    )
                    results.append(figures)
                    if not gunicorn.running:
                        started = time.perf_counter()
                        gunicorn.start()
                        figures["restart_s"] = round(time.perf_counter() - started, 2)
                spooled_at_end = sum(fleet.backlog(node) for node in everyone)
                for drain in range(args.drains):  # the next timer runs: the spool goes first
                    behind = [node for node in everyone if fleet.backlog(node)]
                    if not behind:
                        break
                    when = first + (rounds + drain) * STEP
                    results.append(
                        run_round(pool, fleet, behind, f"drain{drain}", when, gunicorn, None)
                    )
        finally:
            gunicorn.stop()
        flush_started = time.perf_counter()
    rrdcached_stop_s = time.perf_counter() - flush_started
    pending, refused = fleet.leftovers(nodes)
    check_started = time.perf_counter()
    missing, wrong, examples = check_archive(root, nodes, metrics, times)
    check_s = time.perf_counter() - check_started
    up = [
        r
        for r in results
        if isinstance(r["round"], int)
        and r["server_stopped_after_nodes"] is None
        and r["round"] != args.down_round
    ]
    up_seconds = sum(r["seconds"] for r in up)
    latencies = tally.latencies
    return {
        "nodes": nodes,
        "metrics_per_node": metrics,
        "rounds": rounds,
        "concurrency": args.concurrency,
        "server": "gunicorn 2 workers x 4 threads behind rrdcached (unix socket), own WAL",
        "down_round": args.down_round,
        "stop_after": args.stop_after,
        "samples_expected": nodes * metrics * rounds,
        "samples_acknowledged": tally.acked,
        "http_push_statuses": dict(tally.statuses),
        "http_errors": tally.errors,
        "push_latency_p50_s": round(percentile(latencies, 0.5), 4),
        "push_latency_p99_s": round(percentile(latencies, 0.99), 4),
        "up_rounds_samples_per_s": round(sum(r["samples_acknowledged"] for r in up) / up_seconds),
        "up_rounds_pushes_per_s": round(sum(r["http_pushes_answered"] for r in up) / up_seconds, 1),
        "samples_spooled": sum(r["samples_spooled"] for r in results),
        "backlog_delivered": sum(r["backlog_delivered"] for r in results),
        "spooled_after_last_round": spooled_at_end,
        "left_in_spool": pending,
        "moved_to_refused": refused,
        "rejected_by_server": len(tally.rejected),
        "rejections": tally.rejected[:10],
        "acknowledged_twice": sum(1 for count in tally.acks if count > 1),
        "never_acknowledged": sum(1 for count in tally.acks if count == 0),
        "sent_more_than_once": sum(1 for count in tally.sends if count > 1),
        "foreign_samples": tally.foreign,
        "missing_in_archive": missing,
        "wrong_in_archive": wrong,
        "problems": examples,
        "rrdcached_stop_s": round(rrdcached_stop_s, 1),
        "check_s": round(check_s, 1),
        "rounds_detail": results,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=10_000)
    parser.add_argument("--metrics", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--down-round", type=int, default=1, help="-1: never stop the server")
    parser.add_argument(
        "--stop-after", type=float, default=0.5, help="share of the nodes done before the stop"
    )
    parser.add_argument(
        "--drains", type=int, default=3, help="extra runs (no new samples) to empty the spools"
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if not (0 < args.nodes <= 100_000 and 0 < args.metrics <= 100 and 0 < args.rounds <= 100):
        parser.error("at most 100000 nodes, 100 metrics and 100 rounds")
    if args.down_round >= args.rounds:
        parser.error("--down-round must be one of the rounds (-1: never stop the server)")
    logs = LogCount()
    logger = logging.getLogger(LOGGER)
    logger.addHandler(logs)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    started = time.perf_counter()
    with scratch_directory("rexmon-bench-slurpers-", args.keep) as directory:
        figures = bench(args, directory)
    figures["total_s"] = round(time.perf_counter() - started, 1)
    figures["slurper_log"] = {
        key: {"count": count, "example": logs.examples[key][:300]}
        for key, count in logs.counts.most_common()
    }
    report(figures)
    save("slurpers", figures)
    bad = (
        figures["missing_in_archive"]
        + figures["wrong_in_archive"]
        + figures["acknowledged_twice"]
        + figures["never_acknowledged"]
        + figures["rejected_by_server"]
        + figures["left_in_spool"]
        + figures["moved_to_refused"]
    )
    return 1 if bad else 0


def report(f: dict[str, Any]) -> None:
    print(
        f"\n{f['nodes']:,} slurper nodes x {f['metrics_per_node']} metrics x {f['rounds']} rounds,"
        f" {f['concurrency']} at a time, server stopped in round {f['down_round']}"
        f" after {f['stop_after']:.0%} of the nodes ({f['total_s']}s in all)\n"
        f"  push latency       p50 {f['push_latency_p50_s']}s  p99 {f['push_latency_p99_s']}s"
        f"  (every answered HTTP push)\n"
        f"  up rounds          {f['up_rounds_samples_per_s']:,} samples/s,"
        f" {f['up_rounds_pushes_per_s']} pushes/s\n"
        f"  HTTP               {f['http_push_statuses']}\n"
        f"  spooled            {f['samples_spooled']:,} samples,"
        f" {f['backlog_delivered']:,} delivered later from the spool,"
        f" {f['spooled_after_last_round']:,} in the spools after the last round,"
        f" {f['left_in_spool']:,} after the drain runs, {f['moved_to_refused']:,} refused\n"
        f"  acknowledged       {f['samples_acknowledged']:,} of {f['samples_expected']:,};"
        f" twice {f['acknowledged_twice']}, never {f['never_acknowledged']},"
        f" rejected {f['rejected_by_server']} (sent more than once: {f['sent_more_than_once']})\n"
        f"  archive            missing {f['missing_in_archive']}, wrong {f['wrong_in_archive']}"
        f" (checked in {f['check_s']}s; rrdcached stop/flush {f['rrdcached_stop_s']}s)"
    )
    for kind, example in f["http_errors"].items():
        print(f"    {kind}: {example[:200]}")
    for line in f["problems"] + f["rejections"]:
        print(f"    {line}")
    for entry in f["slurper_log"].values():
        print(f"  log x{entry['count']}: {entry['example'][:160]}")


if __name__ == "__main__":
    sys.exit(main())
