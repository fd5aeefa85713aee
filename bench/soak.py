"""Soak: thousands of slurpers pushing for minutes while alarms evaluate and graphs are drawn.

The whole system runs as deployed, in a temporary directory: rrdcached, the app under
gunicorn (2 workers x 4 threads, as ``make run``), the real ``rexmon-alarmd`` process
with rules over the soak metrics and a local ``json://`` receiver that counts what it
is really sent. ``--slurpers`` simulated hosts (``soak.node<NNNNN>.<metric>``, 12
metrics each, one RRD step per interval) push their batch once every ``--interval``
seconds, each at its own offset in the interval, so the fleet's runs are spread evenly as
randomised timer delays spread them; a pool of ``--clients`` threads makes each push one
HTTP POST through the slurpers' own ``IngestClient`` (retries as in production). A run
that is still going when the node's next one is due is skipped, as systemd skips a timer
whose service is still active. Every 50th host's ``load`` crosses the alarm thresholds on
odd rounds, so alarmd fires and resolves. Meanwhile ``--viewers`` threads ask for
graphs, series, one host's status (JSON) and, every fifth visit, the status page
searching a hundred hosts.

    .venv/bin/python bench/soak.py [--slurpers 10000] [--minutes 5] [--interval 60]
                                   [--clients 64] [--viewers 2] [--report 20]
                                   [--results bench/results] [--keep]

``make soak`` runs it (``make soak SOAK_ARGS="--minutes 10 --slurpers 2000"``); it is
not part of ``make test`` or ``make bench``. Every ``--report`` seconds it prints
pushes/s, samples/s, push latency p50/p95/p99 (retries included), how late runs start,
graph, status and status page latency, the RSS of gunicorn (master + workers), rrdcached
and alarmd, and the notifications received. At the end the load stops, rrdcached stops
(writing everything to the files) and every acknowledged sample (answered 200, not
listed as rejected) is read back with rrdtool alone, without the daemon. Figures and the
memory time series go to ``bench/results/soak.json``. Exits 1 if any acknowledged sample
is missing or wrong, nothing was acknowledged, or alarmd died.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import psutil
import requests
import rrdtool
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import (  # noqa: E402
    BIN,
    RESULTS,
    Gunicorn,
    Inbox,
    percentile,
    rrdcached_process,
    rss_mb,
    save,
    scratch_directory,
    stored_values,
    write_server_config,
)
from rexmon.sample import Sample  # noqa: E402
from slurpers.client import IngestClient  # noqa: E402
from slurpers.errors import PushError  # noqa: E402

METRICS = (
    "load",
    "processes",
    "users",
    "threads",
    "cpu_user_seconds",
    "cpu_system_seconds",
    "cpu_iowait_seconds",
    "memory_used_bytes",
    "swap_used_bytes",
    "disk_used_bytes",
    "net_rx_bytes",
    "net_tx_bytes",
)
ALARM_EVERY = 50  # every 50th host's load crosses the thresholds on odd rounds
RULES = """
base_url: {base_url}
receivers:
  soak: {receiver}
rules:
  - name: soak-load
    match: soak.*.load
    warning: "> 8"
    critical: "> 16"
    receivers: [soak]
  - name: soak-processes
    match: soak.*.processes
    warning: "> 5000"
    receivers: [soak]
