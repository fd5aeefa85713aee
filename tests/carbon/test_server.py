"""A real rexmon-carbon process fed by plain sockets; the archive read back with the
plain ``rrdtool`` command, as a site admin would."""

from __future__ import annotations

import os
import socket
import struct
import time
from collections.abc import Callable
from pathlib import Path

from rexmon.metric import metric_path
from tests.fixtures_carbon import CarbonProcess
from tests.fixtures_rrdcached import Rrdcached
from tests.plain_rrdtool import known_values, run_rrdtool

MakeCarbon = Callable[..., CarbonProcess]


def last_update(root: Path, metric: str) -> tuple[int, float]:
    """``rrdtool lastupdate``: the time and value of the last sample stored."""
    output = run_rrdtool("lastupdate", str(metric_path(root, metric)))
    stamp, _, value = output.strip().splitlines()[-1].partition(":")
    return int(stamp), float(value)


def now() -> int:
    return int(time.time()) - 5


def test_lines_sent_over_tcp_are_in_the_archive_once_carbon_has_stopped(
    make_carbon: MakeCarbon,
) -> None:
    carbon = make_carbon()
    when = now()
    carbon.send(f"site.a.load 1.5 {when}\nsite.b.load 2 {when}.9\n".encode())
    counts = carbon.stop()
    assert counts["accepted"] == 2
    assert last_update(carbon.root, "site.a.load") == (when, 1.5)
    assert last_update(carbon.root, "site.b.load") == (when, 2.0)


def test_a_line_cut_across_many_writes_is_put_together(make_carbon: MakeCarbon) -> None:
    carbon = make_carbon()
    when = now()
    with carbon.connect() as connection:
        for byte in f"site.partial.x 42 {when}\nsite.partial.y 7".encode():
            connection.sendall(bytes([byte]))
            time.sleep(0.002)
        connection.sendall(f" {when}\n".encode())
    counts = carbon.stop()
    assert counts["accepted"] == 2
    assert last_update(carbon.root, "site.partial.x") == (when, 42.0)
    assert last_update(carbon.root, "site.partial.y") == (when, 7.0)


def test_a_huge_line_is_refused_alone_and_costs_no_memory(make_carbon: MakeCarbon) -> None:
    carbon = make_carbon(max_line=4096)
    when = now()
    before = carbon.rss_bytes()
    with carbon.connect() as connection:
        connection.sendall(f"site.before.x 1 {when}\n".encode())
        chunk = b"site.huge." + b"h" * (1 << 20)
        for _ in range(64):  # 64 MB in one line
            connection.sendall(chunk)
        connection.sendall(f" 1 {when}\nsite.after.x 2 {when}\n".encode())
    grown = carbon.rss_bytes() - before
    counts = carbon.stop()
    assert counts == {"accepted": 2, "too_long": 1, "closed": 1}
    assert grown < 32 << 20
    assert last_update(carbon.root, "site.after.x") == (when, 2.0)


def test_binary_garbage_is_refused_line_by_line_and_the_server_goes_on(
    make_carbon: MakeCarbon,
) -> None:
    carbon = make_carbon()
    when = now()
    garbage = os.urandom(2 << 20)
    with carbon.connect() as connection:
        connection.sendall(garbage + b"\n" + f"site.clean.x 3 {when}\n".encode())
    carbon.send(f"site.clean.y 4 {when}\n".encode())
    counts = carbon.stop()
    assert counts["accepted"] == 2
    assert sum(n for key, n in counts.items() if key not in ("accepted", "closed")) > 1000
    assert last_update(carbon.root, "site.clean.y") == (when, 4.0)


def test_tagged_and_bad_lines_are_counted_by_reason(make_carbon: MakeCarbon) -> None:
    carbon = make_carbon()
    when = now()
    carbon.send(
        f"site.t.x;dc=fnal 1 {when}\nnodots 1 {when}\nsite.t.y abc {when}\n"
        f"site.t.z 1 2 3\nsite.t.ok 5 -1\nsite.t.last 1".encode()
    )
    counts = carbon.stop()
    assert counts == {
        "accepted": 1,
        "tagged": 1,
        "name": 1,
        "value": 1,
        "fields": 1,
        "cut_at_close": 1,
        "closed": 1,
    }
    assert abs(last_update(carbon.root, "site.t.ok")[0] - time.time()) < 30
    assert not metric_path(carbon.root, "site.t.last").exists()


def test_a_source_outside_the_allowed_networks_is_refused(make_carbon: MakeCarbon) -> None:
    carbon = make_carbon(allow=["127.0.0.2/32", {"network": "127.0.0.3", "metrics": ["ok.*"]}])
    when = now()
    with carbon.connect(source="127.0.0.1") as refused:
        refused.sendall(f"site.intruder.x 1 {when}\n".encode())
        assert not _is_open(refused, wait=5.0)  # closed by the receiver
    carbon.send(f"site.friend.x 2 {when}\n".encode(), source="127.0.0.2")
    carbon.send(f"ok.scoped.x 3 {when}\nsite.scoped.x 4 {when}\n".encode(), source="127.0.0.3")
    counts = carbon.stop()
    assert counts["refused_network"] == 1
    assert counts["forbidden"] == 1
    assert counts["accepted"] == 2
    assert not metric_path(carbon.root, "site.intruder.x").exists()
    assert not metric_path(carbon.root, "site.scoped.x").exists()
    assert last_update(carbon.root, "ok.scoped.x") == (when, 3.0)


def test_new_metrics_past_the_hourly_limit_are_refused_while_known_ones_go_on(
    make_carbon: MakeCarbon,
) -> None:
    carbon = make_carbon(max_new_metrics=3)
    when = now()
    carbon.send("".join(f"site.new.m{i} {i} {when}\n" for i in range(5)).encode())
    carbon.send(f"site.new.m0 10 {when + 1}\n".encode())
    counts = carbon.stop()
    assert counts["accepted"] == 4
    assert counts["new_metric_limit"] == 2
    assert last_update(carbon.root, "site.new.m0") == (when + 1, 10.0)


