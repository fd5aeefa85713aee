"""Sending messages through apprise, used as a library.

:class:`Notifier` sends one :class:`~alarmd.message.Message` to the URLs of its receiver
and never raises: apprise's answer is turned into a :class:`SendResult` — SENT (every
URL accepted it), FAILED (with why, secrets scrubbed) or NOTHING (no URL to send to, or
nothing apprise could do: its old ``None`` answer, its ``NOMATCH`` status). The daemon
logs every result as an attempt and schedules retries with :func:`retry_delay`.
:class:`BackgroundSender` runs sends in worker threads so evaluation never waits on a
slow or hanging provider longer than its timeout.

Warnings: apprise reports problems through its ``apprise`` logger, not through the
``warnings`` module, so pytest's ``filterwarnings = error`` is safe; the persistent
store is kept in memory (``storage_mode="memory"``) so apprise writes no cache files.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from alarmd.credentials import scrub
from alarmd.message import Message
from alarmd.outbox import Outcome
from alarmd.providers import load_apprise
from alarmd.receivers import Receiver

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = 20.0
MAX_RETRY_DELAY = 3600.0  # retries wait at most this long


@dataclass(frozen=True)
class SendResult:
    """One attempt to tell one receiver; ``detail`` never contains a secret."""

    receiver: str
    outcome: Outcome
    detail: str = ""
    shown_urls: tuple[str, ...] = ()

    @property
    def retryable(self) -> bool:
        return self.outcome is Outcome.FAILED


def retry_delay(
    attempt: int,
    base: float = 60.0,
    factor: float = 2.0,
    cap: float = MAX_RETRY_DELAY,
    limit: int = 8,
) -> float | None:
    """Seconds to wait before retry number ``attempt`` (1 = first retry); None = give up."""
    if attempt < 1 or attempt > limit:
        return None
    return min(cap, base * factor ** (attempt - 1))


class Notifier:
    """Sends messages to named receivers through apprise."""

    def __init__(self, receivers: Mapping[str, Receiver], timeout: float = DEFAULT_TIMEOUT):
        self.receivers = receivers
        self.timeout = timeout

    def send(self, message: Message) -> SendResult:
        """Send ``message`` to its receiver's URLs; never raises."""
        receiver = self.receivers.get(message.receiver)
        if receiver is None:
            return SendResult(message.receiver, Outcome.FAILED, "no such receiver")
        try:
            result = self._notify(receiver, message)
        except Exception as exc:  # an edge: apprise or a plugin misbehaved
            detail = scrub(f"{type(exc).__name__}: {exc}", receiver.secrets)
            result = SendResult(receiver.name, Outcome.FAILED, detail, receiver.shown)
        urls = ", ".join(receiver.shown)
        if result.outcome is Outcome.FAILED:
            log.warning("notifying %s (%s) failed: %s", receiver.name, urls, result.detail)
        else:
            log.info("notifying %s (%s): %s", receiver.name, urls, result.outcome.value)
        return result

    def _notify(self, receiver: Receiver, message: Message) -> SendResult:
        apprise = load_apprise()

        asset = apprise.AppriseAsset(storage_mode="memory")
        sender = apprise.Apprise(asset=asset)
        for url in receiver.urls:
            if not sender.add(url):
                return self._result(receiver, Outcome.FAILED, "apprise refused a URL")
        if len(sender) == 0:
            return self._result(receiver, Outcome.NOTHING, "no URL to send to")
        # The body is plain text: saying so lets apprise build a mail's HTML part from it
        # (escaped, line breaks kept) and keep the text part as written. Left unsaid,
        # apprise takes it for HTML and the text part loses every line break.
        answer = sender.notify(
            body=message.body,
            title=message.title,
            notify_type=message.notify_type,
            body_format=apprise.NotifyFormat.TEXT,
            timeout=self.timeout,
        )
        return self._interpret(receiver, answer)

    def _interpret(self, receiver: Receiver, answer: Any) -> SendResult:
        if answer is None:
            return self._result(receiver, Outcome.NOTHING, "apprise had nothing to send")
        status = getattr(answer, "status", None)
        if status is None:  # apprise < 2: a plain True / False
            if answer:
                return self._result(receiver, Outcome.SENT, "")
            return self._result(receiver, Outcome.FAILED, "apprise reported a failure")
        name = getattr(status, "name", str(status))
        if name == "SUCCESS":
            return self._result(receiver, Outcome.SENT, "")
        if name == "NOMATCH":
            return self._result(receiver, Outcome.NOTHING, "apprise had nothing to send")
        reasons = [
            entry.message
            for entry in answer.logs()
            if entry.level in ("WARNING", "ERROR", "CRITICAL")
        ]
        detail = f"{name.lower()}: " + ("; ".join(reasons[-3:]) or "no reason given")
        return self._result(receiver, Outcome.FAILED, detail)

    @staticmethod
    def _result(receiver: Receiver, outcome: Outcome, detail: str) -> SendResult:
        return SendResult(receiver.name, outcome, scrub(detail, receiver.secrets), receiver.shown)


class BackgroundSender:
    """Runs :meth:`Notifier.send` in worker threads; ``submit`` never blocks."""

    def __init__(self, notifier: Notifier, workers: int = 2) -> None:
        self.notifier = notifier
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="alarmd-send")

    def submit(self, message: Message) -> Future[SendResult]:
        return self._pool.submit(self.notifier.send, message)

    def submit_many(
        self,
        messages: Sequence[Message],
        on_result: Callable[[SendResult], bool] | None = None,
    ) -> Future[list[SendResult]]:
        """Send ``messages`` one after the other in one worker, stopping after the first
        failure (so one receiver is told things in order); the results of those tried.
        ``on_result`` is called in the worker after each send; False stops it there."""
        return self._pool.submit(self._send_in_order, list(messages), on_result)

    def _send_in_order(
        self, messages: list[Message], on_result: Callable[[SendResult], bool] | None
    ) -> list[SendResult]:
        results = []
        for message in messages:
            results.append(self.notifier.send(message))
            if on_result is not None and not on_result(results[-1]):
                break
            if results[-1].outcome is Outcome.FAILED:
                break
        return results

    def wait(self, future: Future[SendResult], message: Message, timeout: float) -> SendResult:
        """The result, or FAILED 'timed out' if it is not there within ``timeout`` s."""
        try:
            return future.result(timeout=timeout)
        except FutureTimeout:
            receiver = self.notifier.receivers.get(message.receiver)
            shown = receiver.shown if receiver else ()
            return SendResult(
                message.receiver, Outcome.FAILED, f"timed out after {timeout:g}s", shown
            )

    def send(self, message: Message, timeout: float) -> SendResult:
        """Submit and wait at most ``timeout`` seconds."""
        return self.wait(self.submit(message), message, timeout)

    def close(self, wait: bool = True) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=True)