"""


def metric_name(node: int, metric: str) -> str:
    return f"soak.node{node:05d}.{metric}"


def value_of(node: int, metric: int, round_number: int) -> float:
    """Known per (node, metric, round); whole numbers, so the files hold them exactly."""
    if metric == 0:
        return 20.0 if node % ALARM_EVERY == 0 and round_number % 2 else float(node % 5)
    return float((node * 7 + metric * 13 + round_number) % 1000)


def schemas(interval: int) -> str:
    """One step per push interval; the heartbeat covers the whole retention, so a sample
    after skipped runs still fills its own step and can be checked."""
    keep = f"{interval * 720}s"
    return (
        f"schemas:\n  - match: '*'\n    step: {interval}s\n    heartbeat: {keep}\n"
        f"    retention: {interval}s:{keep}\n"
    )


# -- the fleet --------------------------------------------------------------------------


class Fleet:
    """The simulated hosts: when each runs, what it sends, what was acknowledged."""

    def __init__(self, url: str, token: str, nodes: int, interval: int, first: int) -> None:
        self.url, self.token = url, token
        self.nodes, self.interval, self.first = nodes, interval, first
        self.acked: dict[int, bytearray] = defaultdict(lambda: bytearray(nodes))  # round ->
        self.rejected: set[tuple[int, int, str]] = set()  # (node, round, metric)
        self.rejections: list[str] = []
        self.seen: list[int] = []  # nodes with files, for the viewers
        self.busy = bytearray(nodes)
        self.latencies: list[float] = []
        self.lags: list[float] = []
        self.samples = 0
        self.failures: Counter[str] = Counter()
        self.retries = 0
        self.skipped = 0
        self.submitted = 0
        self.finished = 0
        self._local = threading.local()
        self._lock = threading.Lock()

    def drive(self, pool: ThreadPoolExecutor, started: float, deadline: float) -> None:
        """Start each node's runs on time until ``deadline`` (monotonic seconds)."""
        for round_number in range(math.ceil((deadline - started) / self.interval)):
            for node in range(self.nodes):
                due = started + (round_number + node / self.nodes) * self.interval
                if due >= deadline:
                    return
                wait = due - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                if self.busy[node]:
                    self.skipped += 1
                    continue
                self.busy[node] = 1
                self.submitted += 1
                pool.submit(self.run, node, round_number, due)

    def run(self, node: int, round_number: int, due: float) -> None:
        """One slurper run: one batch, one POST (the client retries as in production)."""
        self.lags.append(time.monotonic() - due)
        when = self.first + round_number * self.interval
        batch = [
            Sample(metric_name(node, name), when, value_of(node, k, round_number))
            for k, name in enumerate(METRICS)
        ]
        began = time.perf_counter()
        try:
            result = self._client().push(batch)
        except PushError as exc:
            with self._lock:
                self.failures[type(exc).__name__] += 1
        else:
            self.latencies.append(time.perf_counter() - began)
            with self._lock:
                if round_number == 0:
                    self.seen.append(node)
                self.acked[round_number][node] = 1
                self.samples += result.accepted
                for rejection in result.rejected:
                    self.rejected.add((node, round_number, METRICS[rejection.index]))
                    self.rejections.append(f"{rejection.metric}@{when}: {rejection.error}")
        finally:
            with self._lock:
                self.finished += 1
            self.busy[node] = 0

    def _client(self) -> IngestClient:
        """One client (one keep-alive session) per thread."""
        client: IngestClient | None = getattr(self._local, "client", None)
        if client is None:
            client = IngestClient(self.url, lambda: self.token, sleep=self._retry)
            self._local.client = client
        return client

    def _retry(self, seconds: float) -> None:
        with self._lock:
            self.retries += 1
        time.sleep(seconds)

    def expected(self, first_node: int, last_node: int) -> list[tuple[int, list[int]]]:
        """(node, acknowledged rounds) for a range of nodes."""
        return [
            (node, [r for r, acked in sorted(self.acked.items()) if acked[node]])
            for node in range(first_node, last_node)
        ]


# -- the viewers ------------------------------------------------------------------------


