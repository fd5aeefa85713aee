"""How many new metrics (RRD files not there yet) each push token may create per hour.

A token that sends millions of distinct metric names would fill the disk with RRD files;
the quota stops that while the metrics that already exist keep being written. Counting is
per process (each gunicorn worker keeps its own count), in fixed one-hour windows, and a
metric name counts once per window, whether or not its samples are then stored.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

WINDOW = 3600


class NewMetricQuota:
    """Per token name: the window's start and the new metric names charged in it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._windows: dict[str, tuple[float, set[str]]] = {}
        self._lock = threading.Lock()

    def allow(self, token: str, metric: str, limit: int) -> bool:
        """Charge ``metric`` (not in the archive yet) to ``token``; False once over ``limit``.

        ``limit`` 0 means no limit. A metric already charged in this window is free.
        """
        if limit <= 0:
            return True
        now = self._clock()
        with self._lock:
            started, charged = self._windows.get(token, (now, set()))
            if now - started >= WINDOW:
                started, charged = now, set()
            self._windows[token] = (started, charged)
            if metric in charged:
                return True
            if len(charged) >= limit:
                return False
            charged.add(metric)
            return True
