"""The write-ahead log under real faults: gunicorn (2 workers) and rrdcached SIGKILLed
together while pushers wait for each answer, then read back with plain ``rrdtool``."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import requests

from tests.e2e.test_faults import (  # noqa: F401 - fixtures
    STEP,
    Served,
    acknowledged,
    aligned,
    assert_all_stored,
    serve,
    serve_cached,
)
from tests.fixtures_rrdcached import Rrdcached

PUSHERS, METRICS, CYCLES = 4, 5, 2


def test_acknowledged_samples_survive_rrdcached_and_every_worker_killed_together_twice(
    serve_cached: tuple[Served, Rrdcached],  # noqa: F811 - the fixture
) -> None:
    """Issue 11: new workers wrote newer samples of a metric before the dead workers'
    segments were replayed, and the replay then counted the older ones as stored."""
    server, daemon = serve_cached
    base = aligned(86400)
    acked: list[dict[str, Any]] = []
    lock = threading.Lock()
    stop = threading.Event()

    def push(number: int) -> None:
        """Own METRICS metrics; send each minute until it is answered, then the next."""
        k = 0
        while not stop.is_set() and k < 1400:
            batch = [
                {"metric": f"kill.p{number}.m{m}", "time": base + k * STEP, "value": k * 10 + m}
                for m in range(METRICS)
            ]
            try:
                answer = server.push(batch, timeout=10)
            except requests.RequestException:
                time.sleep(0.05)
                continue
            if answer.status_code != 200:
                time.sleep(0.05)
                continue
            with lock:
                acked.extend(acknowledged(answer, batch))
            k += 1

    def wait_for_more(count: int) -> None:
        deadline = time.monotonic() + 60
        target = len(acked) + count
        while len(acked) < target:
            assert time.monotonic() < deadline, server.log()[-3000:]
            time.sleep(0.01)

    pushers = [threading.Thread(target=push, args=(n,)) for n in range(PUSHERS)]
    for pusher in pushers:
        pusher.start()
    try:
        for cycle in range(CYCLES):
            wait_for_more(300)
            assert daemon.process is not None
            victims = [daemon.process.pid, *server.worker_pids()]
            for pid in victims:  # all at once
                os.kill(pid, signal.SIGKILL)
            daemon.kill()  # reaps it
            time.sleep(1.0 + 0.5 * cycle)
            (daemon.workdir / "rrdcached.pid").unlink(missing_ok=True)
            daemon.start()
        wait_for_more(300)
    finally:
        stop.set()
        for pusher in pushers:
            pusher.join(timeout=60)
    server.stop()  # workers close their archives: flushed, log trimmed
    daemon.stop()
    assert len(acked) > 900
    assert_all_stored(server.root, acked)
    assert not (server.directory / "wal" / "damaged").exists()  # nothing set aside