class Viewers:
    """People looking at graphs and the status page while the fleet pushes."""

    def __init__(self, url: str, fleet: Fleet, count: int, pause: float = 1.0) -> None:
        self.url, self.fleet, self.pause = url, fleet, pause
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[str] = Counter()
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.look, args=(n,)) for n in range(count)]

    def start(self) -> None:
        for thread in self.threads:
            thread.start()

    def close(self) -> None:
        """Stop looking (again is fine)."""
        self.stop.set()
        for thread in self.threads:
            if thread.is_alive():
                thread.join()

    def look(self, seed: int) -> None:
        rng = random.Random(seed)
        http = requests.Session()
        visit = 0
        while not self.stop.wait(self.pause):
            if not self.fleet.seen:
                continue
            node = rng.choice(self.fleet.seen)
            metric = metric_name(node, rng.choice(METRICS))
            last_hour = {"start": "-1h"}
            several = [metric_name(node, name) for name in METRICS[4:7]]
            asks: list[tuple[str, str, dict[str, Any]]] = [
                ("graph", f"/graph/{metric}.png", last_hour),
                ("graph", "/graph", {"m": several, "format": "png", **last_hour}),
                ("series", f"/api/v1/series/{metric}", last_hour),
                ("status", "/api/v1/status", {"scope": f"soak.node{node:05d}.*"}),
            ]
            if visit % 5 == 0:
                asks.append(("page", "/", {"q": f"soak.node{node // 100:03d}*"}))
            visit += 1
            for kind, path, query in asks:
                began = time.perf_counter()
                try:
                    answer = http.get(self.url + path, params=query, timeout=120)
                except requests.RequestException as exc:
                    self.statuses[f"{kind} {type(exc).__name__}"] += 1
                    continue
                self.latencies[kind].append(time.perf_counter() - began)
                self.statuses[f"{kind} {answer.status_code}"] += 1


# -- watching ---------------------------------------------------------------------------


class Progress:
    """The periodic line: rates and latencies since the last line, memory now."""

    def __init__(
        self,
        fleet: Fleet,
        viewers: Viewers,
        inbox: Inbox,
        pids: Callable[[], dict[str, list[int]]],
    ) -> None:
        self.fleet, self.viewers, self.inbox, self.pids = fleet, viewers, inbox, pids
        self.started = time.monotonic()
        self.mark = (self.started, 0, 0, 0, {"graph": 0, "status": 0, "page": 0})
        self.memory: list[dict[str, float]] = []
        self.lines: list[str] = []

    def rss(self) -> dict[str, float]:
        return {f"{program}_mb": rss_mb(pids) for program, pids in self.pids().items()}

    @contextmanager
    def every(self, seconds: float) -> Iterator[None]:
        """A line every ``seconds`` while the block runs."""
        stop = threading.Event()

        def report() -> None:
            while not stop.wait(seconds):
                self.line()

        reporter = threading.Thread(target=report)
        reporter.start()
        try:
            yield
        finally:
            stop.set()
            reporter.join()

    def line(self) -> str:
        fleet, viewers = self.fleet, self.viewers
        now = time.monotonic()
        then, pushes, samples, lags, seen = self.mark
        window = fleet.latencies[pushes:]
        seconds = max(now - then, 1e-9)
        graphs = viewers.latencies["graph"][seen["graph"] :]
        status = viewers.latencies["status"][seen["status"] :]
        page = viewers.latencies["page"][seen["page"] :]
        memory = {"elapsed_s": round(now - self.started, 1), **self.rss()}
        self.memory.append(memory)
        text = (
            f"{memory['elapsed_s']:>6.0f}s: {len(window) / seconds:6.1f} pushes/s,"
            f" {(fleet.samples - samples) / seconds:7,.0f} samples/s,"
            f" push p50/p95/p99 {_ms(window, 0.5)}/{_ms(window, 0.95)}/{_ms(window, 0.99)} ms,"
            f" start late p99 {_ms(fleet.lags[lags:], 0.99)} ms;"
            f" graph p50/p99 {_ms(graphs, 0.5)}/{_ms(graphs, 0.99)} ms ({len(graphs)}),"
            f" status p50/p99 {_ms(status, 0.5)}/{_ms(status, 0.99)} ms ({len(status)}),"
            f" page p50/p99 {_ms(page, 0.5)}/{_ms(page, 0.99)} ms ({len(page)});"
            f" RSS MB gunicorn {memory['gunicorn_mb']:.0f}, rrdcached"
            f" {memory['rrdcached_mb']:.0f}, alarmd {memory['alarmd_mb']:.0f};"
            f" notifications {self.inbox.messages} ({_events(self.inbox.events)});"
            f" failed {sum(fleet.failures.values())}, skipped {fleet.skipped}"
        )
        self.mark = (
            now,
            len(fleet.latencies),
            fleet.samples,
            len(fleet.lags),
            {kind: len(viewers.latencies[kind]) for kind in seen},
        )
        self.lines.append(text)
        print(text, flush=True)
        return text


