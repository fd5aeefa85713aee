"""Faults with real processes: gunicorn started by ``rexmon-web serve`` (as the systemd
unit does), a real rrdcached, real files; processes are killed with SIGKILL, files are
damaged, the disk fills up. Every acknowledged sample must end up in its RRD, checked
with the plain ``rrdtool`` command.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests
import yaml

from rexmon.metric import metric_path
from slurpers.runner import EXIT_OK, EXIT_PARTIAL, EXIT_SPOOLED, run_instance
from slurpers.spool import Spool
from tests.clock import Clock, no_sleep
from tests.faults import free_port, stop_process
from tests.fixtures_rrdcached import Rrdcached
from tests.fixtures_server import write_server_config
from tests.plain_rrdtool import known_values
from tests.slurpers.helpers import make_config
from web.auth.tokens import new_token

STEP = 60
BIN = Path(sys.executable).parent
# small files (about 70 KB), so a 2 MB disk holds a few dozen
SCHEMAS = "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:2d\n"


class Served:
    """``rexmon-web --config C serve`` in its own process; stop/start keep the URL."""

    def __init__(
        self,
        directory: Path,
        rrdcached: str | None = None,
        workers: int = 2,
        options: tuple[str, ...] = (),
        env: dict[str, str] | None = None,
    ) -> None:
        self.directory = directory
        self.options = options
        self.env = env
        self.token = new_token()
        self.config_path = write_server_config(directory, self.token, rrdcached=rrdcached)
        config = yaml.safe_load(self.config_path.read_text())
        (directory / "archive.yaml").write_text(SCHEMAS)
        config["archive"]["schemas"] = "archive.yaml"
        self.config_path.write_text(yaml.safe_dump(config))
        self.root = (directory / "rrd").resolve()
        self.workers = workers
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [str(BIN / "rexmon-web"), "--config", str(self.config_path), "serve"]
        command += ["--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers)]
        command += self.options
        env = None if self.env is None else {**os.environ, **self.env}
        with (self.directory / "gunicorn.log").open("ab") as log:
            self.process = subprocess.Popen(
                command, stdout=log, stderr=log, cwd=self.directory, env=env
            )
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(self.url + "/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(self.log()[-3000:])
            time.sleep(0.1)

    def log(self) -> str:
        return (self.directory / "gunicorn.log").read_text(errors="replace")

    def worker_pids(self) -> list[int]:
        assert self.process is not None
        return [child.pid for child in psutil.Process(self.process.pid).children()]

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None

    def push(self, samples: list[dict[str, Any]], timeout: float = 30) -> requests.Response:
        return requests.post(
            f"{self.url}/api/v1/samples",
            data=json.dumps({"samples": samples}),
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
            timeout=timeout,
        )


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Callable[..., Served]]:
    started: list[Served] = []

    def make(rrdcached: str | None = None, workers: int = 2, name: str = "server") -> Served:
        directory = tmp_path / name
        directory.mkdir(exist_ok=True)
        served = Served(directory, rrdcached, workers)
        started.append(served)
        served.start()
        return served

    yield make
    for served in started:
        served.stop()


@pytest.fixture
def serve_cached(
    tmp_path: Path, start_rrdcached: Callable[..., Rrdcached], serve: Callable[..., Served]
) -> tuple[Served, Rrdcached]:
    """A served app writing through its own real rrdcached (base dir = its archive)."""
    directory = tmp_path / "server"
    directory.mkdir()
    daemon = start_rrdcached(directory / "rrd")
    return serve(daemon.address), daemon


def aligned(seconds_ago: int) -> int:
    now = int(time.time()) - seconds_ago
    return now - now % STEP


def acknowledged(answer: requests.Response, samples: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The samples of a batch the server acknowledged as stored."""
    if answer.status_code != 200:
        return []
    refused = {r["index"] for r in answer.json()["rejected"]}
    return [sample for index, sample in enumerate(samples) if index not in refused]


def assert_all_stored(root: Path, acked: list[dict[str, Any]]) -> None:
    by_metric: dict[str, dict[int, float]] = {}
    for sample in acked:
        by_metric.setdefault(sample["metric"], {})[sample["time"]] = sample["value"]
    missing = []
    for metric, wanted in by_metric.items():
        first, last = min(wanted), max(wanted)
        stored = known_values(metric_path(root, metric), first - STEP, last)
        for stamp, value in wanted.items():
            if stamp != first and stored.get(stamp) != value:  # the first opens the file
                missing.append((metric, stamp, value, stored.get(stamp)))
    assert not missing, f"{len(missing)} acknowledged samples not stored: {missing[:5]}"


