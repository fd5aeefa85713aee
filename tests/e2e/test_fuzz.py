"""Property tests: the parsers that read what strangers send never fail in a way the
callers do not handle, and whatever they accept is safe to use.

Hypothesis runs a fixed, derandomized number of examples so the file is quick and gives
the same verdict on every run.
"""

from __future__ import annotations

import gzip
import json
import math
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from rexmon.errors import InvalidMetricName, InvalidTime
from rexmon.metric import metric_from_path, metric_path, validate_metric
from rexmon.sample import DsType, Sample
from rexmon.timespec import parse_duration, parse_time, site_zone
from web.ingest.batch import BatchTooLarge, MalformedBatch, decompress, parse_batch

FUZZ = settings(
    max_examples=200,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
ROOT = Path("/srv/rexmon/rrd")
CONTENT_TYPES = st.sampled_from(
    [
        "",
        "application/json",
        "application/json; charset=utf-8",
        "text/plain",
        "application/x-graphite",
        "application/xml",
        "multipart/form-data; boundary=x",
        "TEXT/PLAIN",
    ]
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
SAMPLE_FIELDS = st.fixed_dictionaries(
    {},
    optional={
        "metric": JSON | st.sampled_from(["a.b", "host.n1.cpu", "../x.y", "-a.b", "a..b"]),
        "time": JSON | st.integers(min_value=-(2**70), max_value=2**70),
        "value": JSON,
        "type": JSON | st.sampled_from(["GAUGE", "counter", "DERIVE", "x"]),
        "extra": JSON,
    },
)
FIRST = "abcxyzABZ0189_"
COMPONENT = st.builds(
    str.__add__, st.sampled_from(FIRST), st.text(st.sampled_from(FIRST + "-"), max_size=12)
)
METRIC = st.lists(COMPONENT, min_size=2, max_size=10).map(".".join).filter(lambda m: len(m) <= 255)
VALID_SAMPLE = st.builds(
    Sample,
    metric=METRIC,
    time=st.integers(min_value=1, max_value=2**40),
    value=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    type=st.none() | st.sampled_from(list(DsType)),
)
NAME_CHARS = st.sampled_from(list("ab0Z_-.") + ["/", "\\", ":", "\n", "\x00", " ", "é", "．", "․"])
ZONES = st.sampled_from(
    ["UTC", "Europe/Zurich", "America/Chicago", "Asia/Tokyo", "Pacific/Kiritimati"]
)
TIME_LIKE = st.from_regex(
    r"\s?(now|[+-] ?\d{1,22}(s|m|min|h|d|w|y)(\d{1,3}m)?|\d{1,14}|"
    r"(today|tomorrow|yesterday)( \d{1,3}:\d{2})?|\d{1,2}:\d{2}|"
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2})?)?([+-]\d{2}:\d{2}|Z)?)\s?",
    fullmatch=True,
)


def _parse_only_refuses(body: bytes, content_type: str) -> None:
    try:
        batch = parse_batch(body, content_type)
    except MalformedBatch:
        return
    indexes = sorted([i for i, _ in batch.samples] + [r.index for r in batch.rejected])
    assert indexes == list(range(len(indexes)))
    for _, sample in batch.samples:
        assert validate_metric(sample.metric) == sample.metric
        assert isinstance(sample.time, int) and sample.time > 0
        assert sample.value is None or math.isfinite(sample.value)


@FUZZ
@given(st.binary(max_size=300), CONTENT_TYPES)
def test_arbitrary_bytes_are_a_batch_or_malformed(body: bytes, content_type: str) -> None:
    _parse_only_refuses(body, content_type)


@FUZZ
@given(JSON)
def test_arbitrary_json_documents_are_a_batch_or_malformed(document: object) -> None:
    _parse_only_refuses(json.dumps(document).encode(), "application/json")


@FUZZ
@given(st.lists(SAMPLE_FIELDS | JSON, max_size=4))
def test_every_item_of_a_samples_list_is_a_sample_or_rejected_alone(items: list[object]) -> None:
    batch = parse_batch(json.dumps({"samples": items}).encode(), "application/json")
    assert len(batch.samples) + len(batch.rejected) == len(items)
    _parse_only_refuses(json.dumps({"samples": items}).encode(), "application/json")


