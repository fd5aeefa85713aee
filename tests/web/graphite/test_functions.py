"""Each function on hand-computed cases with unknown points, gaps and mixed resolutions.

Series are given to the evaluator through its injected reader (the same seam the archive
reader uses), so names, nulls and alignment are what a real request gets.
"""

from __future__ import annotations

import pytest

from web.graphite.errors import BadTarget, TooMuchWork
from web.graphite.evaluate import Budget, Context, evaluate_target
from web.graphite.grammar import parse_target
from web.graphite.series import TimeSeries

T = 1_700_000_040  # a multiple of 60 (and of 120, 300 ... not: see the cases)
N = None


def data() -> dict[str, list[TimeSeries]]:
    return {
        "host.*.load": [
            TimeSeries("host.a.load", T, 60, [1.0, N, 3.0, 4.0]),
            TimeSeries("host.b.load", T, 60, [2.0, 5.0, N, N]),
        ],
        "host.a.load": [TimeSeries("host.a.load", T, 60, [1.0, N, 3.0, 4.0])],
        "host.b.load": [TimeSeries("host.b.load", T, 60, [2.0, 5.0, N, N])],
        "c.counter": [TimeSeries("c.counter", T, 60, [10.0, 70.0, 40.0, N, 100.0])],
        "m.fine": [
            TimeSeries("m.fine", T - 240, 60, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0])
        ],
        "m.coarse": [TimeSeries("m.coarse", T + 60, 300, [100.0, N])],
    }


def run(target: str, start: int = T - 60, end: int = T + 240) -> list[TimeSeries]:
    series = data()

    def fetch(pattern: str, a: int, b: int, budget: Budget) -> list[TimeSeries]:
        found = [s.copy(path=pattern) for s in series.get(pattern, [])]
        budget.charge(len(found), sum(len(s.values) for s in found))
        if a != start or b != end:  # a re-read over another range: shift the same data
            found = [s.copy(start=s.start + (a - start)) for s in found]
        return found

    return evaluate_target(
        parse_target(target), Context(start, end, fetch, Budget(10_000, 100), target)
    )


def one(target: str) -> tuple[str, list[float | None]]:
    (series,) = run(target)
    return series.name, series.values


def test_sum_average_max_min_ignore_unknown_points_and_name_the_paths() -> None:
    assert one("sumSeries(host.*.load)") == ("sumSeries(host.*.load)", [3.0, 5.0, 3.0, 4.0])
    assert one("averageSeries(host.*.load)")[1] == [1.5, 5.0, 3.0, 4.0]
    assert one("maxSeries(host.*.load)")[1] == [2.0, 5.0, 3.0, 4.0]
    assert one("minSeries(host.*.load)")[1] == [1.0, 5.0, 3.0, 4.0]
    assert one("sumSeries(host.a.load, c.counter)")[0] == "sumSeries(host.a.load,c.counter)"


def test_a_column_with_no_known_point_stays_unknown() -> None:
    assert one("sumSeries(host.b.load)")[1] == [2.0, 5.0, N, N]


