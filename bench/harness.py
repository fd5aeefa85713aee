"""What every benchmark shares: a temporary rexmon server under gunicorn (optionally
behind a real rrdcached), figures printed and written to ``bench/results/<name>.json``."""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
import yaml

REPO = Path(__file__).resolve().parent.parent
RESULTS = REPO / "bench" / "results"
BIN = Path(sys.executable).parent
SCHEMA_FILES = {
    "shipped": REPO / "etc" / "archive.yaml",  # what a site gets: ~1.4 MB per metric
    "small": REPO / "bench" / "archive-bench.yaml",  # ~13 KB per metric, for 100k files
}


def add_schemas_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--schemas",
        choices=sorted(SCHEMA_FILES),
        default="shipped",
        help="shipped: etc/archive.yaml (default); small: bench/archive-bench.yaml",
    )


def schemas_for(choice: str, metrics: int) -> Path:
    """The schema file of ``--schemas``; exits with the figures when ``metrics`` files of
    its catch-all would not fit in the scratch directory's free space."""
    from rrdarchive.filesize import file_bytes, format_bytes
    from rrdarchive.schemas import load_schemas

    path = SCHEMA_FILES[choice]
    per_metric = file_bytes(load_schemas(path).schemas[-1])
    needed = per_metric * metrics * 1.1
    free = shutil.disk_usage(tempfile.gettempdir()).free
    if needed > free:
        raise SystemExit(
            f"{metrics:,} metrics under {path.name} need {format_bytes(needed)} and"
            f" {tempfile.gettempdir()} has {format_bytes(free)} free:"
            " use fewer metrics or --schemas small"
        )
    print(f"schemas: {path.relative_to(REPO)} ({format_bytes(per_metric)} per metric)")
    return path


@dataclass
class Server:
    url: str
    token: str
    root: Path
    config_path: Path
    rrdcached: str | None
    gunicorn: Gunicorn | None = None


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(check: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, requests.RequestException):
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not come up in {timeout:.0f}s")