def _ms(values: list[float], fraction: float) -> str:
    return "-" if not values else f"{percentile(values, fraction) * 1000:.0f}"


def _events(events: Counter[str]) -> str:
    return ", ".join(f"{count} {kind}" for kind, count in sorted(events.items())) or "none"


# -- checking the archive ---------------------------------------------------------------


def check_nodes(
    root: str,
    expected: list[tuple[int, list[int]]],
    times: list[int],
    step: int,
    rejected: set[tuple[int, int, str]],
) -> tuple[int, int, list[str]]:
    """(missing, wrong, examples) over every acknowledged sample of these nodes."""
    missing = wrong = 0
    examples: list[str] = []
    for node, rounds in expected:
        if not rounds:
            continue
        for k, name in enumerate(METRICS):
            wanted = [r for r in rounds if (node, r, name) not in rejected]
            if not wanted:
                continue
            try:
                stored = stored_values(
                    Path(root), metric_name(node, name), times[wanted[0]] - step, times[-1]
                )
            except rrdtool.OperationalError as exc:
                missing += len(wanted)
                if len(examples) < 10:
                    examples.append(f"{metric_name(node, name)}: {exc}")
                continue
            for r in wanted:
                got = stored.get(times[r])
                if got == value_of(node, k, r):
                    continue
                missing, wrong = (missing + 1, wrong) if got is None else (missing, wrong + 1)
                if len(examples) < 10:
                    examples.append(f"{metric_name(node, name)} round {r} at {times[r]}: {got!r}")
    return missing, wrong, examples