def test_the_rate_limit_slows_a_sender_down_and_loses_nothing(make_carbon: MakeCarbon) -> None:
    carbon = make_carbon(rate=2000)
    when = now()
    started = time.monotonic()
    with carbon.connect() as connection:
        connection.sendall(
            "".join(f"site.rate.m{i % 50} {i} {when}\n" for i in range(8000)).encode()
        )
        connection.shutdown(socket.SHUT_WR)
        assert connection.recv(10) == b""  # the receiver read everything and closed
    seconds = time.monotonic() - started
    counts = carbon.stop()
    assert seconds > 2.0  # 8000 lines at 2000/s with a burst of 2000
    assert counts["accepted"] + counts.get("archive", 0) == 8000


def test_connections_are_bounded_in_number_and_in_idle_time(make_carbon: MakeCarbon) -> None:
    carbon = make_carbon(max_connections=1000, idle_timeout="3s")
    connections = [carbon.connect() for _ in range(2000)]
    time.sleep(1.0)
    still_open = sum(_is_open(connection) for connection in connections)
    assert still_open == 1000
    time.sleep(4.0)
    assert sum(_is_open(connection) for connection in connections) == 0
    for connection in connections:
        connection.close()
    when = now()
    carbon.send(f"site.after.idle 9 {when}\n".encode())
    counts = carbon.stop()
    assert counts["refused_full"] == 1000
    assert counts["idle_timeout"] == 1000
    assert last_update(carbon.root, "site.after.idle") == (when, 9.0)


def _is_open(connection: socket.socket, wait: float = 0.0) -> bool:
    """Whether the receiver still holds the connection (nothing to read, no end)."""
    connection.settimeout(wait or None)
    connection.setblocking(wait > 0)
    try:
        return connection.recv(1) != b""
    except TimeoutError:
        return True
    except BlockingIOError:
        return True
    except ConnectionResetError:
        return False
    finally:
        connection.setblocking(True)


def test_sigterm_stores_every_line_that_had_arrived(make_carbon: MakeCarbon) -> None:
    carbon = make_carbon()
    when = now()
    with carbon.connect() as connection:
        connection.sendall("".join(f"site.term.m{i} {i} {when}\n" for i in range(2000)).encode())
        carbon.process.terminate()  # while the lines are being read
        counts = carbon.stop()
    assert counts["accepted"] == 2000
    for i in (0, 999, 1999):
        assert last_update(carbon.root, f"site.term.m{i}") == (when, float(i))


def test_through_rrdcached_lines_are_in_the_files_after_a_clean_stop(
    make_carbon: MakeCarbon, start_rrdcached: Callable[..., Rrdcached], tmp_path: Path
) -> None:
    root = tmp_path / "carbon0" / "rrd"
    root.mkdir(parents=True)
    cached = start_rrdcached(root)
    carbon = make_carbon(archive={"rrdcached": cached.address, "wal": "wal"})
    when = now()
    carbon.send("".join(f"site.cached.m{i} {i} {when}\n" for i in range(100)).encode())
    counts = carbon.stop()
    assert counts["accepted"] == 100
    assert last_update(root, "site.cached.m42") == (when, 42.0)


def test_lines_wait_while_rrdcached_is_down_and_are_stored_once_it_is_back(
    make_carbon: MakeCarbon, start_rrdcached: Callable[..., Rrdcached], tmp_path: Path
) -> None:
    root = tmp_path / "carbon0" / "rrd"
    root.mkdir(parents=True)
    cached = start_rrdcached(root)
    carbon = make_carbon(archive={"rrdcached": cached.address, "wal": "wal"})
    when = now()
    carbon.send(f"site.down.before 1 {when}\n".encode())
    carbon.wait_for_log(r"last 1s: 1 lines accepted")
    cached.kill()
    carbon.send("".join(f"site.down.m{i} {i} {when}\n" for i in range(50)).encode())
    carbon.wait_for_log(r"archive unavailable, 50 lines wait")
    cached.start()
    carbon.wait_for_log(r"total 51 accepted", timeout=60)
    counts = carbon.stop()
    assert counts["accepted"] == 51
    assert last_update(root, "site.down.m49") == (when, 49.0)


def test_a_connection_reset_by_the_sender_keeps_its_complete_lines(
    make_carbon: MakeCarbon,
) -> None:
    carbon = make_carbon()
    when = now()
    connection = carbon.connect()
    connection.sendall(f"site.reset.x 1 {when}\nsite.reset.y 2".encode())
    carbon.wait_for_log(r"last 1s: 1 lines accepted")
    connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    connection.close()  # an RST, not a FIN
    carbon.send(f"site.reset.z 3 {when}\n".encode())
    counts = carbon.stop()
    assert counts == {"accepted": 2, "reset": 1, "cut_at_close": 1, "closed": 1}
    assert last_update(carbon.root, "site.reset.x") == (when, 1.0)


def test_a_series_sent_over_tcp_reads_back_with_rrdtool_fetch(make_carbon: MakeCarbon) -> None:
    carbon = make_carbon()
    start = int(time.time()) // 60 * 60 - 600
    carbon.send("".join(f"site.series.x {n * 10} {start + n * 60}\n" for n in range(6)).encode())
    carbon.stop()
    path = metric_path(carbon.root, "site.series.x")
    values = known_values(path, start, start + 300)
    assert {t: values[t] for t in range(start + 60, start + 360, 60)} == {
        start + n * 60: float(n * 10) for n in range(1, 6)
    }
