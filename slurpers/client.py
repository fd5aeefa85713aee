"""Push batches to ``POST {server}/api/v1/samples``: gzip JSON, bearer token, retries.

Check results go the same way to ``POST {server}/api/v1/checks`` (``{"checks": [...]}``,
the same answer shape); a 404 there means a server that does not take them yet:
:class:`ChecksUnsupported`.

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
from typing import Generic, TypeVar

import requests

from rexmon.checkresult import CheckResult
from rexmon.rejection import Rejection
from rexmon.sample import Sample
from slurpers.errors import BatchRefused, ChecksUnsupported, ServerUnavailable, TokenRefused
from slurpers.spool import CHECKS, SAMPLES, Codec

INGEST_PATH = "/api/v1/samples"
CHECKS_PATH = "/api/v1/checks"
T = TypeVar("T")
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


@dataclass(frozen=True)
class _Target(Generic[T]):
    """Where a kind of batch goes and how it is written."""

    endpoint: str
    codec: Codec[T]
    noun: str


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
        self.checks_endpoint = url.rstrip("/") + CHECKS_PATH
        self.token = token
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.sleep = sleep
        self.jitter = jitter
        self.session = session or requests.Session()

    def push(self, samples: list[Sample], *, retry: bool = True) -> PushResult:
        """Send one batch; raises a :class:`~slurpers.errors.PushError` subclass."""
        return self._push(_Target(self.endpoint, SAMPLES, "sample"), samples, retry)

    def push_checks(self, checks: list[CheckResult], *, retry: bool = True) -> PushResult:
        """Send check results; :class:`ChecksUnsupported` when the server has no such API."""
        return self._push(_Target(self.checks_endpoint, CHECKS, "check result"), checks, retry)

    def _push(self, target: _Target[T], samples: list[T], retry: bool) -> PushResult:
        if not samples:
            return PushResult(0)
        try:
            return self._post_retrying(target, samples, retry)
        except _TooLarge:
            if len(samples) == 1:
                message = f"server answered 413 even for a single {target.noun}"
                raise BatchRefused(message) from None
        half = len(samples) // 2
        log.info("server answered 413 for %d %ss: sending two halves", len(samples), target.noun)
        try:
            first = self._push(target, samples[:half], retry)
        except ServerUnavailable as exc:
            raise ServerUnavailable(str(exc), unsent=samples) from None
        try:
            second = self._push(target, samples[half:], retry)
        except ServerUnavailable as exc:
            raise ServerUnavailable(str(exc), unsent=exc.unsent or samples[half:]) from None
        shifted = tuple(replace(r, index=r.index + half) for r in second.rejected)
        return PushResult(
            first.accepted + second.accepted,
            first.rejected + shifted,
            first.omitted + second.omitted,
        )

    def _post_retrying(self, target: _Target[T], samples: list[T], retry: bool) -> PushResult:
        attempts = self.retries + 1 if retry else 1
        for attempt in range(attempts):
            try:
                return self._post(target, samples)
            except ServerUnavailable as exc:
                if attempt + 1 >= attempts:
                    raise ServerUnavailable(str(exc), unsent=samples) from None
                delay = self.backoff * 2**attempt * (0.5 + self.jitter())
                log.warning("%s; retrying in %.1fs", exc, delay)
                self.sleep(delay)
        raise AssertionError("unreachable")

    def _post(self, target: _Target[T], samples: list[T]) -> PushResult:
        endpoint = target.endpoint
        headers = {
            "Authorization": f"Bearer {self.token()}",
            "Content-Type": "application/json",
            "Content-Encoding": "gzip",
        }
        try:
            response = self.session.post(
                endpoint, data=target.codec.encode(samples), headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            message = f"{endpoint}: no answer within {self.timeout:g}s"
            raise ServerUnavailable(message) from None
        except requests.RequestException as exc:
            raise ServerUnavailable(f"{endpoint}: {type(exc).__name__}") from None
        with response:
            return self._answer(target, response, len(samples))

    def _answer(self, target: _Target[T], response: requests.Response, count: int) -> PushResult:
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
        if status == 404 and target.codec is CHECKS:
            raise ChecksUnsupported(f"{target.endpoint}: 404, the server takes no check results")
        raise ServerUnavailable(f"{target.endpoint}: server answered {status}: {detail}")


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
