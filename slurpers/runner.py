"""Run one instance once: collect -> spooled batches first, oldest first -> this batch.

The runner owns everything a source does not: the time of the pass, catching a source's
errors, the spool lock, pushing, spooling on failure, and the summary line per run.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

from rexmon.errors import RexmonError
from rexmon.sample import Sample
from slurpers.client import IngestClient, PushResult
from slurpers.config import Instance, SlurperConfig
from slurpers.errors import BatchRefused, ServerUnavailable, SpoolBusy, TokenRefused
from slurpers.source import Problem, Run
from slurpers.spool import Spool, SpooledBatch

EXIT_OK = 0
EXIT_PARTIAL = 3
EXIT_SPOOLED = 4
EXIT_TOKEN = 5
EXIT_BUSY = 6
MAX_LOGGED_REJECTIONS = 20
LOGGER = "rexmon.slurp"
log = logging.getLogger(LOGGER)


@dataclass
class RunSummary:
    instance: str
    collected: int = 0
    sent: int = 0
    rejected: int = 0
    refused: int = 0
    spooled: int = 0
    dropped: int = 0
    backlog: int = 0
    problems: list[Problem] = field(default_factory=list)
    unavailable: bool = False
    token_refused: bool = False
    busy: bool = False

    @property
    def exit_code(self) -> int:
        if self.token_refused:
            return EXIT_TOKEN
        if self.busy:
            return EXIT_BUSY
        if self.unavailable or self.spooled:
            return EXIT_SPOOLED
        if self.problems or self.rejected or self.refused or self.dropped:
            return EXIT_PARTIAL
        return EXIT_OK

    def line(self) -> str:
        return (
            f"{self.instance}: collected={self.collected} sent={self.sent}"
            f" rejected={self.rejected} refused={self.refused} spooled={self.spooled}"
            f" dropped={self.dropped} backlog={self.backlog} errors={len(self.problems)}"
        )


def collect_samples(instance: Instance, hostname: str, now: int) -> tuple[list[Sample], Run]:
    """Everything a source yields; an error stops that source but keeps what it gave."""
    run = Run(instance=instance.name, now=now, hostname=hostname, prefix=instance.prefix)
    samples: list[Sample] = []
    try:
        for sample in instance.source.collect(instance.options, run):
            samples.append(sample)
    except (RexmonError, OSError, ValueError) as exc:
        run.problem("source", f"{type(exc).__name__}: {exc}")
    return samples, run


def print_samples(samples: list[Sample], out: TextIO) -> None:
    for sample in samples:
        value = "U" if sample.value is None else f"{sample.value:.15g}"
        kind = sample.type.value if sample.type else ""
        out.write(f"{sample.metric} {value} {sample.time} {kind}".rstrip() + "\n")


def make_client(config: SlurperConfig, sleep: Callable[[float], None]) -> IngestClient:
    server = config.server
    return IngestClient(
        server.url, server.read_token, timeout=server.timeout, retries=server.retries, sleep=sleep
    )


class _Sender:
    """Pushes batches for one run and keeps the summary's counts."""

    def __init__(self, client: IngestClient, spool: Spool, summary: RunSummary) -> None:
        self.client = client
        self.spool = spool
        self.summary = summary

    @property
    def stopped(self) -> bool:
        return self.summary.unavailable or self.summary.token_refused

    def _record(self, result: PushResult, samples: list[Sample]) -> list[Sample]:
        """Count and log an answer; return the samples to send again (``retry``)."""
        self.summary.sent += result.accepted
        final = [r for r in result.rejected if not r.retry]
        again = [samples[r.index] for r in result.rejected if r.retry]
        self.summary.rejected += len(final) + result.omitted
        for rejection in final[:MAX_LOGGED_REJECTIONS]:
            log.warning(
                "rejected sample %d (%s): %s", rejection.index, rejection.metric, rejection.error
            )
        more = len(final) + result.omitted - MAX_LOGGED_REJECTIONS
        if more > 0:
            log.warning("... and %d more rejected", more)
        if again:
            first = next(r for r in result.rejected if r.retry)
            log.warning(
                "%d sample(s) to send again (the server: %s); keeping them in the spool",
                len(again),
                first.error,
            )
            self.summary.spooled += len(again)
        return again

    def send_spooled(self, batch: SpooledBatch) -> None:
        try:
            samples = self.spool.load(batch)
        except (OSError, ValueError, KeyError, TypeError, EOFError, RexmonError) as exc:
            log.error("unreadable spool file %s (%s): moved to refused/", batch.path, exc)
            self.spool.refuse(batch)
            self.summary.refused += batch.count
            return
        try:
            again = self._record(self.client.push(samples), samples)
        except ServerUnavailable as exc:
            self._unavailable(exc)
            unsent = exc.unsent if exc.unsent is not None else samples
            if len(unsent) < len(samples):
                self.spool.replace(batch, unsent)
            return
        except TokenRefused as exc:
            self._token(exc)
            return
        except BatchRefused as exc:
            log.error("%s; kept in %s", exc, self.spool.refuse(batch))
            self.summary.refused += batch.count
            return
        if again:
            self.spool.replace(batch, again)
        else:
            self.spool.remove(batch)
        self.summary.backlog += batch.count - len(again)

    def send_new(self, samples: list[Sample]) -> None:
        if self.stopped:
            self._save(samples)
            return
        try:
            again = self._record(self.client.push(samples), samples)
        except ServerUnavailable as exc:
            self._unavailable(exc)
            self._save(exc.unsent if exc.unsent is not None else samples)
        except TokenRefused as exc:
            self._token(exc)
            self._save(samples)
        except BatchRefused as exc:
            log.error("%s; kept in %s", exc, self.spool.refuse(self.spool.save(samples)))
            self.summary.refused += len(samples)
        else:
            if again:
                self.spool.save(again)

    def _save(self, samples: list[Sample]) -> None:
        self.spool.save(samples)
        self.summary.spooled += len(samples)

    def _unavailable(self, exc: ServerUnavailable) -> None:
        log.error("server unavailable: %s; spooling for the next run", exc)
        self.summary.unavailable = True

    def _token(self, exc: TokenRefused) -> None:
        log.error("%s; batches stay in the spool until the token is fixed", exc)
        self.summary.token_refused = True


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
    samples, run = collect_samples(instance, config.hostname, int(clock()))
    summary = RunSummary(instance.name, collected=len(samples), problems=run.problems)
    for problem in run.problems:
        log.warning("%s: %s", problem.part, problem.message)
    if dry_run:
        if out is not None:
            print_samples(samples, out)
        return summary
    client = client or make_client(config, sleep)
    spool = Spool(
        config.spool.dir, instance.name, config.spool.max_bytes, config.spool.max_age, clock
    )
    size = config.server.batch_size
    chunks = [samples[i : i + size] for i in range(0, len(samples), size)]
    try:
        with spool.locked():
            for dropped in spool.trim():
                log.warning(
                    "spool: dropped %d batches (%d samples) %s",
                    dropped.batches,
                    dropped.samples,
                    dropped.reason,
                )
                summary.dropped += dropped.samples
            sender = _Sender(client, spool, summary)
            for batch in spool.pending():
                if sender.stopped:
                    break
                sender.send_spooled(batch)
            for chunk in chunks:
                sender.send_new(chunk)
    except SpoolBusy as exc:
        log.warning("%s: spooling this run's samples for the next run", exc)
        summary.busy = True
        for chunk in chunks:
            spool.save(chunk)
            summary.spooled += len(chunk)
    return summary