@contextmanager
def rrdcached_process(directory: Path, root: Path) -> Iterator[str]:
    """A real rrdcached on a unix socket, writing under ``root``.

    ``-F``: the benchmarks read the files without it once it has stopped; no ``-j``, as
    deployed (docs/archive.md).
    """
    socket_path = directory / "rrdcached.sock"
    process = subprocess.Popen(
        [
            "rrdcached",
            "-g",
            "-l",
            f"unix:{socket_path}",
            "-b",
            str(root),
            "-B",
            "-F",
            "-p",
            str(directory / "rrdcached.pid"),
            "-w",
            "300",
            "-z",
            "30",
            "-f",
            "600",
            "-t",
            "4",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(socket_path.exists, "rrdcached")
        yield f"unix:{socket_path}"
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=120)


def write_server_config(
    directory: Path,
    schemas: Path,
    rrdcached: str | None = None,
    max_new_metrics: int = 0,
    extra_tokens: Sequence[dict[str, Any]] = (),
) -> tuple[str, Path, Path]:
    """A server config under ``directory`` with one push token: (token, root, config path),
    and the ``extra_tokens`` entries (a fleet's, one per node).

    The benchmarks create far more metrics than a token may by default in an hour, so the
    token's ``max_new_metrics`` quota is off (0) unless asked for.
    """
    from web.auth.tokens import digest_token, new_token

    token = new_token()
    root = directory / "rrd"
    root.mkdir(exist_ok=True)
    archive: dict[str, Any] = {"root": str(root), "schemas": str(schemas), "max_age": "30d"}
    if rrdcached:
        archive.update(rrdcached=rrdcached, wal=str(directory / "wal"))
    config = {
        "archive": archive,
        "database": {"url": f"sqlite:///{directory / 'rexmon.db'}"},
        "web": {
            "secret_key_file": str(directory / "secret-key"),
            "max_body": "64MB",
            "tokens": [
                {
                    "name": "bench",
                    "digest": digest_token(token),
                    "metrics": ["*"],
                    "max_new_metrics": max_new_metrics,
                },
                *extra_tokens,
            ],
        },
    }
    config_path = directory / "rexmon.yaml"
    config_path.write_text(yaml.safe_dump(config))
    return token, root, config_path


class Gunicorn:
    """gunicorn serving the real app on a fixed port; it can be stopped and started again
    (the clients keep their URL), as an operator restarting the service would."""

    def __init__(
        self, config_path: Path, port: int | None = None, *, workers: int = 2, threads: int = 4
    ) -> None:
        self.config_path = config_path
        self.port = port or free_port()
        self.workers = workers
        self.threads = threads
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start and wait until ``/healthz`` answers."""
        if self.running:
            return
        env = dict(os.environ, REXMON_CONFIG=str(self.config_path))
        from web.cli import gunicorn_command

        bind = f"127.0.0.1:{self.port}"
        command = gunicorn_command(bind, self.workers, self.threads)
        command[1:1] = ["--timeout", "300", "--log-level", "warning"]
        self.process = subprocess.Popen(
            command,
            env=env,
            cwd=REPO,
        )
        try:
            wait_for(self._up, "gunicorn")
        except BaseException:
            self.stop()
            raise

    def _up(self) -> bool:
        if not self.running:
            raise RuntimeError(f"gunicorn exited with {self.process and self.process.returncode}")
        return requests.get(self.url + "/healthz", timeout=1).ok

    def stop(self, timeout: float = 60.0) -> None:
        """SIGTERM (a graceful stop: requests in progress are answered) and wait."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=timeout)
        self.process = None


@contextmanager
def rexmon_server(
    directory: Path,
    schemas: Path,
    *,
    workers: int = 2,
    threads: int = 4,
    rrdcached: str | None = None,
) -> Iterator[Server]:
    """gunicorn serving the real app, as `rexmon-web serve` does in production."""
    token, root, config_path = write_server_config(directory, schemas, rrdcached)
    gunicorn = Gunicorn(config_path, workers=workers, threads=threads)
    gunicorn.start()
    try:
        yield Server(gunicorn.url, token, root, config_path, rrdcached, gunicorn)
    finally:
        gunicorn.stop()


def save(name: str, figures: dict[str, Any], directory: Path = RESULTS) -> Path:
    """Write the figures with a note of the machine they were measured on."""
    directory.mkdir(parents=True, exist_ok=True)
    figures = {
        "benchmark": name,
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        **figures,
    }
    path = directory / f"{name}.json"
    path.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"figures written to {path.relative_to(REPO) if path.is_relative_to(REPO) else path}")
    return path


def remove(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


@contextmanager
def scratch_directory(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A temporary directory for one benchmark run, removed afterwards unless ``keep``."""
    directory = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield directory
    finally:
        if keep:
            print(f"kept {directory}")
        else:
            remove(directory)


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def stored_values(root: Path, metric: str, start: int, end: int) -> dict[int, float | None]:
    """Time -> value (None: unknown) of a metric's RRD, read by rrdtool alone (no daemon):
    what is really in the file, whatever rrdcached or the server said."""
    import rrdtool

    from rexmon.metric import metric_path

    (first, _, step), _, rows = rrdtool.fetch(
        str(metric_path(root, metric)), "AVERAGE", "--start", str(start), "--end", str(end)
    )
    return {first + (n + 1) * step: row[0] for n, row in enumerate(rows)}


def rss_mb(pids: list[int]) -> float:
    """Resident memory of these processes (VmRSS); a process gone meanwhile counts 0."""
    kilobytes = 0
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                kilobytes += int(line.split()[1])
    return round(kilobytes / 1024, 1)


class Inbox:
    """A local HTTP endpoint for apprise's ``json://``: alarmd's notifications, really
    delivered, counted per message and per alarm event (``CRITICAL FIRING``, ``RESOLVED``)."""

    def __init__(self) -> None:
        self.messages = 0
        self.events: Counter[str] = Counter()
        self._lock = threading.Lock()
        inbox = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                inbox.receive(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"json://127.0.0.1:{self._server.server_address[1]}/"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def receive(self, body: dict[str, Any]) -> None:
        """One message; each alarm in it opens a paragraph ``<HEADLINE>: rule R on M``."""
        kinds = re.findall(r"^([A-Z][A-Z ]*): rule \S+ on \S+$", body["message"], re.M)
        with self._lock:
            self.messages += 1
            self.events.update(kinds)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def __enter__(self) -> Inbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
