"""The ingest blueprint: ``POST /api/v1/samples`` with a bearer token.

Answers 200 with ``{"accepted": N, "rejected": [...]}`` once the accepted samples are
durable (a rejection with ``"retry": true`` is passing -- the disk is full, the file busy
-- and the slurper keeps the sample for its next run); 400 only for a body unreadable as
a whole; 401/403 for token problems; 413 over the size limit; 503 when the archive cannot
store anything right now (the slurper spools).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, Response, jsonify, request

from rexmon.rejection import Rejection
from rrdarchive.errors import ArchiveError
from web.auth.guard import bearer_secret
from web.auth.tokens import Token
from web.errors import refusal
from web.ingest.batch import Batch, BatchTooLarge, MalformedBatch, decompress, parse_batch
from web.services import Services, get_services

MAX_LISTED = 1000  # permanent rejections listed in an answer; more are only counted

bp = Blueprint("ingest", __name__)
T = TypeVar("T")
log = logging.getLogger(__name__)


@bp.post("/api/v1/samples")
def post_samples() -> Any:
    max_samples = get_services().config.web.max_samples
    return ingest(lambda body: parse_batch(body, request.content_type or "", max_samples))


def ingest(parse: Callable[[bytes], Batch]) -> Any:
    """The whole of an ingest request, whatever its body format: the bearer token, the
    size limit, decompression, ``parse`` (raising BatchTooLarge or MalformedBatch for a
    body that is unreadable as a whole), the token's metric globs and new-metric quota,
    the durable write, and the answer. ``/api/v1/samples`` and ``/api/v1/collectd``
    differ only in ``parse``."""
    services = get_services()
    read = read_request(services, parse)
    if isinstance(read, Response):
        return read
    token, batch = read
    return _store(batch, token, services)


def read_request(services: Services, parse: Callable[[bytes], T]) -> tuple[Token, T] | Response:
    """The token and the parsed body of a write request, or the refusal to answer instead:
    401 for the token, 413 over the size limit, 400 for a body unreadable as a whole
    (``parse`` raises BatchTooLarge or MalformedBatch, as decompression does)."""
    token = _authenticate(services.tokens.find)
    if isinstance(token, Response):
        return token
    limit = services.config.web.max_body_bytes
    raw = request.get_data(cache=False)
    if request.content_length is None and len(raw) >= limit:
        # werkzeug cuts a body sent without Content-Length (chunked) at the limit without
        # saying so: a cut batch must not be taken for the whole one
        return refusal(413, f"body is larger than {limit} bytes")
    try:
        return token, parse(decompress(raw, request.content_encoding or "", limit))
    except BatchTooLarge as exc:
        return refusal(413, str(exc))
    except MalformedBatch as exc:
        return refusal(400, str(exc))


def _store(batch: Batch, token: Token, services: Services) -> Any:
    total = len(batch.samples) + len(batch.rejected)
    if total and _drop_forbidden(batch, token) == total:
        services.counters.count_samples(0, total)
        first = batch.rejected[0].metric if batch.rejected else "?"
        return refusal(
            403,
            f"token {token.name!r} may write only {', '.join(token.metrics)};"
            f" {first!r} is not among them",
        )
    try:
        _drop_over_quota(batch, token, services)
        started = time.perf_counter()
        verdicts = services.archive.write([sample for _, sample in batch.samples])
        services.counters.observe_write(time.perf_counter() - started)
    except ArchiveError as exc:
        log.error("ingest: archive unavailable, refusing batch of %d: %s", len(batch.samples), exc)
        response = refusal(503, "archive unavailable, retry later")
        response.headers["Retry-After"] = "30"
        return response
    for (index, sample), verdict in zip(batch.samples, verdicts, strict=True):
        if not verdict.stored:
            rejection = Rejection(index, sample.metric, verdict.reason, retry=verdict.retry)
            batch.rejected.append(rejection)
    accepted = sum(verdict.stored for verdict in verdicts)
    services.counters.count_samples(accepted, len(batch.rejected))
    return jsonify(answer_of(accepted, batch.rejected))


def answer_of(accepted: int, rejected: list[Rejection]) -> dict[str, Any]:
    """A write's answer: how many were accepted, and the rejections by index."""
    listed = listed_rejections(rejected)
    answer: dict[str, Any] = {"accepted": accepted, "rejected": [r.to_json() for r in listed]}
    if len(listed) < len(rejected):  # only then, so the usual answer stays as it was
        answer["rejected_total"] = len(rejected)
        answer["rejected_omitted"] = len(rejected) - len(listed)
    return answer


def listed_rejections(rejected: list[Rejection]) -> list[Rejection]:
    """The rejections the answer lists, by index: every retryable one (the slurper must
    know which samples to keep) and the first ``MAX_LISTED`` others; the rest, rejected
    for good, are only counted -- 80,000 bad lines in a small gzip body made a 46 MB
    answer."""
    final = [r for r in rejected if not r.retry]
    if len(final) <= MAX_LISTED:
        return sorted(rejected, key=lambda rejection: rejection.index)
    final.sort(key=lambda rejection: rejection.index)
    kept = final[:MAX_LISTED] + [r for r in rejected if r.retry]
    return sorted(kept, key=lambda rejection: rejection.index)


def _authenticate(find: Any) -> Token | Response:
    secret = bearer_secret()
    if secret is None:
        response = refusal(401, "missing bearer token: send 'Authorization: Bearer <token>'")
    else:
        token: Token | None = find(secret)
        if token is not None:
            return token
        response = refusal(401, "unknown token")
    response.headers["WWW-Authenticate"] = 'Bearer realm="rexmon"'
    return response


def _drop_forbidden(batch: Batch, token: Token) -> int:
    """Move samples outside the token's metric globs to the rejected list; count them."""
    allowed = []
    refused = 0
    for index, sample in batch.samples:
        if token.allows(sample.metric):
            allowed.append((index, sample))
        else:
            refused += 1
            batch.rejected.append(
                Rejection(
                    index,
                    sample.metric,
                    f"token {token.name!r} may write only {', '.join(token.metrics)}",
                )
            )
    batch.samples = allowed
    return refused


def _drop_over_quota(batch: Batch, token: Token, services: Services) -> None:
    """Reject samples that would create a metric beyond the token's hourly quota."""
    limit = token.max_new_metrics
    if not limit or not batch.samples:
        return
    archive, quota = services.archive, services.new_metrics
    kept = []
    for index, sample in batch.samples:
        if archive.exists(sample.metric) or quota.allow(token.name, sample.metric, limit):
            kept.append((index, sample))
        else:
            batch.rejected.append(
                Rejection(
                    index,
                    sample.metric,
                    f"token {token.name!r} may create at most {limit} new metrics per hour:"
                    " this metric has no RRD yet and is not created; existing metrics are"
                    " still stored",
                )
            )
    batch.samples = kept
