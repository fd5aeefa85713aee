"""Sending the outbox in the background and logging every attempt.

The daemon stores each message as a ``pending`` outbox row together with the state
change that caused it; :meth:`Dispatcher.dispatch` hands the due rows (pending, or failed
and due again) to worker threads and returns at once; :meth:`Dispatcher.collect` picks up
the finished attempts in a later cycle, logs them and marks the rows sent, failed (to be
retried after :func:`alarmd.notify.retry_delay`), given up, or "nothing to send".

Delivery is *at least once*: a row is marked sent only after the provider accepted it,
so a daemon killed between the two sends that message once more after its restart.
Once marked sent a message is never sent again.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass

from alarmd.notify import BackgroundSender, Outcome, SendResult, retry_delay
from alarmd.statestore import FAILED, NOTHING, SENT, AlarmStore, OutboxItem

log = logging.getLogger(__name__)

_OUTCOMES = {Outcome.SENT: SENT, Outcome.FAILED: FAILED, Outcome.NOTHING: NOTHING}


@dataclass
class _Flight:
    """The messages of one receiver being sent in order by one worker."""

    items: list[OutboxItem]
    future: Future[list[SendResult]]
    started: float  # time.monotonic()


class Dispatcher:
    """Runs the outbox through a :class:`BackgroundSender`; never blocks evaluation.

    Each receiver is told things in order: its due messages go to one worker that sends
    them one after the other and stops at the first failure; the rest wait for the next
    dispatch (a receiver's newer messages wait while its oldest waits for a retry)."""

    def __init__(
        self,
        store: AlarmStore,
        sender: BackgroundSender,
        timeout: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.sender = sender
        self.timeout = timeout
        self.clock = clock
        self._flights: dict[str, _Flight] = {}  # receiver -> its sends in progress

    @property
    def in_flight(self) -> int:
        return sum(len(flight.items) for flight in self._flights.values())

    def dispatch(self, now: float) -> int:
        """Submit the due outbox messages of every receiver not busy; returns how many."""
        queues: dict[str, list[OutboxItem]] = {}
        for item in self.store.due(now, exclude=self._flights):
            queues.setdefault(item.message.receiver, []).append(item)
        for receiver, items in queues.items():
            future = self.sender.submit_many([item.message for item in items])
            self._flights[receiver] = _Flight(items, future, time.monotonic())
        return sum(len(items) for items in queues.values())

    def collect(self) -> list[tuple[OutboxItem, SendResult]]:
        """Log and settle the attempts that finished (or overran twice their timeout)."""
        finished = []
        for receiver, flight in list(self._flights.items()):
            if flight.future.done():
                results = flight.future.result()
            elif time.monotonic() - flight.started > 2 * self.timeout * len(flight.items):
                # the worker may still be stuck in the provider: the retry could duplicate
                results = [SendResult(receiver, Outcome.FAILED, "timed out")]
            else:
                continue
            del self._flights[receiver]
            for item, result in zip(flight.items, results, strict=False):
                self._settle(item, result)
                finished.append((item, result))
        return finished

    def drain(self, timeout: float) -> list[tuple[OutboxItem, SendResult]]:
        """Wait up to ``timeout`` seconds for the sends in flight, then :meth:`collect`."""
        deadline = time.monotonic() + timeout
        for flight in list(self._flights.values()):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            try:
                flight.future.exception(timeout=remaining)
            except TimeoutError:
                break
        return self.collect()

    def _settle(self, item: OutboxItem, result: SendResult) -> None:
        now = self.clock()
        outcome = _OUTCOMES[result.outcome]
        retry_at = None
        if result.outcome is Outcome.FAILED:
            delay = retry_delay(item.attempts + 1)
            retry_at = None if delay is None else now + delay
            if retry_at is None:
                log.error(
                    "giving up on %r to %s after %d attempts",
                    item.message.title,
                    item.message.receiver,
                    item.attempts + 1,
                )
        self.store.finish(item, outcome, result.detail, now, retry_at)
