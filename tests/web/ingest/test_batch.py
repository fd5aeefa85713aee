from __future__ import annotations

import gzip
import json

import pytest

from web.ingest.batch import BatchTooLarge, MalformedBatch, decompress, parse_batch


def body(samples: list[object]) -> bytes:
    return json.dumps({"samples": samples}).encode()


def test_each_bad_sample_is_rejected_alone_with_its_index() -> None:
    batch = parse_batch(
        body(
            [
                {"metric": "a.b", "time": 1700000000, "value": 1},
                {"metric": "../etc", "time": 1700000000, "value": 1},
                {"metric": "a.c", "time": 1700000000, "value": "NaN"},
                "not an object",
                {"metric": "a.d", "time": 1700000000, "value": None},
            ]
        ),
        "application/json",
    )
    assert [index for index, _ in batch.samples] == [0, 4]
    assert [(r.index, r.metric) for r in batch.rejected] == [(1, "../etc"), (2, "a.c"), (3, None)]
    assert batch.rejected[1].error == "value must be a number, got a string"


def test_a_json_string_for_a_number_rejects_that_sample_alone() -> None:
    batch = parse_batch(
        body(
            [
                {"metric": "a.b", "time": 1700000000, "value": "12"},
                {"metric": "a.c", "time": "1700000000", "value": 12},
                {"metric": "a.d", "time": 1700000000, "value": 12},
            ]
        ),
        "application/json",
    )
    assert [index for index, _ in batch.samples] == [2]
    assert [(r.index, r.error) for r in batch.rejected] == [
        (0, "value must be a number, got a string"),
        (1, "time must be a number, got a string"),
    ]


def test_a_huge_integer_rejects_its_sample_alone_in_json_and_plaintext() -> None:
    huge = "9" * 5000
    raw = (
        '{"samples": ['
        f'{{"metric": "a.b", "time": 1700000000, "value": {huge}}},'
        f'{{"metric": "a.c", "time": {huge}, "value": 1}},'
        '{"metric": "a.d", "time": 1700000000, "value": 2}]}'
    ).encode()
    batch = parse_batch(raw, "application/json")
    assert [(index, s.metric) for index, s in batch.samples] == [(2, "a.d")]
    assert [(r.index, r.error) for r in batch.rejected] == [
        (0, "value out of range"),
        (1, "time out of range"),
    ]
    text = f"a.b {huge} 1700000000\na.c 1 {huge}\na.d 2 1700000000\n".encode()
    batch = parse_batch(text, "text/plain")
    assert [(index, s.metric) for index, s in batch.samples] == [(2, "a.d")]
    assert [(r.index, r.error) for r in batch.rejected] == [
        (0, "value out of range"),
        (1, "time out of range"),
    ]


def test_json_nan_and_infinity_literals_are_rejected_per_sample() -> None:
    raw = (
        b'{"samples": [{"metric": "a.b", "time": 1700000000, "value": NaN},'
        b' {"metric": "a.c", "time": 1700000000, "value": 2}]}'
    )
    batch = parse_batch(raw, "application/json")
    assert [index for index, _ in batch.samples] == [1]
    assert "finite" in batch.rejected[0].error


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{", "not valid JSON"),
        (b"[]", "expected a JSON object"),
        (b'{"samples": {}}', "expected a JSON object"),
        (b'{"samples": [], "x": 1}', "unknown top-level"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[" * 100000 + b"]" * 100000, "not valid JSON"),
    ],
)
def test_a_body_unreadable_as_a_whole_is_malformed(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedBatch, match=reason):
        parse_batch(raw, "application/json")


def test_plaintext_rejections_carry_the_line_number() -> None:
    batch = parse_batch(b"a.b 1 1700000000\n\nbad line\nc.d 2 1700000000\n", "text/plain")
    assert [index for index, _ in batch.samples] == [0, 2]
    assert batch.rejected[0].index == 1
    assert batch.rejected[0].line == 3


def test_an_unknown_content_type_is_malformed() -> None:
    with pytest.raises(MalformedBatch, match="unsupported Content-Type"):
        parse_batch(b"x", "application/xml")


def test_gzip_is_undone_but_a_bomb_stops_at_the_limit() -> None:
    assert decompress(gzip.compress(b"hello"), "gzip", 100) == b"hello"
    bomb = gzip.compress(b"\0" * 50_000_000)
    assert len(bomb) < 100_000
    with pytest.raises(BatchTooLarge):
        decompress(bomb, "gzip", 1_000_000)
    with pytest.raises(MalformedBatch, match="not valid gzip"):
        decompress(b"plain", "gzip", 100)
    with pytest.raises(MalformedBatch, match="truncated"):
        decompress(gzip.compress(b"hello" * 100)[:20], "gzip", 10_000)
    with pytest.raises(MalformedBatch, match="unsupported Content-Encoding"):
        decompress(b"x", "br", 100)
