"""The record format of write-ahead log segments: samples written, and read back.

A record is a header line ``R <count> <crc32 hex>`` then ``count`` lines
``metric time value type`` (value ``U`` = unknown, type ``-`` = no hint). A torn last
record was never acknowledged. Damage costs only what is damaged: the reader resyncs on
the next sound record, and every unreadable byte range is kept under ``damaged/``.
"""

from __future__ import annotations

import logging
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rexmon.errors import InvalidSample
from rexmon.sample import Sample, make_sample

log = logging.getLogger(__name__)


def encode(samples: Sequence[Sample]) -> bytes:
    """Samples as records of at most ``MAX_RECORD_SAMPLES`` each: a reader takes a header
    claiming more for damage, so a bigger write must not become one record."""
    return b"".join(
        _record_bytes(samples[start : start + MAX_RECORD_SAMPLES])
        for start in range(0, len(samples), MAX_RECORD_SAMPLES)
    )


def _record_bytes(samples: Sequence[Sample]) -> bytes:
    lines = "".join(
        f"{s.metric} {s.time} {'U' if s.value is None else repr(s.value)}"
        f" {'-' if s.type is None else s.type.value}\n"
        for s in samples
    ).encode("ascii")
    return f"R {len(samples)} {zlib.crc32(lines):08x}\n".encode("ascii") + lines


MAX_RECORD_SAMPLES = 1_000_000
"""No record holds more: :func:`encode` splits a bigger write (ingest batches are at most
``web.max_samples``, 100,000 by default, but that limit can be raised). A header claiming
more is damage, so a forged count costs no time."""
MIN_LINE = len("a.b 100000000 U -\n")  # the shortest sample line there can be
DAMAGED = "damaged"


@dataclass(frozen=True)
class Damage:
    """A byte range of a segment that could not be read as samples, and why."""

    offset: int
    data: bytes
    reason: str


@dataclass(frozen=True)
class Reading:
    """What a segment holds: the samples of its readable records, and the rest."""

    samples: list[Sample]
    damaged: list[Damage]


def read_segment(path: Path, *, live: bool = False) -> Reading:
    """Every sample of a segment file that can be read; the unreadable byte ranges apart.

    After a bad header the reader resynchronises on the next ``R `` that starts a record
    whose checksum holds; a bad sample inside a sound record costs that sample alone.
    ``live``: the file may be written to meanwhile, or dropped by its owner; its torn last
    record is no news."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if live:
            return Reading([], [])
        raise
    return parse_segment(data, live=live)


def parse_segment(data: bytes, *, live: bool = False) -> Reading:
    """See :func:`read_segment`."""
    samples: list[Sample] = []
    damaged: list[Damage] = []
    size = len(data)
    position = 0
    bad_from: int | None = None
    while position < size:
        newline = data.find(b"\n", position)
        line_end = size if newline < 0 else newline + 1
        record = _record(data, position, line_end)
        if record is None:
            if bad_from is None:
                bad_from = position
            # resynchronise on the next header, at a line start or not: damage may
            # have eaten the newline before it
            following = data.find(b"R ", position + 1)
            position = size if following < 0 else following
            continue
        if bad_from is not None:
            damaged.append(Damage(bad_from, data[bad_from:position], "unreadable record"))
            bad_from = None
        body_start, body_end = record
        offset = body_start
        for line in data[body_start:body_end].splitlines(keepends=True):
            try:
                samples.append(_decode(line))
            except (ValueError, InvalidSample) as exc:
                damaged.append(Damage(offset, line, f"bad sample: {exc}"))
            offset += len(line)
        position = body_end
    if bad_from is not None and not (live and _torn_tail(data, bad_from)):
        damaged.append(Damage(bad_from, data[bad_from:], "unreadable record"))
    return Reading(samples, damaged)


def _record(data: bytes, start: int, body_start: int) -> tuple[int, int] | None:
    """(body start, body end) of the record whose header starts at ``start``, or None."""
    parts = data[start:body_start].split()
    if len(parts) != 3 or parts[0] != b"R" or not parts[1].isdigit() or len(parts[2]) != 8:
        return None
    count = int(parts[1])
    if not 0 < count <= MAX_RECORD_SAMPLES or count * MIN_LINE > len(data) - body_start:
        return None
    end = body_start
    for _ in range(count):
        newline = data.find(b"\n", end)
        if newline < 0:
            return None
        end = newline + 1
    if f"{zlib.crc32(data[body_start:end]):08x}".encode() != parts[2].lower():
        return None
    return body_start, end


def _torn_tail(data: bytes, start: int) -> bool:
    """Whether ``data[start:]`` is one record in the middle of being appended."""
    parts = data[start : data.find(b"\n", start) + 1 or len(data)].split()
    return len(parts) >= 1 and parts[0] == b"R"


def keep_damage(directory: Path, segment: Path, damaged: Sequence[Damage]) -> list[Path]:
    """Keep each damaged range of ``segment`` for inspection as
    ``<directory>/damaged/<segment name>.<offset>``; the paths written."""
    kept = []
    aside = directory / DAMAGED
    aside.mkdir(exist_ok=True)
    for damage in damaged:
        target = aside / f"{segment.name}.{damage.offset}"
        target.write_bytes(damage.data)
        kept.append(target)
        log.warning(
            "%s: %d byte(s) at offset %d not replayed (%s), kept in %s",
            segment,
            len(damage.data),
            damage.offset,
            damage.reason,
            target,
        )
    return kept


def _decode(line: bytes) -> Sample:
    metric, stamp, value, hint = line.decode("ascii").split()
    return make_sample(
        metric, stamp, None if value == "U" else value, None if hint == "-" else hint
    )
