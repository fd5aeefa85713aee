"""The log reader on damaged segments: it resynchronises, bounds what a header claims,
drops a bad sample alone, and never loses a record whose bytes are intact."""

from __future__ import annotations

import time
import zlib
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rexmon.sample import Sample
from rrdarchive.walformat import (
    DAMAGED,
    MAX_RECORD_SAMPLES,
    Reading,
    encode,
    keep_damage,
    parse_segment,
    read_segment,
)

T0 = 1_699_999_980
RECORDS = [[Sample(f"fuzz.r{r}.m{m}", T0 + 60 * r, float(m)) for m in range(3)] for r in range(12)]
BLOBS = [encode(record) for record in RECORDS]


def record_of(lines: bytes) -> bytes:
    count = len(lines.splitlines())
    return f"R {count} {zlib.crc32(lines):08x}\n".encode() + lines


def test_after_an_unreadable_header_the_reader_goes_on_with_the_next_record() -> None:
    blobs = list(BLOBS)
    blobs[3] = b"X" + blobs[3][1:]
    reading = parse_segment(b"".join(blobs))
    assert reading.samples == [s for r, record in enumerate(RECORDS) if r != 3 for s in record]
    (damage,) = reading.damaged
    assert (damage.offset, damage.data) == (sum(map(len, BLOBS[:3])), blobs[3])


def test_a_header_claiming_millions_of_samples_costs_nothing_and_only_itself() -> None:
    started = time.monotonic()
    reading = parse_segment(b"R 20000000 deadbeef\n" + b"".join(BLOBS))
    assert time.monotonic() - started < 0.5
    assert reading.samples == [s for record in RECORDS for s in record]
    assert [d.data for d in reading.damaged] == [b"R 20000000 deadbeef\n"]


def test_a_bad_sample_behind_a_valid_checksum_is_dropped_alone() -> None:
    bad = record_of(b"a.b 1700000000 1.0 -\na.b soon 2.0 -\n\xff\xfe 1 2 3\na.b 1700000060 inf -\n")
    reading = parse_segment(BLOBS[0] + bad + BLOBS[1])
    assert reading.samples == [*RECORDS[0], Sample("a.b", 1_700_000_000, 1.0), *RECORDS[1]]
    assert [d.reason.split(":")[0] for d in reading.damaged] == ["bad sample"] * 3


def test_damaged_ranges_are_kept_aside_by_segment_and_offset(tmp_path: Path) -> None:
    segment = tmp_path / "1-2-3.wal"
    segment.write_bytes(BLOBS[0] + b"garbage\n" + BLOBS[1])
    reading = read_segment(segment)
    (kept,) = keep_damage(tmp_path, segment, reading.damaged)
    assert kept == tmp_path / DAMAGED / f"1-2-3.wal.{len(BLOBS[0])}"
    assert kept.read_bytes() == b"garbage\n"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    damages=st.lists(
        st.tuples(
            st.integers(0, len(RECORDS) - 1),
            st.integers(0, 10_000),
            st.sampled_from(["flip", "cut", "insert", "forge"]),
            st.binary(min_size=1, max_size=40),
        ),
        max_size=4,
    ),
    truncate=st.integers(0, 60),
)
def test_a_damaged_segment_never_crashes_the_reader_nor_loses_an_intact_record(
    damages: list[tuple[int, int, str, bytes]], truncate: int
) -> None:
    blobs = [bytearray(blob) for blob in BLOBS]
    forged = [
        b"R 99999999 00000000\n",
        b"R 3 zzzzzzzz\n",
        b"R -1 0\n",
        b"R 2 " + bytes(8) + b"\n",
        b"\xff\xfe R 1\n",
    ]
    touched = set()
    for record, position, kind, junk in damages:
        blob = blobs[record]
        at = position % len(blob)
        if kind == "flip":
            blob[at] ^= 1 << (junk[0] % 8)
        elif kind == "cut":
            del blob[at : at + 1 + junk[0] % 20]
        elif kind == "insert":
            blob[at:at] = junk
        else:
            blob[at:at] = forged[junk[0] % len(forged)]
        touched.add(record)
    data = b"".join(bytes(blob) for blob in blobs)
    if truncate:
        data = data[:-truncate]
        touched.add(len(RECORDS) - 1)
    reading = parse_segment(data)
    read = set(reading.samples)
    for number, record in enumerate(RECORDS):
        if number not in touched:
            assert set(record) <= read, f"intact record {number} lost"
    assert len(reading.samples) == len(read)  # nothing read twice
    assert sum(len(d.data) for d in reading.damaged) <= len(data)


def test_a_write_bigger_than_a_record_may_hold_is_split_into_records_the_reader_takes() -> None:
    # before: one record of 1,000,001 samples, which the reader takes for damage (all lost)
    data = encode([Sample("big.write", T0, 1.0)] * (MAX_RECORD_SAMPLES + 1))
    headers = [line.split() for line in data.splitlines() if line.startswith(b"R ")]
    assert [int(header[1]) for header in headers] == [MAX_RECORD_SAMPLES, 1]
    tail = data[data.rindex(b"R ") :]
    assert parse_segment(tail) == Reading([Sample("big.write", T0, 1.0)], [])
