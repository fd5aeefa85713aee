"""Deliver one kind of batch (samples or check results): spooled first, then this run's.

A :class:`Sender` pushes, counts the answer into its :class:`~slurpers.summary.Tally`,
spools what did not arrive and sets the run's shared flags (server unavailable, token
refused), which stop every kind. Check results come after the samples; a server without
``/api/v1/checks`` (404) has them dropped, never the samples.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from typing import Generic, TypeVar

from rexmon.checkresult import CheckResult
from rexmon.errors import RexmonError
from slurpers.client import PushResult
from slurpers.errors import BatchRefused, ChecksUnsupported, ServerUnavailable, TokenRefused
from slurpers.spool import BatchSpool, SpooledBatch
from slurpers.summary import RunSummary, Tally

MAX_LOGGED_REJECTIONS = 20
CHECKS_RECHECK = 3600  # after a 404 from /api/v1/checks, ask again an hour later
UNSUPPORTED_MARKER = "unsupported"
log = logging.getLogger("rexmon.slurp")
T = TypeVar("T")


class Sender(Generic[T]):
    """Pushes batches of one kind for one run and keeps that kind's tally; the shared
    flags (server unavailable, token refused) stop every kind."""

    def __init__(
        self,
        push: Callable[[list[T]], PushResult],
        spool: BatchSpool[T],
        summary: RunSummary,
        tally: Tally,
        noun: str,
    ) -> None:
        self.push = push
        self.spool = spool
        self.summary = summary
        self.tally = tally
        self.noun = noun

    @property
    def stopped(self) -> bool:
        return self.summary.unavailable or self.summary.token_refused

    def _record(self, result: PushResult, samples: list[T]) -> list[T]:
        """Count and log an answer; return the items to send again (``retry``)."""
        self.tally.sent += result.accepted
        final = [r for r in result.rejected if not r.retry]
        again = [samples[r.index] for r in result.rejected if r.retry]
        self.tally.rejected += len(final) + result.omitted
        for rejection in final[:MAX_LOGGED_REJECTIONS]:
            log.warning(
                "rejected %s %d (%s): %s",
                self.noun,
                rejection.index,
                rejection.metric,
                rejection.error,
            )
        more = len(final) + result.omitted - MAX_LOGGED_REJECTIONS
        if more > 0:
            log.warning("... and %d more rejected", more)
        if again:
            first = next(r for r in result.rejected if r.retry)
            log.warning(
                "%d %s(s) to send again (the server: %s); keeping them in the spool",
                len(again),
                self.noun,
                first.error,
            )
            self.tally.spooled += len(again)
        return again

    def send_spooled(self, batch: SpooledBatch) -> None:
        try:
            samples = self.spool.load(batch)
        except (OSError, ValueError, KeyError, TypeError, EOFError, RexmonError) as exc:
            log.error("unreadable spool file %s (%s): moved to refused/", batch.path, exc)
            self.spool.refuse(batch)
            self.tally.refused += batch.count
            return
        try:
            again = self._record(self.push(samples), samples)
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
            self.tally.refused += batch.count
            return
        if again:
            self.spool.replace(batch, again)
        else:
            self.spool.remove(batch)
        self.tally.backlog += batch.count - len(again)

    def send_new(self, samples: list[T]) -> None:
        if self.stopped:
            self._save(samples)
            return
        try:
            again = self._record(self.push(samples), samples)
        except ServerUnavailable as exc:
            self._unavailable(exc)
            self._save(exc.unsent if exc.unsent is not None else samples)
        except TokenRefused as exc:
            self._token(exc)
            self._save(samples)
        except BatchRefused as exc:
            log.error("%s; kept in %s", exc, self.spool.refuse(self.spool.save(samples)))
            self.tally.refused += len(samples)
        else:
            if again:
                self.spool.save(again)

    def _save(self, samples: list[T]) -> None:
        self.spool.save(samples)
        self.tally.spooled += len(samples)

    def _unavailable(self, exc: ServerUnavailable) -> None:
        log.error("server unavailable: %s; spooling for the next run", exc)
        self.summary.unavailable = True

    def _token(self, exc: TokenRefused) -> None:
        log.error("%s; batches stay in the spool until the token is fixed", exc)
        self.summary.token_refused = True

    def deliver(self, chunks: list[list[T]]) -> None:
        """Spooled batches first, oldest first, then this run's chunks."""
        for batch in self.spool.pending():
            if self.stopped:
                break
            self.send_spooled(batch)
        for chunk in chunks:
            self.send_new(chunk)


def trim(spool: BatchSpool[T], tally: Tally, noun: str) -> None:
    for dropped in spool.trim():
        log.warning(
            "spool: dropped %d batches (%d %ss) %s",
            dropped.batches,
            dropped.samples,
            noun,
            dropped.reason,
        )
        tally.dropped += dropped.samples


def deliver_checks(sender: Sender[CheckResult], checks: list[CheckResult], now: float) -> None:
    """Check results after the samples. A server without the API (404) drops them: the
    warning is logged once, then for ``CHECKS_RECHECK`` seconds runs drop their check
    results without asking (a marker file in the check spool says since when)."""
    marker = sender.spool.dir / UNSUPPORTED_MARKER
    try:
        since = marker.stat().st_mtime
    except FileNotFoundError:
        since = None
    if since is not None and 0 <= now - since < CHECKS_RECHECK:  # a clock set back: ask
        log.debug("the server took no check results at %d: dropping %d", since, len(checks))
        sender.summary.checks_unsupported += len(checks)
        return
    try:
        sender.deliver([checks] if checks else [])
    except ChecksUnsupported as exc:
        pending = sender.spool.pending()
        for batch in pending:
            sender.spool.remove(batch)
        count = len(checks) + sum(batch.count for batch in pending)
        log.warning(
            "%s; dropping %d check result(s), and those of the next %ds (the samples are sent)",
            exc,
            count,
            CHECKS_RECHECK,
        )
        sender.summary.checks_unsupported += count
        marker.parent.mkdir(parents=True, exist_ok=True, mode=0o750)
        marker.write_text(f"{now:.0f}\n")
        os.utime(marker, (now, now))
        return
    if since is not None:
        marker.unlink(missing_ok=True)