# -- crashes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kill_worker", "kill_rrdcached"),
    [
        pytest.param(True, False, id="worker"),
        pytest.param(False, True, id="rrdcached"),
        pytest.param(True, True, id="both"),
    ],
)
def test_acknowledged_samples_survive_a_killed_worker_and_a_killed_rrdcached(
    serve_cached: tuple[Served, Rrdcached],
    kill_worker: bool,
    kill_rrdcached: bool,
) -> None:
    server, daemon = serve_cached
    directory = server.directory
    base = aligned(86400)
    acked: list[dict[str, Any]] = []
    failures: list[str] = []
    lock = threading.Lock()
    rounds, threads, metrics = 80, 4, 10

    def load(number: int) -> None:
        for k in range(rounds):
            batch = [
                {"metric": f"crash.t{number}.m{m}", "time": base + k * STEP, "value": k * 10 + m}
                for m in range(metrics)
            ]
            try:
                answer = server.push(batch)
            except requests.RequestException as exc:
                with lock:
                    failures.append(type(exc).__name__)
                continue
            with lock:
                acked.extend(acknowledged(answer, batch))

    workers = [threading.Thread(target=load, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    deadline = time.monotonic() + 60
    while len(acked) < rounds * threads * metrics // 3:
        assert time.monotonic() < deadline, (failures, server.log()[-2000:])
        time.sleep(0.01)
    victims = server.worker_pids()
    if kill_worker:
        os.kill(victims[0], signal.SIGKILL)
    for worker in workers:
        worker.join(timeout=120)
    if kill_rrdcached:
        daemon.kill()  # right after the last acknowledgement
    assert len(acked) > rounds * threads * metrics // 2, failures
    assert (victims[0] not in server.worker_pids()) == kill_worker

    server.stop()
    if kill_rrdcached:
        # a killed rrdcached leaves its pid file, and a new one may refuse to start over
        # it; under systemd the unit's RuntimeDirectory (where it lives) is removed
        (daemon.workdir / "rrdcached.pid").unlink(missing_ok=True)
        daemon.start()
    left = set((directory / "wal").glob("*.wal"))
    assert left or not kill_rrdcached, "rrdcached's crash left log segments behind"
    server.start()  # each worker opens the archive first, which replays the dead log
    deadline = time.monotonic() + 60  # until every worker has replayed what it took over
    while left & set((directory / "wal").glob("*.wal")):
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.05)
    late = {"metric": "crash.after.restart", "time": base + rounds * STEP, "value": 1}
    assert server.push([late]).json()["accepted"] == 1
    daemon.stop()  # a clean stop writes everything rrdcached holds into the files
    assert_all_stored(server.root, acked + [late])
    wal = directory / "wal"
    assert wal.is_dir()


def test_a_crashed_rrdcached_makes_ingest_answer_503_until_it_is_back(
    serve_cached: tuple[Served, Rrdcached],
) -> None:
    server, daemon = serve_cached
    base = aligned(3600)
    first = [{"metric": "gone.a.value", "time": base, "value": 1.0}]
    assert server.push(first).json()["accepted"] == 1
    daemon.kill()
    (daemon.workdir / "rrdcached.pid").unlink(missing_ok=True)  # see above
    refused = server.push([{"metric": "gone.a.value", "time": base + STEP, "value": 2.0}])
    assert refused.status_code == 503, refused.text
    assert refused.headers["Retry-After"]
    assert requests.get(server.url + "/healthz", timeout=5).status_code in (200, 503)
    daemon.start()
    again = [{"metric": "gone.a.value", "time": base + STEP, "value": 2.0}]
    assert server.push(again).json() == {"accepted": 1, "rejected": []}
    daemon.stop()
    assert_all_stored(server.root, first + again)


# -- slurpers while the server is away ------------------------------------------------------


def test_slurpers_spool_while_the_server_is_down_or_failing_and_deliver_each_batch_once(
    tmp_path: Path, serve_cached: tuple[Served, Rrdcached]
) -> None:
    server, daemon = serve_cached
    config = make_config(tmp_path, server.url, server.token)
    instance = config.instances["demo"]
    clock = Clock(aligned(1800))
    spool = Spool(config.spool.dir, "demo", 10**9, 10**9, clock)
    runs = []

    server.stop()  # nobody listens: connection refused
    for _ in range(2):
        runs.append(run_instance(config, instance, clock=clock, sleep=no_sleep))
        clock.now += STEP
    server.start()
    daemon.kill()  # the server answers, but 503: the archive cannot store
    (daemon.workdir / "rrdcached.pid").unlink(missing_ok=True)
    runs.append(run_instance(config, instance, clock=clock, sleep=no_sleep))
    clock.now += STEP
    assert [r.exit_code for r in runs] == [EXIT_SPOOLED] * 3, [r.line() for r in runs]
    assert len(spool.pending()) == 3

    daemon.start()
    for _ in range(2):
        runs.append(run_instance(config, instance, clock=clock, sleep=no_sleep))
        clock.now += STEP
    assert [r.exit_code for r in runs[3:]] == [EXIT_OK, EXIT_OK], [r.line() for r in runs]
    assert spool.pending() == []
    collected = sum(r.collected for r in runs)
    assert sum(r.sent for r in runs) == collected  # each batch delivered exactly once
    assert sum(r.rejected for r in runs) == 0
    daemon.stop()
    path = metric_path(server.root, "demo.node01_example_org.temperature.sine")
    assert len(known_values(path, int(clock.now) - 6 * STEP, int(clock.now))) >= 4


def test_a_slurper_clock_hours_ahead_is_refused_with_the_reason_and_never_clogs_the_spool(
    tmp_path: Path, serve: Callable[..., Served], caplog: pytest.LogCaptureFixture
) -> None:
    server = serve()
    config = make_config(tmp_path, server.url, server.token)
    instance = config.instances["demo"]
    skewed = Clock(time.time() + 3 * 3600)
    spool = Spool(config.spool.dir, "demo", 10**9, 10**9, skewed)
    with caplog.at_level(logging.WARNING, logger="rexmon.slurp"):
        ahead = run_instance(config, instance, clock=skewed, sleep=no_sleep)
    assert ahead.exit_code == EXIT_PARTIAL and ahead.rejected == ahead.collected > 0
    assert "ahead of the server clock" in caplog.text
    assert spool.pending() == []

    server.stop()
    skewed.now += STEP
    assert run_instance(config, instance, clock=skewed, sleep=no_sleep).exit_code == EXIT_SPOOLED
    assert len(spool.pending()) == 1
    server.start()
    right = Clock(aligned(0))
    later = run_instance(config, instance, clock=right, sleep=no_sleep)
    assert spool.pending() == []  # the skewed batch was answered (rejected), not kept
    assert later.rejected == ahead.collected and later.sent == later.collected
    path = metric_path(server.root, "demo.node01_example_org.temperature.sine")
    assert int(subprocess.check_output(["rrdtool", "last", str(path)])) == int(right.now)


# -- damaged files and a full disk ---------------------------------------------------------


def test_a_truncated_or_corrupt_rrd_is_rejected_alone_and_the_server_stays_up(
    serve: Callable[..., Served],
) -> None:
    server = serve()
    base = aligned(3600)
    names = ["bad.a.truncated", "bad.a.corrupt", "bad.a.fine"]
    first = [{"metric": name, "time": base, "value": 1.0} for name in names]
    assert server.push(first).json()["accepted"] == 3
    truncated = metric_path(server.root, names[0])
    with truncated.open("r+b") as handle:
        handle.truncate(truncated.stat().st_size // 3)
    corrupt = metric_path(server.root, names[1])
    with corrupt.open("r+b") as handle:
        handle.write(b"\xde\xad\xbe\xef" * 64)

    second = [{"metric": name, "time": base + STEP, "value": 2.0} for name in names]
    second.append({"metric": "bad.a.new", "time": base + STEP, "value": 2.0})
    answer = server.push(second)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 2
    errors = {r["index"]: r["error"] for r in body["rejected"]}
    assert sorted(errors) == [0, 1]
    assert all(error.startswith("not stored: ") for error in errors.values()), errors
    assert requests.get(server.url + "/healthz", timeout=5).ok
    third = [{"metric": "bad.a.fine", "time": base + 2 * STEP, "value": 3.0}]
    assert server.push(third).json() == {"accepted": 1, "rejected": []}
    assert_all_stored(server.root, first[2:] + second[2:] + third)
    assert server.process is not None and server.process.poll() is None


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount_point = tmp_path / "server" / "rrd"
    mount_point.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount_point)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", "-l", str(mount_point)], check=False)


def fill(directory: Path) -> Path:
    filler = directory / "filler"
    with filler.open("wb") as handle:
        try:
            while True:
                handle.write(b"\0" * 65536)
                handle.flush()
        except OSError:
            pass
    return filler


def test_a_full_disk_gives_clear_rejections_keeps_serving_and_recovers(
    tmp_path: Path, small_disk: Path, serve: Callable[..., Served]
) -> None:
    server = serve()
    assert server.root == small_disk.resolve()
    base = aligned(3600)
    first = [{"metric": "full.a.old", "time": base, "value": 1.0}]
    assert server.push(first).json()["accepted"] == 1
    filler = fill(small_disk)

    new = [
        {"metric": "full.a.old", "time": base + STEP, "value": 2.0},
        {"metric": "full.b.new", "time": base + STEP, "value": 2.0},
        {"metric": "full.c.new", "time": base + STEP, "value": 2.0},
    ]
    answer = server.push(new)
    assert answer.status_code in (200, 503), answer.text
    if answer.status_code == 200:
        body = answer.json()
        assert body["accepted"] == 1  # the existing file is written in place
        assert [r["index"] for r in body["rejected"]] == [1, 2]
        assert all("No space left" in r["error"] for r in body["rejected"]), body
        assert all(r["retry"] is True for r in body["rejected"]), body
    assert requests.get(server.url + "/healthz", timeout=5).status_code in (200, 503)

    # a slurper whose metrics are new keeps them in its spool while the disk is full
    config = make_config(tmp_path, server.url, server.token)
    instance = config.instances["demo"]
    clock = Clock(base)
    spool = Spool(config.spool.dir, "demo", 10**9, 10**9, clock)
    full_run = run_instance(config, instance, clock=clock, sleep=no_sleep)
    assert full_run.exit_code == EXIT_SPOOLED, full_run.line()
    assert (full_run.sent, full_run.rejected) == (0, 0)
    assert sum(batch.count for batch in spool.pending()) == full_run.collected

    filler.unlink()
    again = new[1:]
    assert server.push(again).json() == {"accepted": 2, "rejected": []}
    clock.now += STEP
    later = run_instance(config, instance, clock=clock, sleep=no_sleep)
    assert later.exit_code == EXIT_OK, later.line()
    assert later.backlog == full_run.collected and spool.pending() == []
    leftovers = [p.name for p in small_disk.rglob(".*")]
    assert leftovers == [], leftovers  # no half-made temporary RRDs
    assert_all_stored(server.root, first + new[:1] + again)
    path = metric_path(server.root, "demo.node01_example_org.temperature.sine")
    assert set(known_values(path, base - STEP, base + STEP)) >= {base + STEP}


def test_through_rrdcached_a_damaged_rrd_loses_no_acknowledged_sample(
    serve_cached: tuple[Served, Rrdcached],
) -> None:
    """rrdcached takes updates for a file it cannot write, and answers FLUSH with success.
    The archive reads the file back before it drops its log, keeps what is missing in a
    held segment and says so; once the file is moved away, a restart stores it."""
    server, daemon = serve_cached
    base = aligned(3600)
    first = [{"metric": "bad.b.truncated", "time": base, "value": 1.0}]
    assert server.push(first).json()["accepted"] == 1
    path = metric_path(server.root, "bad.b.truncated")
    subprocess.run(["rrdtool", "flushcached", "--daemon", daemon.address, str(path)], check=True)
    with path.open("r+b") as handle:
        handle.truncate(path.stat().st_size // 3)
    second = [{"metric": "bad.b.truncated", "time": base + STEP, "value": 2.0}]
    acked = acknowledged(server.push(second), second)
    assert acked == second  # rrdcached took it: nothing reads the file on this path

    server.stop()  # closing flushes the logged files and reads them back
    wal = server.directory / "wal"
    held = set(wal.glob("held-*.wal"))  # one per worker whose log named the file
    assert held
    assert "acknowledged sample(s) of 1 file(s)" in server.log()
    assert str(path) in server.log()

    daemon.stop()  # the operator moves the damaged file away and restarts the services
    path.rename(path.with_name(path.name + ".damaged"))
    daemon.start()
    server.start()
    deadline = time.monotonic() + 30
    while held & set(wal.glob("held-*.wal")):
        assert time.monotonic() < deadline, server.log()[-3000:]
        time.sleep(0.05)
    server.stop()
    daemon.stop()
    assert known_values(path, base, base + STEP) == {base + STEP: 2.0}
    assert list(wal.glob("*.wal")) == []
