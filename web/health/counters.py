"""Counters of what the web app did, for ``/metrics`` (monitoring rexmon itself).

Kept with prometheus_client. Under gunicorn every worker is a process of its own, so
``rexmon-web serve`` runs prometheus_client in multiprocess mode: each worker writes its
counts to files in ``$PROMETHEUS_MULTIPROC_DIR`` (a new directory per server run, emptied
when the server starts), and a scrape answered by any worker adds up the files of all of
them — counters never go backwards from one scrape to the next, whichever worker answers.
Without that variable (one process: the development server, tests) the counts are the
process's own, with its process metrics.
"""

from __future__ import annotations

import os

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    ProcessCollector,
    generate_latest,
    multiprocess,
)

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"
# upper bounds (seconds) of the archive write latency histogram
WRITE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROCESS_ENV) or None


class ServerCounters:
    """Requests served (and how long the timed ones took), samples accepted/rejected and
    archive write latency."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        if multiprocess_dir() is None:
            ProcessCollector(registry=self.registry)
        self._requests = Counter(
            "rexmon_http_requests",
            "HTTP requests served.",
            ["method", "status"],
            registry=self.registry,
        )
        self._durations = Histogram(
            "rexmon_http_request_duration_seconds",
            "Time to answer a request, for ingest, graphs and pages.",
            ["endpoint"],
            buckets=REQUEST_BUCKETS,
            registry=self.registry,
        )
        self._accepted = Counter(
            "rexmon_samples_accepted", "Samples stored.", registry=self.registry
        )
        self._rejected = Counter(
            "rexmon_samples_rejected", "Samples refused.", registry=self.registry
        )
        self._writes = Histogram(
            "rexmon_archive_write_seconds",
            "Time to store one ingest batch durably.",
            buckets=WRITE_BUCKETS,
            registry=self.registry,
        )

    def count_request(self, method: str, status: int) -> None:
        method = method if method.isalpha() and len(method) <= 10 else "OTHER"
        self._requests.labels(method, str(int(status))).inc()

    def time_request(self, endpoint: str, seconds: float) -> None:
        """``endpoint`` is a Flask endpoint name: a fixed set, never user input."""
        self._durations.labels(endpoint).observe(seconds)

    def count_samples(self, accepted: int, rejected: int) -> None:
        self._accepted.inc(accepted)
        self._rejected.inc(rejected)

    def observe_write(self, seconds: float) -> None:
        self._writes.observe(seconds)

    def render(self) -> bytes:
        """The text exposition: every worker's counts added up in multiprocess mode."""
        if multiprocess_dir() is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
