"""``/graphite/render`` over real RRD files through real HTTP: JSON, CSV, maxDataPoints,
noNullPoints, wildcards and functions, reads through rrdcached, and its refusals."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.fixtures_server import RexmonServer
from tests.web.monitored import push, push_history
from web.graphite.errors import TooMuchWork
from web.graphite.evaluate import Budget
from web.graphite.render import RenderRequest, read_request
from web.graphite.render import render as render_series
from web.graphite.views import archive_combine, archive_fetch
from web.services import get_services

CPU_A = "host.a.cpu.user"
CPU_B = "host.b.cpu.user"


def render(server: RexmonServer, **params: object) -> requests.Response:
    return requests.get(f"{server.url}/graphite/render", params=params, timeout=30)  # type: ignore[arg-type]


def known(points: list[list[float]]) -> dict[int, float]:
    return {int(t): v for v, t in points if v is not None}


def test_a_metric_renders_as_graphite_json_with_each_value_at_its_rrd_stamp(
    graphite_server: RexmonServer,
) -> None:
    values = [float(i) for i in range(30)]
    last = push_history(graphite_server, CPU_A, values)
    answer = render(graphite_server, target=CPU_A, **{"from": "-1h", "until": "now"}, format="json")
    assert answer.status_code == 200, answer.text
    (series,) = answer.json()
    assert series["target"] == CPU_A and series["tags"] == {"name": CPU_A}
    first = last - 60 * 29
    assert known(series["datapoints"]) == {first + 60 * i: v for i, v in enumerate(values)}
    stamps = [t for _, t in series["datapoints"]]
    assert stamps == list(range(stamps[0], stamps[0] + 60 * len(stamps), 60))
    assert any(v is None for v, _ in series["datapoints"])  # the hour before the data


def test_no_null_points_leaves_unknown_points_out(graphite_server: RexmonServer) -> None:
    values = [1.0, 2.0, 3.0, 4.0]
    last = push_history(graphite_server, CPU_A, values)
    (series,) = render(graphite_server, target=CPU_A, noNullPoints="true", **{"from": "-1h"}).json()
    assert series["datapoints"] == [[v, last - 60 * (3 - i)] for i, v in enumerate(values)]
    assert render(graphite_server, target=f"removeAboveValue({CPU_A}, 0)", noNullPoints="1",
                  **{"from": "-1h"}).json() == []  # fmt: skip
    # a function's inf is unknown too: left out, not written as null
    (huge,) = render(graphite_server, target=f"scale({CPU_A}, 1e308)", noNullPoints="1",
                     **{"from": "-1h"}).json()  # fmt: skip
    assert huge["datapoints"] == [[1e308, last - 180]]
    # and without noNullPoints it is written as null (JSON has no Infinity)
    answer = render(graphite_server, target=f"scale({CPU_A}, 1e308)", **{"from": "-1h"})
    assert "Infinity" not in answer.text and "NaN" not in answer.text
    (written,) = answer.json()
    assert [point for point in written["datapoints"] if point[0] is not None] == [
        [1e308, last - 180]
    ]


def test_max_data_points_averages_buckets_stamped_at_their_end(
    graphite_server: RexmonServer,
) -> None:
    values = [float(i % 7) for i in range(120)]
    last = push_history(graphite_server, CPU_A, values)
    start, end = last - 7200, last
    span = {"from": str(start), "until": str(end)}
    (raw,) = render(graphite_server, target=CPU_A, **span).json()
    (series,) = render(graphite_server, target=CPU_A, maxDataPoints=10, **span).json()
    fed = {last - 60 * (119 - i): v for i, v in enumerate(values)}
    # n points into 10: ceil(n / 10) a bucket, each (T - width, T] with T a multiple of width
    width = 60 * math.ceil(len(raw["datapoints"]) / 10)
    got = known(series["datapoints"])
    assert got, series
    for stamp, value in got.items():
        assert stamp % width == 0
        inside = [v for t, v in fed.items() if stamp - width < t <= stamp]
        assert value == sum(inside) / len(inside)
    assert len(series["datapoints"]) <= 10


def test_wildcards_and_functions_combine_several_files(graphite_server: RexmonServer) -> None:
    last = push_history(graphite_server, CPU_A, [1.0, 2.0, 3.0])
    push_history(graphite_server, CPU_B, [10.0, 20.0, 30.0])
    (total,) = render(
        graphite_server, target="sumSeries(host.*.cpu.user)", **{"from": "-1h"}
    ).json()
    assert total["target"] == "sumSeries(host.*.cpu.user)"
    assert known(total["datapoints"]) == {last - 120: 11.0, last - 60: 22.0, last: 33.0}
    targets = ["aliasByNode(host.*.cpu.user, 1)", "scale(host.a.cpu.user, 2)"]
    named = render(graphite_server, target=targets, **{"from": "-1h"}).json()
    assert [s["target"] for s in named] == ["a", "b", "scale(host.a.cpu.user,2)"]
    assert known(named[2]["datapoints"])[last] == 6.0


def test_csv_lists_name_time_and_value_per_point(graphite_server: RexmonServer) -> None:
    last = push_history(graphite_server, CPU_A, [1.5, 2.5])
    answer = render(graphite_server, target=CPU_A, format="csv", **{"from": "-5min"})
    assert answer.status_code == 200 and answer.headers["Content-Type"].startswith("text/csv")
    zone = get_services(graphite_server.app).config.site.timezone
    stamp = datetime.fromtimestamp(last, zone).strftime("%Y-%m-%d %H:%M:%S")
    assert f"{CPU_A},{stamp},2.5\n" in answer.text
    assert all(line.count(",") == 2 for line in answer.text.splitlines())


def test_a_grafana_style_form_post_renders(graphite_server: RexmonServer) -> None:
    push_history(graphite_server, CPU_A, [1.0, 2.0])
    answer = requests.post(
        f"{graphite_server.url}/graphite/render",
        data={
            "target": CPU_A,
            "from": "-6h",
            "until": "now",
            "format": "json",
            "maxDataPoints": "300",
        },
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()[0]["target"] == CPU_A


def test_reads_see_samples_still_held_by_rrdcached(
    make_graphite_server: Callable[..., RexmonServer],
) -> None:
    server = make_graphite_server(with_rrdcached=True)
    last = push_history(server, CPU_A, [4.0, 5.0, 6.0])
    (series,) = render(server, target=CPU_A, **{"from": "-1h"}).json()
    assert known(series["datapoints"]) == {last - 120: 4.0, last - 60: 5.0, last: 6.0}


def test_bad_requests_are_refused_with_400_and_a_reason(graphite_server: RexmonServer) -> None:
    push(graphite_server, [(CPU_A, push_history(graphite_server, CPU_A, [1.0]), 1.0)])
    cases = {
        "sumSeries(host.*.cpu.user": "at position 26",
        "nosuch(host.a.cpu.user)": "unknown function",
        "host.a.cpu.user;rm -rf": "unexpected",
        "host/../../etc/passwd": "unexpected '/'",
    }
    for target, words in cases.items():
        answer = render(graphite_server, target=target)
        assert answer.status_code == 400 and words in answer.text, (target, answer.text)
    assert "from" in render(graphite_server, target=CPU_A, **{"from": "yesterday-ish"}).text
    assert render(graphite_server).status_code == 400
    assert render(graphite_server, target=CPU_A, format="png").status_code == 400
    assert render(graphite_server, target="host.{a,b.cpu").status_code == 400


def test_an_unknown_metric_renders_as_nothing(graphite_server: RexmonServer) -> None:
    answer = render(graphite_server, target="host.nobody.cpu.user")
    assert answer.status_code == 200 and answer.json() == []


def test_aggregates_over_plain_paths_equal_the_series_read_one_by_one(
    graphite_server: RexmonServer,
) -> None:
    # sumSeries(paths) is computed by one rrdtool xport; scale(..., 1) forces the reads
    # one by one: the values must be the same, unknown points included
    for number, host in enumerate("abcd"):
        values = [float(i * (number + 1)) for i in range(20)]
        if host == "b":
            values[5:9] = [None] * 4  # type: ignore[list-assignment]
        push_history(graphite_server, f"host.{host}.cpu.user", values)
    for func in ("sumSeries", "averageSeries", "maxSeries", "minSeries"):
        fast, slow = render(graphite_server, target=[f"{func}(host.*.cpu.user, host.a.cpu.user)",
                            f"{func}(scale(host.*.cpu.user, 1), host.a.cpu.user)"],
                            **{"from": "-30min"}).json()  # fmt: skip
        assert fast["target"] == f"{func}(host.*.cpu.user,host.a.cpu.user)"
        assert fast["datapoints"] == slow["datapoints"], func
        assert len(known(fast["datapoints"])) == 20
    archive = get_services(graphite_server.app).archive
    now = int(time.time())
    combined = archive_combine(archive)(
        ["host.*.cpu.user"], "sum", now - 1800, now, Budget(10**6, 10)
    )
    assert combined is not None and len(combined) == 1  # the one-xport path was taken


def test_an_aggregate_over_metrics_of_different_schemas_reads_them_one_by_one(
    graphite_server: RexmonServer,
) -> None:
    last = push_history(graphite_server, "host.a.cpu.user", [1.0, 2.0, 3.0])
    push_history(graphite_server, "host.a.cpu.idle_ratio", [0.5, 0.25, 0.125])
    (total,) = render(
        graphite_server, target="sumSeries(host.a.cpu.*)", **{"from": "-10min"}
    ).json()
    assert known(total["datapoints"]) == {last - 120: 1.5, last - 60: 2.25, last: 3.125}


def test_aggregates_see_samples_still_held_by_rrdcached(
    make_graphite_server: Callable[..., RexmonServer],
) -> None:
    server = make_graphite_server(with_rrdcached=True)
    last = push_history(server, CPU_A, [4.0, 5.0, 6.0])
    push_history(server, CPU_B, [1.0, 1.0, 1.0])
    (series,) = render(server, target="sumSeries(host.*.cpu.user)", **{"from": "-1h"}).json()
    assert known(series["datapoints"]) == {last - 120: 5.0, last - 60: 6.0, last: 7.0}


def test_series_read_together_equal_the_series_read_alone(graphite_server: RexmonServer) -> None:
    # host.*.cpu.user is read by one rrdtool xport; a single metric by its own fetch
    for number, host in enumerate("abc"):
        values: list[float | None] = [float(i + 10 * number) for i in range(30)]
        values[number * 3 : number * 3 + 5] = [None] * 5
        push_history(graphite_server, f"host.{host}.cpu.user", values)  # type: ignore[arg-type]
    for span in ("-20min", "-2h", "-3d"):
        together = render(graphite_server, target="host.*.cpu.user", **{"from": span}).json()
        alone = render(graphite_server, target=[f"host.{h}.cpu.user" for h in "abc"],
                       **{"from": span}).json()  # fmt: skip
        assert together == alone, span
        assert len(known(together[1]["datapoints"])) == (25 if span != "-20min" else 19)


def test_a_request_reading_more_than_its_budget_stops_with_too_much_work(
    graphite_server: RexmonServer,
) -> None:
    for host in "abcd":
        push_history(graphite_server, f"host.{host}.cpu.user", [1.0] * 10)
    archive = get_services(graphite_server.app).archive
    now = int(time.time())

    def run(wanted: RenderRequest, budget: Budget) -> object:
        return render_series(wanted, archive_fetch(archive), archive_combine(archive), budget)

    for target in ("host.*.cpu.user", "sumSeries(host.*.cpu.user)", "scale(host.*.cpu.user, 2)"):
        wanted = read_request({"from": "-2h"}, [target], now, ZoneInfo("UTC"))
        # 4 series of about 120 points: 300 points are not enough, 1,000 are
        with pytest.raises(TooMuchWork, match="too many points"):
            run(wanted, Budget(300, 100))
        assert run(wanted, Budget(1000, 100))
        with pytest.raises(TooMuchWork, match="too many series"):
            run(wanted, Budget(10**6, 3))


def test_series_of_different_steps_are_summed_at_the_coarser_one(
    graphite_server: RexmonServer,
) -> None:
    # slurper.* keeps 5-minute steps, everything else 1-minute ones (etc/archive.yaml)
    last = push_history(graphite_server, CPU_A, [float(i) for i in range(30)])
    boundary = last // 300 * 300
    push(graphite_server, [("slurper.n1.runs", boundary - 300 * k, 10.0) for k in range(5, -1, -1)])
    (total,) = render(graphite_server, target=f"sumSeries({CPU_A}, slurper.n1.runs)",
                      **{"from": "-40min"}).json()  # fmt: skip
    fed = {last - 60 * (29 - i): float(i) for i in range(30)}
    got = known(total["datapoints"])
    assert {t - s for s, t in zip(sorted(got), sorted(got)[1:], strict=False)} == {300}
    checked = 0
    for stamp, value in got.items():
        inside = [v for t, v in fed.items() if stamp - 300 < t <= stamp]
        slurper = 10.0 if boundary - 1500 <= stamp <= boundary else 0.0  # else unknown
        if len(inside) == 5:
            assert value == sum(inside) / 5 + slurper, stamp
            checked += 1
    assert checked >= 3
