"""Slow clients against a real ``rexmon-web serve`` (2 workers): 16 sockets trickle a
request head or a body one byte a second; ``/healthz`` must keep answering within a
second throughout, and the trickling sockets must be closed after the read deadline."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.e2e.test_faults import Served
from web.slowclients import HEADER_SECONDS

SLOW = 16


@pytest.fixture
def web(tmp_path: Path) -> Iterator[Served]:
    served = Served(tmp_path, workers=2)
    served.start()
    yield served
    served.stop()


def trickle(web: Served, body: bool, closed_after: list[float], stop: threading.Event) -> None:
    """One byte a second of a request head (or, after a whole head, of its body) until
    the server closes the connection; appends how long that took."""
    head = b"POST /api/v1/samples HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
    head += f"Authorization: Bearer {web.token}\r\n".encode()
    if body:
        head += b"Content-Length: 100000\r\n\r\n"
    pending = head if not body else b"x" * 100
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", web.port), timeout=30) as sock:
        if body:
            sock.sendall(head)
        sock.settimeout(1.0)
        for byte in (pending * 100)[:200]:
            if stop.is_set():
                return
            try:
                sock.sendall(bytes([byte]))
                if sock.recv(4096) == b"":
                    break
            except TimeoutError:
                continue
            except OSError:
                break
        else:
            return
    closed_after.append(time.monotonic() - started)


def test_sixteen_trickling_clients_neither_stall_healthz_nor_stay_open(web: Served) -> None:
    closed_after: list[float] = []
    stop = threading.Event()
    threads = [
        threading.Thread(target=trickle, args=(web, n % 2 == 1, closed_after, stop))
        for n in range(SLOW)
    ]
    for thread in threads:
        thread.start()
    latencies = []
    try:
        until = time.monotonic() + HEADER_SECONDS + 6
        while time.monotonic() < until:
            started = time.monotonic()
            try:
                ok = requests.get(web.url + "/healthz", timeout=5).ok
            except requests.RequestException:
                ok = False
            latencies.append(time.monotonic() - started if ok else 99.0)
            time.sleep(0.2)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=30)
    print(f"/healthz: {len(latencies)} probes, max {max(latencies):.3f} s")
    assert max(latencies) < 1.0
    assert len(closed_after) == SLOW
    assert max(closed_after) < HEADER_SECONDS + 5
