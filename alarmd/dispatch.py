"""Sending the outbox in the background and logging every attempt.

The daemon stores each message as a ``pending`` outbox row together with the state
change that caused it; :meth:`Dispatcher.dispatch` hands the due rows (pending, or failed
and due again) to worker threads and returns at once. The worker logs each attempt and
marks its row sent, failed (to be retried after :func:`alarmd.notify.retry_delay`),
given up, or "nothing to send" as soon as the provider has answered; a result that
cannot be stored then (database locked or unreachable) is kept and stored by
:meth:`Dispatcher.collect` in a later cycle, and the receiver gets nothing new meanwhile.

Delivery is *at least once*: a row is marked sent only after the provider accepted it,
so a daemon killed between the two (the time of one database write, or longer while
the database is unavailable) sends that message once more after its restart. Once
marked sent a message is never sent again.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field

from sqlalchemy.exc import SQLAlchemyError

from alarmd.config import AlarmdConfig
from alarmd.notify import BackgroundSender, Notifier, SendResult, retry_delay
from alarmd.outbox import OutboxItem, Outcome
from alarmd.statestore import AlarmStore

log = logging.getLogger(__name__)


@dataclass
class _Flight:
    """The messages of one receiver being sent in order by one worker.

    ``results`` grows as the provider answers; the first ``stored`` of them are in the
    database. ``lock`` keeps the worker and :meth:`Dispatcher.collect` from storing the
    same result twice."""

    items: list[OutboxItem]
    started: float  # time.monotonic()
    future: Future[list[SendResult]] | None = None
    results: list[SendResult] = field(default_factory=list)
    stored: int = 0
    abandoned: bool = False  # stuck past its time: later answers are not stored
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def over(self) -> bool:
        done = self.abandoned or (self.future is not None and self.future.done())
        return done and self.stored == len(self.results)


class Dispatcher:
    """Runs the outbox through a :class:`BackgroundSender`; never blocks evaluation.

    Each receiver is told things in order: its due messages go to one worker that sends
    them one after the other and stops at the first failure; the rest wait for the next
    dispatch (a receiver's newer messages wait while its oldest waits for a retry)."""

    def __init__(
        self,
        store: AlarmStore,
        notifier: Notifier,
        settings: AlarmdConfig,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.sender = BackgroundSender(notifier, workers=settings.send_workers)
        self.timeout = settings.send_timeout
        self.clock = clock
        self.retry_base = settings.retry_delay
        self._flights: dict[str, _Flight] = {}  # receiver -> its sends in progress

    @property
    def in_flight(self) -> int:
        return sum(len(flight.items) for flight in self._flights.values())

    def dispatch(self, now: float) -> int:
        """Submit the due outbox messages of every receiver not busy; returns how many."""
        queues: dict[str, list[OutboxItem]] = {}
        for item in self.store.outbox.due(now, exclude=self._flights):
            queues.setdefault(item.message.receiver, []).append(item)
        for receiver, items in queues.items():
            flight = _Flight(items, time.monotonic())
            self._flights[receiver] = flight
            flight.future = self.sender.submit_many(
                [item.message for item in items], functools.partial(self._answered, flight)
            )
        return sum(len(items) for items in queues.values())

    def collect(self) -> list[tuple[OutboxItem, SendResult]]:
        """Store the results the workers could not store, give up on stuck sends (twice
        their timeout: the retry could duplicate), forget the flights that are over;
        returns what was stored now. Once the database refuses a result, the other
        flights wait for the next cycle (each try could wait the whole busy timeout)."""
        stored = []
        for receiver, flight in list(self._flights.items()):
            with flight.lock:
                running = flight.future is not None and not flight.future.done()
                overran = time.monotonic() - flight.started > 2 * self.timeout * len(flight.items)
                if running and overran and not flight.abandoned:
                    flight.abandoned = True
                    if len(flight.results) < len(flight.items):
                        flight.results.append(SendResult(receiver, Outcome.FAILED, "timed out"))
                stored += self._store(flight)
                if flight.over:
                    del self._flights[receiver]
                refused = flight.stored < len(flight.results)
            if refused:
                break
        return stored

    def drain(self, timeout: float) -> list[tuple[OutboxItem, SendResult]]:
        """Wait up to ``timeout`` seconds for the sends in flight, then :meth:`collect`."""
        deadline = time.monotonic() + timeout
        for flight in list(self._flights.values()):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or flight.future is None:
                break
            try:
                flight.future.exception(timeout=remaining)
            except TimeoutError:
                break
        return self.collect()

    def close(self, timeout: float) -> None:
        """Wait up to ``timeout`` for the sends in flight, store them, stop the workers."""
        self.drain(timeout)
        self.sender.close(wait=False)

    def _answered(self, flight: _Flight, result: SendResult) -> bool:
        """In the worker, right after the provider answered: store the attempt at once
        (the shorter the time to the mark, the fewer duplicates after a crash). False
        stops the worker: its flight was given up."""
        with flight.lock:
            if flight.abandoned:
                return False
            flight.results.append(result)
            self._store(flight)
            return True

    def _store(self, flight: _Flight) -> list[tuple[OutboxItem, SendResult]]:
        """Store the flight's results not stored yet, in order; a database error leaves
        the rest for the next :meth:`collect` (the flight stays, so nothing is resent)."""
        stored = []
        while flight.stored < len(flight.results):
            item, result = flight.items[flight.stored], flight.results[flight.stored]
            try:
                self._settle(item, result)
            except SQLAlchemyError as exc:  # an edge: the database is locked or unreachable
                log.warning("cannot log the send of %r yet: %s", item.message.title, exc)
                break
            flight.stored += 1
            stored.append((item, result))
        return stored

    def _settle(self, item: OutboxItem, result: SendResult) -> None:
        now = self.clock()
        retry_at = None
        if result.outcome is Outcome.FAILED:
            delay = retry_delay(item.attempts + 1, base=self.retry_base)
            retry_at = None if delay is None else now + delay
            if retry_at is None:
                log.error(
                    "giving up on %r to %s after %d attempts",
                    item.message.title,
                    item.message.receiver,
                    item.attempts + 1,
                )
        self.store.outbox.finish(item, result.outcome, result.detail, now, retry_at)
