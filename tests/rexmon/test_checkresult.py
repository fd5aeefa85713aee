"""Check results: a value object with a validated wire form (POST /api/v1/checks)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rexmon.checkresult import (
    MAX_LONG_OUTPUT_BYTES,
    CheckResult,
    CheckState,
    PerfDatum,
    bounded,
    check_from_json,
    worst,
)
from rexmon.errors import InvalidCheckResult
from rexmon.thresholds import Limits, parse_range


def a_check() -> CheckResult:
    return CheckResult(
        check="host.node01.disk",
        time=1_700_000_000,
        state=CheckState.WARNING,
        output="DISK WARNING - free space: / 3% <b>",
        long_output="line two\nline three",
        perfdata=(
            PerfDatum(
                "/",
                "host.node01.disk.root_bytes",
                1.5e9,
                "B",
                Limits(parse_range("10:"), parse_range("@0:5"), 0.0, 2e9),
            ),
            PerfDatum("gone", None, None),
        ),
        exit_status=1,
    )


def test_a_check_result_survives_the_wire_unchanged() -> None:
    check = a_check()
    document = json.loads(json.dumps(check.to_json()))
    assert document["state"] == "WARNING"
    assert document["perfdata"][0]["warn"] == "10:"
    assert check_from_json(document) == check


def test_the_state_comes_from_the_exit_status_and_unknown_is_everything_else() -> None:
    got = [CheckState.from_exit_status(code) for code in (0, 1, 2, 3, 127, -15)]
    assert [state.name for state in got] == [
        "OK",
        "WARNING",
        "CRITICAL",
        "UNKNOWN",
        "UNKNOWN",
        "UNKNOWN",
    ]
    assert worst([CheckState.OK, CheckState.UNKNOWN, CheckState.WARNING]) is CheckState.UNKNOWN
    assert worst([CheckState.UNKNOWN, CheckState.CRITICAL]) is CheckState.CRITICAL
    assert worst([]) is CheckState.OK


def test_bounded_text_is_cut_on_a_character_boundary_and_says_so() -> None:
    text = "é" * 5000  # two bytes each
    cut = bounded(text, MAX_LONG_OUTPUT_BYTES)
    assert len(cut.encode()) <= MAX_LONG_OUTPUT_BYTES
    assert cut.endswith("…") and set(cut[:-1]) == {"é"}
    assert bounded("short\0text", 100) == "shorttext"


def mutated(**changes: Any) -> dict[str, Any]:
    document = a_check().to_json()
    document.update(changes)
    return document


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("nope", "expected an object"),
        ({"check": "a.b"}, "missing field 'time'"),
        (mutated(extra=1), r"unknown field\(s\): extra"),
        (mutated(check="../etc"), "check: metric name"),
        (mutated(time=True), "time: expected a positive integer"),
        (mutated(time=-1), "time: expected a positive integer"),
        (mutated(state="BAD"), "state: expected OK, WARNING"),
        (mutated(state=2), "state: expected OK"),
        (mutated(exit_status=1000), "exit_status: 1000 is not"),
        (mutated(output="x" * 2000), "output: 2000 bytes long, at most 1024"),
        (mutated(long_output="a\0b"), "long_output: must not contain NUL"),
        (mutated(output="a\ud800"), "output: is not valid UTF-8"),
        (mutated(perfdata={}), "perfdata: expected a list"),
        (mutated(perfdata=[{}] * 300), "perfdata: 300 items"),
        (mutated(perfdata=[{"label": "a"}, {"label": 5}]), r"perfdata\[1\]\.label"),
        (mutated(perfdata=[{"label": "a", "value": "1"}]), r"perfdata\[0\]\.value"),
        (mutated(perfdata=[{"label": "a", "warn": "x:"}]), r"perfdata\[0\]\.warn"),
        (mutated(perfdata=[{"label": "a", "metric": "a..b"}]), r"perfdata\[0\]\.metric"),
        (mutated(perfdata=[{"label": "a", "what": 1}]), r"perfdata\[0\]: unknown field"),
    ],
)
def test_a_bad_check_result_is_refused_naming_the_field(document: object, message: str) -> None:
    with pytest.raises(InvalidCheckResult, match=message):
        check_from_json(document)


@given(st.text(), st.integers(min_value=8, max_value=5000))
def test_bounded_text_always_fits_and_is_a_prefix_of_the_original(text: str, limit: int) -> None:
    cut = bounded(text, limit)
    assert len(cut.encode("utf-8", "replace")) <= limit
    clean = text.replace("\0", "")
    assert clean.startswith(cut.removesuffix("…")) or cut == clean