@FUZZ
@given(st.text(max_size=300), CONTENT_TYPES)
def test_arbitrary_text_is_a_batch_or_malformed(text: str, content_type: str) -> None:
    _parse_only_refuses(text.encode("utf-8", "surrogatepass"), content_type)


@FUZZ
@given(st.integers(min_value=1, max_value=5000), st.sampled_from(["[", '{"a":']))
def test_deep_nesting_is_malformed_not_a_crash(depth: int, opener: str) -> None:
    _parse_only_refuses((opener * depth).encode() + b"1", "application/json")


@FUZZ
@given(
    st.binary(max_size=200) | st.binary(max_size=2000).map(gzip.compress),
    st.sampled_from(["gzip", "x-gzip", "deflate", "br", "", "identity", "GZIP "]),
    st.integers(min_value=0, max_value=1000),
)
def test_decompressing_anything_stays_under_the_limit_or_refuses(
    body: bytes, encoding: str, limit: int
) -> None:
    try:
        data = decompress(body, encoding, limit)
    except (MalformedBatch, BatchTooLarge):
        return
    if encoding.strip().lower() not in ("", "identity"):
        assert len(data) <= limit


@FUZZ
@given(st.lists(VALID_SAMPLE, max_size=10))
def test_valid_samples_round_trip_through_json(samples: list[Sample]) -> None:
    body = json.dumps({"samples": [s.to_json() for s in samples]}).encode()
    batch = parse_batch(body, "application/json")
    assert batch.rejected == []
    assert [s for _, s in batch.samples] == samples


@FUZZ
@given(st.lists(VALID_SAMPLE, max_size=10))
def test_valid_samples_round_trip_through_graphite_plaintext(samples: list[Sample]) -> None:
    lines = [f"{s.metric} {'U' if s.value is None else repr(s.value)} {s.time}" for s in samples]
    batch = parse_batch("\n".join(lines).encode(), "text/plain")
    assert batch.rejected == []
    assert [s for _, s in batch.samples] == [Sample(s.metric, s.time, s.value) for s in samples]


def _check_accepted_metric(name: str) -> None:
    path = metric_path(ROOT, name)
    relative = path.relative_to(ROOT)  # raises if outside
    assert relative.parts and ".." not in relative.parts
    assert not path.resolve().relative_to(ROOT) == Path(".")
    assert all(not part.startswith("-") for part in relative.parts)
    assert not name.startswith("-")
    assert metric_from_path(ROOT, path) == name


@FUZZ
@given(st.text(NAME_CHARS, max_size=40) | st.text(max_size=40) | st.binary(max_size=10))
def test_an_accepted_metric_name_maps_strictly_under_the_root(name: object) -> None:
    try:
        accepted = validate_metric(name)
    except InvalidMetricName:
        return
    _check_accepted_metric(accepted)


@FUZZ
@given(METRIC)
def test_valid_metric_names_are_accepted_and_stay_under_the_root(name: str) -> None:
    _check_accepted_metric(validate_metric(name))


@FUZZ
@given(st.text(max_size=60) | TIME_LIKE, st.floats(min_value=0, max_value=4e9), ZONES)
def test_parse_time_answers_seconds_or_invalid_time(text: str, now: float, zone: str) -> None:
    try:
        seconds = parse_time(text, now, site_zone(zone))
    except InvalidTime:
        return
    assert isinstance(seconds, int)


@FUZZ
@given(
    st.text(max_size=60)
    | st.from_regex(r"\s?(\d{1,30}(min|[smhdwy]))+\s?", fullmatch=True)
    | st.integers(min_value=0, max_value=10**200).map(str)
)
@example("²")  # str.isdigit() but not int(): was a ValueError
@example("٣")  # an Arabic-Indic digit: was read as 3 seconds
@example("1" * 5000)  # past int()'s digit limit: was a ValueError
def test_parse_duration_answers_seconds_or_invalid_time(text: str) -> None:
    try:
        seconds = parse_duration(text)
    except InvalidTime:
        return
    assert isinstance(seconds, int) and 0 <= seconds <= 100 * 365 * 86400
