from __future__ import annotations

import pytest

from rexmon.errors import InvalidSample
from rexmon.sample import (
    DsType,
    Sample,
    iter_plaintext,
    parse_plaintext_line,
    sample_from_json,
)


def test_a_json_sample_round_trips() -> None:
    sample = Sample("host.n1.cpu.user", 1_700_000_000, 1.5, DsType.GAUGE)
    assert sample_from_json(sample.to_json()) == sample
    assert sample_from_json({"metric": "a.b", "time": 1700000000, "value": None}).value is None


@pytest.mark.parametrize(
    ("obj", "reason"),
    [
        ([], "must be an object"),
        ({"metric": "a.b", "time": 1}, "missing field 'value'"),
        ({"metric": "a.b", "time": 1, "value": 1, "extra": 2}, "unknown field"),
        ({"metric": "../x", "time": 1, "value": 1}, "component 1"),
        ({"metric": "a.b", "time": -5, "value": 1}, "positive"),
        ({"metric": "a.b", "time": 1.5, "value": 1}, "integer UNIX time"),
        ({"metric": "a.b", "time": True, "value": 1}, "boolean"),
        ({"metric": "a.b", "time": "-1h", "value": 1}, "time must be a number, got a string"),
        ({"metric": "a.b", "time": 1, "value": "NaN"}, "value must be a number, got a string"),
        ({"metric": "a.b", "time": 1, "value": float("inf")}, "finite"),
        ({"metric": "a.b", "time": 1, "value": 10**400}, "value out of range"),
        ({"metric": "a.b", "time": 10**30, "value": 1}, "time out of range"),
        ({"metric": "a.b", "time": 1, "value": "high"}, "must be a number"),
        ({"metric": "a.b", "time": 1, "value": [1]}, "number or null"),
        ({"metric": "a.b", "time": 1, "value": 1, "type": "COUNTERX"}, "type must be"),
    ],
)
def test_a_bad_json_sample_is_refused_with_its_reason(obj: object, reason: str) -> None:
    with pytest.raises(InvalidSample) as info:
        sample_from_json(obj)
    assert reason in str(info.value)


def test_plaintext_lines_are_graphite_format() -> None:
    assert parse_plaintext_line("a.b 4.5 1700000000") == Sample("a.b", 1700000000, 4.5)
    assert parse_plaintext_line("a.b U 1700000000").value is None
    with pytest.raises(InvalidSample, match="got 2 field"):
        parse_plaintext_line("a.b 4.5")
    text = "a.b 1 1700000000\n\n  \nc.d 2 1700000000\n"
    assert [n for n, _ in iter_plaintext(text)] == [1, 4]


def test_a_json_number_sent_as_a_string_is_refused() -> None:
    with pytest.raises(InvalidSample, match="^value must be a number, got a string$"):
        sample_from_json({"metric": "a.b", "time": 1700000000, "value": "12"})
    with pytest.raises(InvalidSample, match="^time must be a number, got a string$"):
        sample_from_json({"metric": "a.b", "time": "1700000000", "value": 12.0})
    with pytest.raises(InvalidSample, match="^value must be a number, got a string$"):
        sample_from_json({"metric": "a.b", "time": 1700000000, "value": "12", "type": "GAUGE"})


def test_plaintext_numbers_are_text_and_absurd_ones_are_out_of_range() -> None:
    assert parse_plaintext_line("a.b 12 1700000000") == Sample("a.b", 1700000000, 12.0)
    with pytest.raises(InvalidSample, match="^value out of range$"):
        parse_plaintext_line(f"a.b {'9' * 5000} 1700000000")
    with pytest.raises(InvalidSample, match="^time out of range$"):
        parse_plaintext_line(f"a.b 1 {'9' * 5000}")
    with pytest.raises(InvalidSample, match="finite"):
        parse_plaintext_line("a.b inf 1700000000")


def test_the_type_hint_is_case_insensitive() -> None:
    assert DsType.parse("counter") is DsType.COUNTER
