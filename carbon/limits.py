"""Per source address: how fast it may send lines, and how many new metrics it may make.

The line protocol has no answer to carry "slow down", so the rate is kept by reading
less: :meth:`LineRate.delay` says how long to wait before the next read, and TCP then
pushes back on the sender (its buffer fills, its writes block). Nothing is refused for
speed. New metrics (no RRD yet) are different: each one costs a file of a megabyte or
more, so past ``max_new_metrics`` per hour and address their lines are refused, while
the metrics that exist keep being written -- the rule the HTTP tokens follow. The
receiver is one process, so both are counted in memory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

WINDOW = 3600
MAX_ADDRESSES = 10_000  # entries kept before the idle ones are forgotten


@dataclass
class _Bucket:
    tokens: float
    stamp: float


class LineRate:
    """A token bucket per source address: ``rate`` lines per second, a burst of one
    second's worth. ``rate`` 0 is no limit."""

    def __init__(self, rate: int) -> None:
        self.rate = rate
        self._buckets: dict[str, _Bucket] = {}

    def delay(self, address: str, lines: int, now: float) -> float:
        """Charge ``lines`` to ``address``; the seconds to wait before reading more."""
        if self.rate <= 0:
            return 0.0
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= MAX_ADDRESSES:
                self._forget_full(now)
            bucket = self._buckets[address] = _Bucket(float(self.rate), now)
        bucket.tokens = min(float(self.rate), bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        bucket.tokens -= lines
        return 0.0 if bucket.tokens >= 0 else -bucket.tokens / self.rate

    def _forget_full(self, now: float) -> None:
        """Drop the addresses whose bucket has refilled: they owe nothing."""
        for address, bucket in list(self._buckets.items()):
            if bucket.tokens + (now - bucket.stamp) * self.rate >= self.rate:
                del self._buckets[address]


@dataclass
class _Charged:
    window: int
    metrics: set[str] = field(default_factory=set)


class NewMetricLimit:
    """Per source address and clock hour, the new metric names it was allowed."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._charged: dict[str, _Charged] = {}

    def allow(self, address: str, metric: str, now: float) -> bool:
        """Charge ``metric`` (not in the archive yet) to ``address``; False once over.

        A metric already charged in this window is free; ``limit`` 0 is no limit."""
        if self.limit <= 0:
            return True
        window = int(now // WINDOW)
        charged = self._charged.get(address)
        if charged is None or charged.window != window:
            if len(self._charged) >= MAX_ADDRESSES:
                self._charged = {a: c for a, c in self._charged.items() if c.window == window}
            charged = self._charged[address] = _Charged(window)
        if metric in charged.metrics:
            return True
        if len(charged.metrics) >= self.limit:
            return False
        charged.metrics.add(metric)
        return True
