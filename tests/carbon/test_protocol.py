"""Graphite plaintext lines, read as rexmon-carbon reads them (pure functions)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carbon.protocol import LineSplitter, Reason, Refused, parse_line
from rexmon.sample import Sample

NOW = 1_780_000_000


def reason(result: object) -> Reason:
    assert isinstance(result, Refused), result
    return result.reason


def test_a_line_with_a_timestamp_is_one_sample() -> None:
    assert parse_line(b"host.n1.load 0.5 1780000060", NOW) == Sample(
        "host.n1.load", 1780000060, 0.5
    )


def test_a_missing_timestamp_or_minus_one_means_now() -> None:
    assert parse_line(b"a.b 1", NOW) == Sample("a.b", NOW, 1.0)
    assert parse_line(b"a.b 1 -1", NOW) == Sample("a.b", NOW, 1.0)


def test_a_float_timestamp_is_floored_to_the_second() -> None:
    assert parse_line(b"a.b 2 1780000060.999", NOW) == Sample("a.b", 1780000060, 2.0)


def test_nan_is_an_unknown_value_and_inf_is_refused() -> None:
    assert parse_line(b"a.b nan 1780000060", NOW) == Sample("a.b", 1780000060, None)
    assert reason(parse_line(b"a.b inf 1780000060", NOW)) is Reason.VALUE
    assert reason(parse_line(b"a.b 1e999 1780000060", NOW)) is Reason.VALUE


def test_tagged_names_are_refused_with_their_own_reason() -> None:
    assert reason(parse_line(b"a.b;dc=fnal 1 1780000060", NOW)) is Reason.TAGGED


def test_names_that_are_not_metric_ids_are_refused_never_rewritten() -> None:
    for line in (b"single 1", b"a..b 1", b"a.-b 1", b"a.b/../c 1", b"a." + b"x" * 300 + b" 1"):
        assert reason(parse_line(line, NOW)) is Reason.NAME, line


def test_bad_values_times_and_field_counts_each_have_a_reason() -> None:
    assert reason(parse_line(b"a.b one 1780000060", NOW)) is Reason.VALUE
    assert reason(parse_line(b"a.b 1 yesterday", NOW)) is Reason.TIME
    assert reason(parse_line(b"a.b 1 -5", NOW)) is Reason.TIME
    assert reason(parse_line(b"a.b 1 " + b"9" * 40, NOW)) is Reason.TIME
    assert reason(parse_line(b"a.b", NOW)) is Reason.FIELDS
    assert reason(parse_line(b"a.b 1 2 3", NOW)) is Reason.FIELDS


def test_binary_garbage_is_refused_and_blank_lines_are_skipped() -> None:
    assert reason(parse_line(b"\xff\xfe\x00 1 2", NOW)) is Reason.NOT_UTF8
    assert parse_line(b"   \t", NOW) is None
    assert parse_line(b"", NOW) is None


def test_lines_are_put_together_across_reads() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"a.b 1 17800") == []
    assert splitter.feed(b"00060\r\nc.d") == [b"a.b 1 1780000060\r"]
    assert splitter.feed(b" 2\n\ne.f 3\n") == [b"c.d 2", b"", b"e.f 3"]
    assert splitter.close() is None


def test_a_last_line_without_newline_is_refused_at_close() -> None:
    splitter = LineSplitter()
    splitter.feed(b"a.b 1\nc.d 2")
    assert reason(splitter.close()) is Reason.CUT_AT_CLOSE


def test_a_huge_line_is_refused_once_and_skipped_without_being_kept() -> None:
    splitter = LineSplitter(max_line=1000)
    results = splitter.feed(b"ok.one 1\n" + b"x" * 600)
    results += splitter.feed(b"x" * 600)  # over the limit: refused now, rest skipped
    for _ in range(100):
        results += splitter.feed(b"y" * 10_000)
    results += splitter.feed(b"yyy\nok.two 2\n")
    assert results[0] == b"ok.one 1"
    assert [reason(r) for r in results[1:-1]] == [Reason.TOO_LONG]
    assert results[-1] == b"ok.two 2"


def test_a_complete_line_over_the_limit_in_one_chunk_is_refused() -> None:
    splitter = LineSplitter(max_line=1000)
    results = splitter.feed(b"a.b " + b"1" * 2000 + b"\nc.d 1\n")
    assert reason(results[0]) is Reason.TOO_LONG
    assert results[1] == b"c.d 1"


@given(
    lines=st.lists(st.binary(max_size=60).map(lambda b: b.replace(b"\n", b"")), max_size=30),
    cuts=st.lists(st.integers(min_value=0, max_value=2000), max_size=20),
)
def test_any_cutting_of_the_stream_gives_the_same_lines(
    lines: list[bytes], cuts: list[int]
) -> None:
    stream = b"".join(line + b"\n" for line in lines)
    points = sorted({0, len(stream), *(c % (len(stream) + 1) for c in cuts)})
    splitter = LineSplitter(max_line=1000)
    got: list[object] = []
    for start, end in zip(points, points[1:], strict=False):
        got += splitter.feed(stream[start:end])
    assert got == lines
    assert splitter.close() is None
