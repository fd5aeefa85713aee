"""Parsing an ingest request body into samples, one verdict per sample.

A body is JSON ``{"samples": [...]}`` or Graphite plaintext lines. Only a body that cannot
be read as a whole raises :class:`MalformedBatch`; every bad sample becomes a
:class:`Rejection` with its index, and the rest of the batch goes on.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field

from rexmon.errors import InvalidSample, RexmonError
from rexmon.rejection import Rejection
from rexmon.sample import (
    Sample,
    iter_plaintext,
    parse_json_int,
    parse_plaintext_line,
    sample_from_json,
)

MAX_ECHO = 300
MAX_GZIP_MEMBERS = 16


class MalformedBatch(RexmonError):
    """The request body as a whole is unreadable (400)."""


class BatchTooLarge(RexmonError):
    """The body, once decompressed, is over the size limit (413)."""


@dataclass
class Batch:
    """Valid samples with their index in the request, and the rejected ones."""

    samples: list[tuple[int, Sample]] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """Undo ``Content-Encoding``; stops at ``limit`` bytes so a gzip bomb costs nothing."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip", "deflate"):
        raise MalformedBatch(f"unsupported Content-Encoding {encoding!r}; use gzip")
    gzipped = "gzip" in encoding
    wbits = 16 + zlib.MAX_WBITS if gzipped else zlib.MAX_WBITS
    parts: list[bytes] = []
    size = 0
    rest = body
    # a gzip body may hold several members, one after the other (RFC 1952); a few only,
    # as each one costs a copy of the rest of the body
    for _ in range(MAX_GZIP_MEMBERS):
        inflater = zlib.decompressobj(wbits)
        try:
            part = inflater.decompress(rest, limit + 1 - size)
        except zlib.error as exc:
            raise MalformedBatch(f"body is not valid {encoding}: {exc}") from None
        parts.append(part)
        size += len(part)
        if size > limit:
            raise BatchTooLarge(f"body is larger than {limit} bytes once decompressed")
        if not inflater.eof:
            raise MalformedBatch(f"body is truncated {encoding} data")
        rest = inflater.unused_data
        if not rest or (rest[0] == 0 and rest.count(0) == len(rest)):  # zero padding
            return b"".join(parts)
        if not gzipped:
            raise MalformedBatch(f"body has data after the end of the {encoding} stream")
    raise MalformedBatch(f"body has more than {MAX_GZIP_MEMBERS} gzip members")


def parse_batch(body: bytes, content_type: str, max_samples: int | None = None) -> Batch:
    """Read a decompressed body as JSON or plaintext, depending on ``content_type``.

    More than ``max_samples`` samples raise :class:`BatchTooLarge` before any is checked:
    a small body of many bad samples would otherwise cost far more than its size (one
    rejection each, in memory and in the answer)."""
    mime = content_type.split(";", 1)[0].strip().lower()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedBatch(f"body is not UTF-8: {exc.reason} at byte {exc.start}") from None
    if mime in ("text/plain", "application/x-graphite"):
        return _parse_plaintext(text, max_samples)
    if mime in ("application/json", ""):
        return _parse_json(text, max_samples)
    raise MalformedBatch(f"unsupported Content-Type {mime!r}; use application/json or text/plain")


def _too_many(max_samples: int) -> BatchTooLarge:
    return BatchTooLarge(f"more than {max_samples} samples in one request; send smaller batches")


def _parse_json(text: str, max_samples: int | None) -> Batch:
    try:
        try:
            document = json.loads(text)
        except json.JSONDecodeError:
            raise
        except ValueError:
            # an integer literal of more than 4300 digits: parse again, keeping such
            # literals as markers that reject their sample alone (a Python parse_int
            # on every body would slow the usual one down)
            document = json.loads(text, parse_int=parse_json_int)
    except (ValueError, RecursionError) as exc:
        raise MalformedBatch(f"body is not valid JSON: {exc}") from None
    if not isinstance(document, dict) or not isinstance(document.get("samples"), list):
        raise MalformedBatch('expected a JSON object {"samples": [...]}')
    extra = set(document) - {"samples"}
    if extra:
        raise MalformedBatch(f"unknown top-level field(s): {', '.join(sorted(extra))}")
    if max_samples is not None and len(document["samples"]) > max_samples:
        raise _too_many(max_samples)
    batch = Batch()
    for index, item in enumerate(document["samples"]):
        try:
            batch.samples.append((index, sample_from_json(item)))
        except InvalidSample as exc:
            metric = item.get("metric") if isinstance(item, dict) else None
            batch.rejected.append(Rejection(index, _echo(metric), str(exc)))
    return batch


def _parse_plaintext(text: str, max_samples: int | None) -> Batch:
    batch = Batch()
    for index, (line_number, line) in enumerate(iter_plaintext(text)):
        if max_samples is not None and index >= max_samples:
            raise _too_many(max_samples)
        try:
            batch.samples.append((index, parse_plaintext_line(line)))
        except InvalidSample as exc:
            batch.rejected.append(
                Rejection(index, _echo(line.split()[0]), str(exc), line=line_number)
            )
    return batch


def _echo(metric: object) -> str | None:
    """The metric name as sent, cut short, for the rejection list."""
    if not isinstance(metric, str):
        return None
    return metric if len(metric) <= MAX_ECHO else metric[:MAX_ECHO] + "..."