def test_mixed_resolutions_are_summed_at_the_common_step_lined_up_by_time() -> None:
    # m.fine at 60 s from T-240: buckets of 300 s end on multiples of 300
    (series,) = run("sumSeries(m.fine, m.coarse)")
    assert series.step == 300
    first_end = -(-(T - 240) // 300) * 300
    assert series.start == first_end
    fine = data()["m.fine"][0]
    buckets: dict[int, list[float]] = {}
    for stamp, value in zip(fine.times, fine.values, strict=True):
        buckets.setdefault(-(-stamp // 300) * 300, []).append(value)  # type: ignore[arg-type]
    expected = {end: sum(v) / len(v) for end, v in buckets.items()}
    expected[T + 60] = expected.get(T + 60, 0) + 100.0
    got = dict(zip(series.times, series.values, strict=True))
    assert got == expected


def test_scale_offset_absolute_keep_nulls_and_spell_numbers_like_graphite() -> None:
    assert one("scale(host.a.load, 2)") == ("scale(host.a.load,2)", [2.0, N, 6.0, 8.0])
    assert one("scale(host.a.load, 0.5)")[0] == "scale(host.a.load,0.5)"
    assert one("offset(host.a.load, -1)") == ("offset(host.a.load,-1)", [0.0, N, 2.0, 3.0])
    assert one("absolute(offset(host.a.load, -2))")[1] == [1.0, N, 1.0, 2.0]


def test_derivatives_rates_and_integral() -> None:
    assert one("derivative(c.counter)") == ("derivative(c.counter)", [N, 60.0, -30.0, N, N])
    assert one("nonNegativeDerivative(c.counter)")[1] == [N, 60.0, N, N, N]
    # with a maximum, a drop is a wrap: 100 + 1 + 40 - 70
    assert one("nonNegativeDerivative(c.counter, 100)")[1] == [N, 60.0, 71.0, N, N]
    assert one("perSecond(c.counter)") == ("perSecond(c.counter)", [N, 1.0, N, N, N])
    assert one("integral(host.a.load)") == ("integral(host.a.load)", [1.0, N, 4.0, 8.0])


def test_keep_last_value_and_transform_null_fill_gaps() -> None:
    assert one("keepLastValue(host.b.load)") == ("keepLastValue(host.b.load)", [2.0, 5.0, 5.0, 5.0])
    assert one("keepLastValue(host.b.load, 1)")[1] == [2.0, 5.0, N, N]
    assert one("transformNull(host.b.load)") == ("transformNull(host.b.load,0)", [2.0, 5.0, 0, 0])
    assert one("transformNull(host.b.load, -1.5)")[1] == [2.0, 5.0, -1.5, -1.5]


def test_remove_below_and_above_value() -> None:
    assert one("removeBelowValue(host.a.load, 3)") == (
        "removeBelowValue(host.a.load, 3)", [N, N, 3.0, 4.0])  # fmt: skip
    assert one("removeAboveValue(host.a.load, 3)")[1] == [1.0, N, 3.0, N]


def test_aliases_rename_by_text_node_and_substitution() -> None:
    assert [s.name for s in run("alias(host.*.load, 'load')")] == ["load", "load"]
    assert [s.name for s in run("aliasByNode(scale(host.*.load, 2), 1)")] == ["a", "b"]
    assert [s.name for s in run("aliasByNode(host.*.load, 1, -1)")] == ["a.load", "b.load"]
    assert [s.name for s in run("aliasSub(host.*.load, 'host\\.(\\w+)\\..*', 'node \\1')")] == [
        "node a", "node b"]  # fmt: skip


def test_moving_average_reads_a_window_before_the_range() -> None:
    # the re-read over [start - 2 steps, end] gives the same values two steps earlier
    name, values = one("movingAverage(host.a.load, 2)")
    assert name == "movingAverage(host.a.load,2)"
    # points (stamp: value) T-120:1, T-60:N, T:3, T+60:4; the range starts after T-60
    assert values == [3.0, 3.5]
    assert one("movingAverage(host.a.load, '2min')")[0] == 'movingAverage(host.a.load,"2min")'


def test_summarize_buckets_end_on_multiples_of_the_interval() -> None:
    (series,) = run("summarize(host.a.load, '2min')")
    assert series.name == 'summarize(host.a.load, "2min", "sum")'
    assert series.step == 120
    ends = {stamp: -(-stamp // 120) * 120 for stamp in range(T, T + 240, 60)}
    expected: dict[int, float | None] = {}
    for end, value in zip(ends.values(), [1.0, N, 3.0, 4.0], strict=True):
        if value is not None:
            expected[end] = (expected.get(end) or 0) + value
        else:
            expected.setdefault(end, None)
    assert dict(zip(series.times, series.values, strict=True)) == expected
    (aligned,) = run("summarize(host.a.load, '2min', 'max', true)")
    assert aligned.name == 'summarize(host.a.load, "2min", "max", true)'
    assert aligned.start == T - 60 + 120 and aligned.values == [1.0, 4.0]


def test_highest_lowest_sort_and_limit_choose_series() -> None:
    assert [s.name for s in run("highestMax(host.*.load)")] == ["host.b.load"]
    assert [s.name for s in run("highestCurrent(host.*.load, 2)")] == ["host.b.load", "host.a.load"]
    assert [s.name for s in run("lowestCurrent(host.*.load)")] == ["host.a.load"]
    assert [s.name for s in run("sortByMaxima(host.*.load)")] == ["host.b.load", "host.a.load"]
    assert [s.name for s in run("limit(host.*.load, 1)")] == ["host.a.load"]


def test_group_by_node_and_as_percent() -> None:
    (group,) = run("groupByNode(host.*.load, 2, 'sum')")
    assert group.name == "load" and group.values == [3.0, 5.0, 3.0, 4.0]
    first, second = run("asPercent(host.*.load)")
    assert first.name == "asPercent(host.a.load,sumSeries(host.*.load))"
    assert first.values[0] == pytest.approx(100 / 3) and first.values[1] is None
    assert second.values[:2] == [pytest.approx(200 / 3), 100.0]
    assert run("asPercent(host.a.load, 8)")[0].values == [12.5, N, 37.5, 50.0]


def test_time_shift_draws_an_earlier_range_on_this_one() -> None:
    (series,) = run("timeShift(host.a.load, '1h')")
    assert series.name == 'timeShift(host.a.load, "-1h")'
    assert series.start == T and series.values[:4] == [1.0, N, 3.0, 4.0]


def test_constant_line_spans_the_range() -> None:
    (series,) = run("constantLine(100)")
    assert series.name == "100" and series.values == [100.0] * 3 and series.start == T - 60


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("nosuch(host.a.load)", "unknown function 'nosuch'"),
        ("scale(host.a.load)", "needs its factor"),
        ("scale(host.a.load, 'x')", "factor must be a number"),
        ("scale(2, 2)", "must be a path or a call"),
        ("limit(host.a.load, 1, 2)", "at most 2 arguments"),
        ("summarize(host.a.load, '1h', 'nope')", "unknown aggregation"),
        ("summarize(host.a.load, '1 fortnight')", "unknown unit"),
        ("aliasSub(host.a.load, '(', 'x')", "aliasSub"),
        ("aliasSub(host.a.load, '(.*a)+$', 'x')", "repeated group"),
        ("'just a string'", "must be a path or a call"),
        ("scale(host.a.load, factor=2, factor=3)", "given twice"),
    ],
)
def test_wrong_calls_are_refused_with_a_reason(target: str, words: str) -> None:
    with pytest.raises(BadTarget, match=words.replace("(", r"\(")):
        run(target)


def test_reading_more_points_than_the_budget_allows_is_refused() -> None:
    def fetch(pattern: str, a: int, b: int, budget: Budget) -> list[TimeSeries]:
        budget.charge(1, 5000)
        return [TimeSeries(pattern, T, 60, [1.0] * 5000)]

    context = Context(T, T + 300_000, fetch, Budget(8000, 100), "x")
    with pytest.raises(TooMuchWork, match="too many points"):
        evaluate_target(parse_target("sumSeries(a.b, c.d)"), context)
