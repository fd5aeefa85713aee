"""The host source, read for real on this machine."""

from __future__ import annotations

import time
from collections import namedtuple

from rexmon.sample import DsType
from slurpers.sources.host import HostOptions, collect, mount_component, usage_samples
from tests.slurpers.helpers import NOW, make_run, values


def test_a_real_run_reports_cpu_load_memory_disks_processes_and_uptime() -> None:
    run = make_run(("host", "node01"), now=int(time.time()))
    samples = list(collect(HostOptions(), run))
    got = values(samples)
    types = {s.metric: s.type for s in samples}
    assert types["host.node01.cpu.user_seconds"] is DsType.DERIVE
    assert got["host.node01.cpu.idle_seconds"] > 0
    assert got["host.node01.load.1m"] >= 0
    assert got["host.node01.memory.total_bytes"] > got["host.node01.memory.available_bytes"] > 0
    assert 0 <= got["host.node01.disk.root.used_ratio"] <= 1
    assert got["host.node01.processes.count"] > 1
    assert got["host.node01.uptime.seconds"] > 0
    assert any(m.startswith("host.node01.net.") and m.endswith(".rx_bytes") for m in got)
    assert not any(".net.lo." in m for m in got)
    assert all(s.time == run.now for s in samples)
    assert run.problems == []


def test_a_mount_that_cannot_be_read_is_reported_and_the_rest_is_kept() -> None:
    run = make_run()
    got = values(collect(HostOptions(mounts=("/", "/no/such/mount")), run))
    assert "test.node01.disk.root.total_bytes" in got
    assert not any("no_such_mount" in m for m in got)
    assert [p.part for p in run.problems] == ["disk /no/such/mount"]


def test_mount_points_become_readable_components() -> None:
    assert mount_component("/") == "root"
    assert mount_component("/var/lib/docker") == "var_lib_docker"
    Usage = namedtuple("Usage", "total used free percent")
    got = values(usage_samples(make_run(now=NOW), "/data.1", Usage(200, 50, 150, 25.0)))
    assert got["test.node01.disk.data_1.used_ratio"] == 0.25
