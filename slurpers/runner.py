"""Run one instance once: collect -> spooled batches first, oldest first -> this batch.

The runner owns everything a source does not: the time of the pass, catching a source's
errors, the spool lock, pushing, spooling on failure, and the summary line per run.
Check results (from Nagios plugins) go the same way, after the samples, to
``/api/v1/checks`` with their own spool (see :mod:`slurpers.delivery`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TextIO

from rexmon.checkresult import CheckResult
from rexmon.errors import RexmonError
from rexmon.sample import Sample
from slurpers.client import IngestClient
from slurpers.config import Instance, SlurperConfig
from slurpers.delivery import CHECKS_RECHECK, Sender, deliver_checks, trim
from slurpers.errors import SpoolBusy
from slurpers.source import Run
from slurpers.spool import CheckSpool, Spool
from slurpers.summary import (
    EXIT_BUSY,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_SPOOLED,
    EXIT_TOKEN,
    RunSummary,
)

LOGGER = "rexmon.slurp"
log = logging.getLogger(LOGGER)
__all__ = [
    "CHECKS_RECHECK",
    "EXIT_BUSY",
    "EXIT_OK",
    "EXIT_PARTIAL",
    "EXIT_SPOOLED",
    "EXIT_TOKEN",
    "RunSummary",
    "collect",
    "run_instance",
]


@dataclass(frozen=True)
class Collection:
    """What one pass of a source gave: its samples, its check results, its problems."""

    samples: list[Sample]
    checks: list[CheckResult]
    run: Run


def collect(instance: Instance, hostname: str, now: int) -> Collection:
    """Everything a source yields; an error stops that source but keeps what it gave."""
    run = Run(instance=instance.name, now=now, hostname=hostname, prefix=instance.prefix)
    samples: list[Sample] = []
    checks: list[CheckResult] = []
    try:
        for item in instance.source.collect(instance.options, run):
            if isinstance(item, CheckResult):
                checks.append(item)
            else:
                samples.append(item)
    except (RexmonError, OSError, ValueError) as exc:
        run.problem("source", f"{type(exc).__name__}: {exc}")
    return Collection(samples, checks, run)


def collect_samples(instance: Instance, hostname: str, now: int) -> tuple[list[Sample], Run]:
    """The samples of :func:`collect` (check results left out) and the run."""
    collection = collect(instance, hostname, now)
    return collection.samples, collection.run


def print_samples(samples: list[Sample], out: TextIO) -> None:
    for sample in samples:
        value = "U" if sample.value is None else f"{sample.value:.15g}"
        kind = sample.type.value if sample.type else ""
        out.write(f"{sample.metric} {value} {sample.time} {kind}".rstrip() + "\n")


def print_checks(checks: list[CheckResult], out: TextIO) -> None:
    """One line per check result: ``check <json>`` (never read as a plaintext sample)."""
    for check in checks:
        out.write("check " + json.dumps(check.to_json(), ensure_ascii=False) + "\n")


def make_client(config: SlurperConfig, sleep: Callable[[float], None]) -> IngestClient:
    server = config.server
    return IngestClient(
        server.url, server.read_token, timeout=server.timeout, retries=server.retries, sleep=sleep
    )


def run_instance(
    config: SlurperConfig,
    instance: Instance,
    *,
    client: IngestClient | None = None,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    dry_run: bool = False,
    out: TextIO | None = None,
) -> RunSummary:
    """Collect once and deliver (or, with ``dry_run``, print to ``out``)."""
    collection = collect(instance, config.hostname, int(clock()))
    samples, checks, run = collection.samples, collection.checks, collection.run
    summary = RunSummary(
        instance.name,
        collected=len(samples),
        problems=run.problems,
        checks_collected=len(checks),
    )
    for problem in run.problems:
        log.warning("%s: %s", problem.part, problem.message)
    if dry_run:
        if out is not None:
            print_samples(samples, out)
            print_checks(checks, out)
        return summary
    client = client or make_client(config, sleep)
    spool = Spool(
        config.spool.dir, instance.name, config.spool.max_bytes, config.spool.max_age, clock
    )
    check_spool = CheckSpool(
        config.spool.dir, instance.name, config.spool.max_bytes, config.spool.max_age, clock
    )
    size = config.server.batch_size
    chunks = [samples[i : i + size] for i in range(0, len(samples), size)]
    try:
        with spool.locked():
            trim(spool, summary.samples, "sample")
            trim(check_spool, summary.checks, "check result")
            sender = Sender(client.push, spool, summary, summary.samples, "sample")
            sender.deliver(chunks)
            checker = Sender(
                client.push_checks, check_spool, summary, summary.checks, "check result"
            )
            deliver_checks(checker, checks, clock())
    except SpoolBusy as exc:
        log.warning("%s: spooling this run's samples for the next run", exc)
        summary.busy = True
        for chunk in chunks:
            spool.save(chunk)
            summary.samples.spooled += len(chunk)
        if checks:
            check_spool.save(checks)
            summary.checks.spooled += len(checks)
    return summary
