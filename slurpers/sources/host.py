"""``host``: CPU, load, memory, swap, disks, disk and network I/O, processes, uptime (psutil).

CPU time is sent as a per-state **seconds counter** (``cpu.user_seconds``, DERIVE, summed
over all CPUs): a one-shot run has no previous reading to make a ratio from, and the RRD
turns the counter into CPU-seconds per second (= busy cores) exactly, whatever the step.
DERIVE rather than COUNTER so that a reboot (counter reset) gives one unknown, not a spike.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import psutil

from rexmon.sample import DsType, Sample
from rexmon.yamlconf import Node
from slurpers.source import COMMON_KEYS, Run, Source

DEFAULT_FSTYPES_EXCLUDED = ("tmpfs", "devtmpfs", "squashfs", "overlay", "proc", "sysfs")
DEFAULT_DEVICES_EXCLUDED = ("loop*", "ram*", "dm-*", "sr*")
DEFAULT_INTERFACES_EXCLUDED = ("lo",)
KEYS = frozenset({"mounts", "exclude_fstypes", "exclude_disks", "exclude_interfaces"})


@dataclass(frozen=True)
class HostOptions:
    mounts: tuple[str, ...] | None = None
    exclude_fstypes: tuple[str, ...] = DEFAULT_FSTYPES_EXCLUDED
    exclude_disks: tuple[str, ...] = DEFAULT_DEVICES_EXCLUDED
    exclude_interfaces: tuple[str, ...] = DEFAULT_INTERFACES_EXCLUDED


def parse_options(node: Node, instance: str) -> HostOptions:
    node.mapping(COMMON_KEYS | KEYS)

    def strings(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        child = node.get(key)
        return default if child is None else tuple(child.as_str_list())

    mounts = node.get("mounts")
    return HostOptions(
        mounts=None if mounts is None else tuple(mounts.as_str_list()),
        exclude_fstypes=strings("exclude_fstypes", DEFAULT_FSTYPES_EXCLUDED),
        exclude_disks=strings("exclude_disks", DEFAULT_DEVICES_EXCLUDED),
        exclude_interfaces=strings("exclude_interfaces", DEFAULT_INTERFACES_EXCLUDED),
    )


def mount_component(mountpoint: str) -> str:
    """``/`` -> ``root``, ``/var/lib`` -> ``var_lib`` (sanitised later)."""
    stripped = mountpoint.strip("/")
    return stripped.replace("/", "_") if stripped else "root"


def _excluded(name: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)


def cpu_samples(run: Run, times: Any) -> Iterator[Sample]:
    for state, seconds in times._asdict().items():
        yield run.sample(("cpu", f"{state}_seconds"), seconds, DsType.DERIVE)


def memory_samples(run: Run, memory: Any, swap: Any) -> Iterator[Sample]:
    for key in ("total", "available", "used", "free", "buffers", "cached"):
        if hasattr(memory, key):
            yield run.sample(("memory", f"{key}_bytes"), getattr(memory, key))
    for key in ("total", "used", "free"):
        yield run.sample(("swap", f"{key}_bytes"), getattr(swap, key))
    yield run.sample(("swap", "in_bytes"), swap.sin, DsType.DERIVE)
    yield run.sample(("swap", "out_bytes"), swap.sout, DsType.DERIVE)


def usage_samples(run: Run, mountpoint: str, usage: Any) -> Iterator[Sample]:
    name = mount_component(mountpoint)
    yield run.sample(("disk", name, "total_bytes"), usage.total)
    yield run.sample(("disk", name, "used_bytes"), usage.used)
    yield run.sample(("disk", name, "free_bytes"), usage.free)
    if usage.total > 0:
        yield run.sample(("disk", name, "used_ratio"), usage.used / usage.total)


def diskio_samples(run: Run, device: str, counters: Any) -> Iterator[Sample]:
    for key, name in (
        ("read_bytes", "read_bytes"),
        ("write_bytes", "write_bytes"),
        ("read_count", "reads"),
        ("write_count", "writes"),
    ):
        yield run.sample(("diskio", device, name), getattr(counters, key), DsType.DERIVE)


def net_samples(run: Run, interface: str, counters: Any) -> Iterator[Sample]:
    for key, name in (
        ("bytes_recv", "rx_bytes"),
        ("bytes_sent", "tx_bytes"),
        ("packets_recv", "rx_packets"),
        ("packets_sent", "tx_packets"),
        ("errin", "rx_errors"),
        ("errout", "tx_errors"),
        ("dropin", "rx_drops"),
        ("dropout", "tx_drops"),
    ):
        yield run.sample(("net", interface, name), getattr(counters, key), DsType.DERIVE)


def _mounts(options: HostOptions) -> list[str]:
    if options.mounts is not None:
        return list(options.mounts)
    return sorted(
        {
            part.mountpoint
            for part in psutil.disk_partitions(all=False)
            if part.fstype not in options.exclude_fstypes
        }
    )


def collect(options: HostOptions, run: Run) -> Iterator[Sample]:
    yield from cpu_samples(run, psutil.cpu_times())
    yield run.sample(("cpu", "count"), psutil.cpu_count() or 0)
    for minutes, value in zip((1, 5, 15), os.getloadavg(), strict=True):
        yield run.sample(("load", f"{minutes}m"), value)
    yield from memory_samples(run, psutil.virtual_memory(), psutil.swap_memory())
    for mountpoint in _mounts(options):
        try:
            usage = psutil.disk_usage(mountpoint)
        except OSError as exc:
            run.problem(f"disk {mountpoint}", exc.strerror or exc)
            continue
        yield from usage_samples(run, mountpoint, usage)
    for device, counters in sorted((psutil.disk_io_counters(perdisk=True) or {}).items()):
        if not _excluded(device, options.exclude_disks):
            yield from diskio_samples(run, device, counters)
    for interface, counters in sorted(psutil.net_io_counters(pernic=True).items()):
        if not _excluded(interface, options.exclude_interfaces):
            yield from net_samples(run, interface, counters)
    yield run.sample(("processes", "count"), len(psutil.pids()))
    yield run.sample(("uptime", "seconds"), max(0.0, run.now - psutil.boot_time()))


SOURCE = Source(
    name="host",
    description="CPU, load, memory, swap, disks, disk/network I/O, processes, uptime",
    parse_options=parse_options,
    collect=collect,
    default_prefix="host.{host}",
)
