"""Counters of what this web process did, for ``/metrics`` (monitoring rexmon itself).

One :class:`ServerCounters` per app (in :class:`web.services.Services`), shared by the
threads of a process and guarded by a lock. Each gunicorn worker counts its own
requests; Prometheus sums them when it scrapes through the load balancer or each
worker's figures are read as one sample of the whole.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

# upper bounds (seconds) of the archive write latency histogram
WRITE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


@dataclass
class CounterSnapshot:
    """A consistent copy of the counters at one moment."""

    requests: dict[tuple[str, int], int] = field(default_factory=dict)  # (method, status)
    samples_accepted: int = 0
    samples_rejected: int = 0
    write_buckets: list[int] = field(default_factory=lambda: [0] * len(WRITE_BUCKETS))
    write_count: int = 0
    write_seconds: float = 0.0


class ServerCounters:
    """Requests served, samples accepted/rejected and archive write latency."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._data = CounterSnapshot()

    def count_request(self, method: str, status: int) -> None:
        key = (method if method.isalpha() and len(method) <= 10 else "OTHER", int(status))
        with self._lock:
            self._data.requests[key] = self._data.requests.get(key, 0) + 1

    def count_samples(self, accepted: int, rejected: int) -> None:
        with self._lock:
            self._data.samples_accepted += accepted
            self._data.samples_rejected += rejected

    def observe_write(self, seconds: float) -> None:
        with self._lock:
            self._data.write_count += 1
            self._data.write_seconds += seconds
            for index, bound in enumerate(WRITE_BUCKETS):
                if seconds <= bound:
                    self._data.write_buckets[index] += 1

    def snapshot(self) -> CounterSnapshot:
        with self._lock:
            data = self._data
            return CounterSnapshot(
                dict(data.requests),
                data.samples_accepted,
                data.samples_rejected,
                list(data.write_buckets),
                data.write_count,
                data.write_seconds,
            )