def check_archive(root: Path, fleet: Fleet, times: list[int]) -> tuple[int, int, list[str]]:
    """Every acknowledged sample, read in parallel by one process per CPU."""
    workers = os.cpu_count() or 1
    chunk = max(1, -(-fleet.nodes // (workers * 4)))
    missing = wrong = 0
    examples: list[str] = []
    with ProcessPoolExecutor(workers) as pool:
        futures = [
            pool.submit(
                check_nodes,
                str(root),
                fleet.expected(first, min(fleet.nodes, first + chunk)),
                times,
                fleet.interval,
                fleet.rejected,
            )
            for first in range(0, fleet.nodes, chunk)
        ]
        for future in futures:
            m, w, e = future.result()
            missing, wrong, examples = missing + m, wrong + w, examples + e
    return missing, wrong, examples[:10]


# -- the run ----------------------------------------------------------------------------


def start_alarmd(directory: Path, config_path: Path, log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [str(BIN / "rexmon-alarmd"), "run", "--config", str(config_path)],
            stdout=output,
            stderr=output,
            cwd=directory,
        )


def stop_process(process: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    """SIGTERM (alarmd finishes its cycle and its sends), SIGKILL if it hangs."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def configure(directory: Path, config_path: Path, interval: int, receiver: str) -> Gunicorn:
    """Add alarmd's settings and rules to the server config; the server that will serve it."""
    gunicorn = Gunicorn(config_path)  # 2 workers x 4 threads, as `make run` starts it
    every = f"{min(30, interval)}s"
    config = yaml.safe_load(config_path.read_text())
    config["alarmd"] = {
        "rules": "alarms.yaml",
        "interval": every,
        "listing_refresh": every,  # the hosts appear during the run
        "send_timeout": "10s",
    }
    config_path.write_text(yaml.safe_dump(config))
    rules = RULES.format(base_url=gunicorn.url, receiver=receiver)
    (directory / "alarms.yaml").write_text(rules)
    return gunicorn


def soak(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    interval = args.interval
    root = directory / "rrd"
    root.mkdir()
    (directory / "archive.yaml").write_text(schemas(interval))
    first = int(time.time()) // interval * interval
    with Inbox() as inbox, rrdcached_process(directory, root) as cached:
        token, root, config_path = write_server_config(
            directory, directory / "archive.yaml", cached
        )
        gunicorn = configure(directory, config_path, interval, inbox.url)
        rrdcached_pid = int((directory / "rrdcached.pid").read_text())
        with ExitStack() as running:  # stopped in reverse order, whatever happens
            gunicorn.start()
            running.callback(gunicorn.stop)
            alarmd = start_alarmd(directory, config_path, directory / "alarmd.log")
            running.callback(stop_process, alarmd)

            def pids() -> dict[str, list[int]]:
                """Per program; gunicorn is its master and every worker."""
                master = gunicorn.process.pid if gunicorn.process else 0
                try:
                    children = psutil.Process(master).children(recursive=True)
                except psutil.Error:  # gunicorn is gone: the line says so with 0 MB
                    children = []
                return {
                    "gunicorn": [master, *(child.pid for child in children)],
                    "rrdcached": [rrdcached_pid],
                    "alarmd": [alarmd.pid],
                }

            fleet = Fleet(gunicorn.url, token, args.slurpers, interval, first)
            viewers = Viewers(gunicorn.url, fleet, args.viewers)
            progress = Progress(fleet, viewers, inbox, pids)
            running.callback(viewers.close)
            viewers.start()
            with progress.every(args.report), ThreadPoolExecutor(args.clients) as pool:
                started = time.monotonic()
                fleet.drive(pool, started, started + args.minutes * 60)
                print("load stops: waiting for the runs in progress", flush=True)
                pool.shutdown(wait=True, cancel_futures=True)
                load_s = time.monotonic() - started
            viewers.close()
            progress.line()
            alarmd_alive = alarmd.poll() is None
        flush_started = time.monotonic()
    rrdcached_stop_s = time.monotonic() - flush_started
    rounds = max(fleet.acked, default=-1) + 1
    times = [first + r * interval for r in range(rounds)]
    check_started = time.monotonic()
    missing, wrong, examples = check_archive(root, fleet, times) if rounds else (0, 0, [])
    check_s = time.monotonic() - check_started
    acked = sum(sum(row) for row in fleet.acked.values())
    return {
        "slurpers": args.slurpers,
        "metrics_per_slurper": len(METRICS),
        "interval_s": interval,
        "minutes": args.minutes,
        "client_threads": args.clients,
        "viewers": args.viewers,
        "server": "gunicorn 2 workers x 4 threads behind rrdcached (unix socket), own WAL;"
        f" rexmon-alarmd every {min(30, interval)}s, 2 rules over every slurper",
        "load_s": round(load_s, 1),
        "runs_started": fleet.submitted,
        "runs_finished": fleet.finished,
        "runs_skipped_still_running": fleet.skipped,
        "runs_not_started_at_end": fleet.submitted - fleet.finished,
        "pushes_acknowledged": acked,
        "pushes_failed": dict(fleet.failures),
        "push_retries": fleet.retries,
        "samples_acknowledged": fleet.samples,
        "samples_rejected": len(fleet.rejected),
        "rejections": fleet.rejections[:10],
        "pushes_per_s": round(acked / load_s, 1),
        "samples_per_s": round(fleet.samples / load_s),
        "schedule_pushes_per_s": round(args.slurpers / interval, 1),
        "push_latency_s": _quantiles(fleet.latencies),
        "start_late_s": _quantiles(fleet.lags),
        "viewer_latency_s": {k: _quantiles(v) for k, v in viewers.latencies.items()},
        "viewer_answers": dict(viewers.statuses),
        "notifications": inbox.messages,
        "alarm_events": dict(inbox.events),
        "alarmd_alive_at_end": alarmd_alive,
        "memory": progress.memory,
        "progress": progress.lines,
        "rrdcached_stop_s": round(rrdcached_stop_s, 1),
        "check_s": round(check_s, 1),
        "missing_in_archive": missing,
        "wrong_in_archive": wrong,
        "problems": examples,
    }


def _quantiles(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        name: round(percentile(values, fraction), 4)
        for name, fraction in (("p50", 0.5), ("p95", 0.95), ("p99", 0.99), ("max", 1.0))
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slurpers", type=int, default=10_000)
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--interval", type=int, default=60, help="seconds between pushes")
    parser.add_argument("--clients", type=int, default=64, help="client threads")
    parser.add_argument("--viewers", type=int, default=2, help="threads asking for graphs")
    parser.add_argument("--report", type=float, default=20.0, help="seconds between lines")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where soak.json goes")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = parser.parse_args()
    if not (0 < args.slurpers <= 100_000 and 1 <= args.interval <= 3600 and args.minutes > 0):
        parser.error("1..100000 slurpers, an interval of 1..3600 s and some minutes")
    with scratch_directory("rexmon-soak-", args.keep) as directory:
        print(
            f"soak: {args.slurpers:,} slurpers x {len(METRICS)} metrics every {args.interval}s"
            f" for {args.minutes:g} min in {directory}",
            flush=True,
        )
        figures = soak(args, directory)
    summary(figures)
    save("soak", figures, args.results)
    lost = figures["missing_in_archive"] + figures["wrong_in_archive"]
    ok = not lost and figures["samples_acknowledged"] and figures["alarmd_alive_at_end"]
    return 0 if ok else 1


def summary(f: dict[str, Any]) -> None:
    views = "; ".join(f"{kind} {_shown(q)}" for kind, q in f["viewer_latency_s"].items() if q)
    print(
        f"\n{f['slurpers']:,} slurpers x {f['metrics_per_slurper']} metrics every"
        f" {f['interval_s']}s ({f['schedule_pushes_per_s']} pushes/s asked) for {f['load_s']}s\n"
        f"  acknowledged   {f['pushes_acknowledged']:,} pushes ({f['pushes_per_s']}/s),"
        f" {f['samples_acknowledged']:,} samples ({f['samples_per_s']:,}/s);"
        f" failed {f['pushes_failed']}, retries {f['push_retries']},"
        f" rejected {f['samples_rejected']}\n"
        f"  push latency   {_shown(f['push_latency_s'])} (retries included)\n"
        f"  runs           started late {_shown(f['start_late_s'])};"
        f" skipped (previous still running) {f['runs_skipped_still_running']:,},"
        f" not started at the end {f['runs_not_started_at_end']:,}\n"
        f"  viewers        {views or 'none'}; answers {f['viewer_answers']}\n"
        f"  alarmd         {f['notifications']} notifications, {f['alarm_events']},"
        f" alive at the end: {f['alarmd_alive_at_end']}\n"
        f"  archive        missing {f['missing_in_archive']}, wrong {f['wrong_in_archive']}"
        f" (checked in {f['check_s']}s; rrdcached stop/flush {f['rrdcached_stop_s']}s)"
    )
    for line in f["problems"] + f["rejections"]:
        print(f"    {line}")


def _shown(quantiles: dict[str, float]) -> str:
    return " ".join(f"{name} {seconds}s" for name, seconds in quantiles.items()) or "none"


if __name__ == "__main__":
    sys.exit(main())
