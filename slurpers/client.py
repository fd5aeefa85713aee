"""Push batches to ``POST {server}/api/v1/samples``: gzip JSON, bearer token, retries.

Answers: 2xx -> counts (rejected samples are invalid and never resent, unless the server
marks the rejection ``retry``: then the runner spools the sample); 400 ->
:class:`BatchRefused`; 401/403 -> :class:`TokenRefused`; 413 -> the batch is split in
halves and each half pushed; 5xx, other 4xx, connection errors and timeouts ->
retried a few times with exponential back-off and jitter, then :class:`ServerUnavailable`
(carrying the samples that were not sent, so the runner spools only those).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import requests

from rexmon.rejection import Rejection
from rexmon.sample import Sample
from slurpers.errors import BatchRefused, ServerUnavailable, TokenRefused
from slurpers.spool import encode_batch

INGEST_PATH = "/api/v1/samples"
log = logging.getLogger("rexmon.slurp.client")


@dataclass(frozen=True)
class PushResult:
    accepted: int
    rejected: tuple[Rejection, ...] = ()
    omitted: int = 0  # rejected for good but left out of the server's list (it is capped)

    def __add__(self, other: PushResult) -> PushResult:
        return PushResult(
            self.accepted + other.accepted,
            self.rejected + other.rejected,
            self.omitted + other.omitted,
        )


class _TooLarge(Exception):
    pass


class IngestClient:
    """One server; ``token`` is a callable so the token file is read only when needed."""

    def __init__(
        self,
        url: str,
        token: Callable[[], str],
        *,
        timeout: float = 10.0,
        retries: int = 2,
        backoff: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        session: requests.Session | None = None,
    ) -> None:
        self.endpoint = url.rstrip("/") + INGEST_PATH
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.jitter = jitter
        self.session = session or requests.Session()

    def push(self, samples: list[Sample], *, retry: bool = True) -> PushResult:
        """Send one batch; raises a :class:`~slurpers.errors.PushError` subclass."""
        if not samples:
            return PushResult(0)
        try:
            return self._post_retrying(samples, retry)
        except _TooLarge:
            if len(samples) == 1:
                raise BatchRefused("server answered 413 even for a single sample") from None
        half = len(samples) // 2
        log.info("server answered 413 for %d samples: sending two halves", len(samples))
        try:
            first = self.push(samples[:half], retry=retry)
        except ServerUnavailable as exc:
            raise ServerUnavailable(str(exc), unsent=samples) from None
        try:
            second = self.push(samples[half:], retry=retry)
        except ServerUnavailable as exc:
            raise ServerUnavailable(str(exc), unsent=exc.unsent or samples[half:]) from None
        shifted = tuple(replace(r, index=r.index + half) for r in second.rejected)
        return PushResult(
            first.accepted + second.accepted,
            first.rejected + shifted,
            first.omitted + second.omitted,
        )

    def _post_retrying(self, samples: list[Sample], retry: bool) -> PushResult:
        attempts = self.retries + 1 if retry else 1
        for attempt in range(attempts):
            try:
                return self._post(samples)
            except ServerUnavailable as exc:
                if attempt + 1 >= attempts:
                    raise ServerUnavailable(str(exc), unsent=samples) from None
                delay = self.backoff * 2**attempt * (0.5 + self.jitter())
                log.warning("%s; retrying in %.1fs", exc, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _post(self, samples: list[Sample]) -> PushResult:
        headers = {
            "Authorization": f"Bearer {self.token()}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        try:
            response = self.session.post(
                self.endpoint, data=encode_batch(samples), headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            message = f"{self.endpoint}: no answer within {self.timeout:g}s"
            raise ServerUnavailable(message) from None
        except requests.RequestException as exc:
            raise ServerUnavailable(f"{self.endpoint}: {type(exc).__name__}") from None
        with response:
            return self._answer(response, len(samples))

    def _answer(self, response: requests.Response, count: int) -> PushResult:
        status = response.status_code
        detail = response.text.strip().replace("\n", " ")[:200]
        if 200 <= status < 300:
            return _parse_result(response, count)
        if status in (401, 403):
            raise TokenRefused(f"server refused the token ({status}): {detail}")
        if status == 413:
            raise _TooLarge()
        if status == 400:
            raise BatchRefused(f"server refused the batch (400): {detail}")
        raise ServerUnavailable(f"{self.endpoint}: server answered {status}: {detail}")


def _parse_result(response: requests.Response, count: int) -> PushResult:
    try:
        document = response.json()
        rejected = tuple(Rejection.from_json(item) for item in document.get("rejected", []))
        return PushResult(
            int(document["accepted"]), rejected, int(document.get("rejected_omitted", 0))
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        log.warning(
            "server answered %d with an unreadable body; counting all as accepted",
            response.status_code,
        )
        return PushResult(count)
