"""The Munin parsers, on output recorded from Debian's munin-node plugins."""

from __future__ import annotations

import math
from pathlib import Path

from rexmon.checkresult import CheckState, check_from_json
from rexmon.sample import DsType
from rexmon.thresholds import Range
from slurpers.munin import MuninValue, parse_config, parse_fetch
from slurpers.sources.munin import graph_checks, plugin_results
from tests.slurpers.helpers import make_run, values

DATA = Path(__file__).resolve().parents[1] / "data" / "slurpers" / "munin"


def recorded(name: str) -> str:
    return (DATA / name).read_text()


def test_cpu_fields_are_derive_counters_with_a_minimum() -> None:
    graphs, errors = parse_config(recorded("cpu.config"), "cpu")
    assert errors == []
    [cpu] = graphs.values()
    assert cpu.settings["graph_title"] == "CPU usage"
    assert {f.type for f in cpu.fields.values()} == {DsType.DERIVE}
    assert cpu.fields["user"].limits.min == 0
    assert cpu.fields["user"].label == "user"


def test_df_thresholds_mean_above_the_number_as_munin_means_them() -> None:
    graphs, errors = parse_config(recorded("df.config"), "df")
    assert errors == []
    var = graphs["df"].fields["_var"]
    assert var.type is DsType.GAUGE
    assert var.limits.warn == Range(-math.inf, 92.0)
    assert var.limits.crit == Range(-math.inf, 98.0)
    assert var.limits.warn.alerts(93.5) and not var.limits.crit.alerts(93.5)


def test_multigraph_splits_a_plugin_into_graphs_and_sub_graphs() -> None:
    graphs, errors = parse_config(recorded("diskstats.config"), "diskstats")
    assert errors == []
    assert "diskstats_latency" in graphs and "diskstats_latency.vda" in graphs
    assert "diskstats" not in graphs  # nothing before the first multigraph line
    fetched, errors = parse_fetch(recorded("diskstats.fetch"), "diskstats")
    assert errors == []
    assert MuninValue("diskstats_iops.vda", "rdio", 2.0) in fetched
    run = make_run(("munin", "node01"))
    got = values(plugin_results(run, "diskstats", graphs, recorded("diskstats.fetch")))
    assert got["munin.node01.diskstats_latency.vda.avgwait"] == 0
    assert got["munin.node01.diskstats_throughput.vda_rdbytes"] == 8192
    assert run.problems == []


def test_unknown_values_and_their_own_timestamps_are_kept() -> None:
    graphs, _ = parse_config(recorded("if_eth0.config"), "if_eth0")
    run = make_run(("munin", "node01"))
    samples = list(plugin_results(run, "if_eth0", graphs, recorded("if_eth0.fetch")))
    by_metric = {s.metric: s for s in samples if hasattr(s, "metric")}
    down = by_metric["munin.node01.if_eth0.down"]
    up = by_metric["munin.node01.if_eth0.up"]
    assert (down.value, down.type, down.time) == (None, DsType.DERIVE, run.now)
    assert (up.value, up.type, up.time) == (2875224363.0, DsType.DERIVE, 1_700_000_000)


def test_odd_lines_are_reported_and_the_rest_is_kept() -> None:
    graphs, errors = parse_config(
        "graph_title x\na.label A\na.type GAUGES\nb.min low\nc.warning 5:1\nnonsense\n"
        "d.draw LINE\nmultigraph\n",
        "p",
    )
    assert set(graphs["p"].fields) == {"a", "b", "c"}
    assert len(errors) == 5
    assert "config line 3 (a.type)" in errors[0]
    fetched, errors = parse_fetch("a.value 1\nb.value oops\nc.value x:3\nc.extinfo hi\nzz\n", "p")
    assert fetched == [MuninValue("p", "a", 1.0)]
    assert len(errors) == 3


def test_a_field_without_config_is_a_gauge_and_odd_names_are_sanitised() -> None:
    run = make_run(("munin", "node01"))
    got = list(plugin_results(run, "my plugin", {}, "multigraph a.b:c\nx-y.value 3\n"))
    assert [(s.metric, s.type) for s in got if hasattr(s, "metric")] == [
        ("munin.node01.a.b_c.x-y", DsType.GAUGE)
    ]


def test_a_graph_with_thresholds_gives_a_check_result_as_munin_limits_would() -> None:
    graphs, _ = parse_config(recorded("df.config"), "df")
    run = make_run(("munin", "node01"))
    samples = list(plugin_results(run, "df", graphs, recorded("df.fetch")))
    [check] = graph_checks(run, graphs, samples)
    assert check.check == "munin.node01.df"
    assert check.state is CheckState.WARNING
    assert check.output == "WARNING: Disk usage in percent: /var is 93.5 (warning ~:92)"
    var = next(p for p in check.perfdata if p.label == "/var")
    assert (var.metric, var.value) == ("munin.node01.df._var", 93.5)
    assert var.limits.crit == Range(-math.inf, 98.0)
    assert check_from_json(check.to_json()) == check


def test_unknown_gauges_make_the_check_unknown_and_rates_do_not_judge() -> None:
    graphs, _ = parse_config("a.warning 5\nb.type DERIVE\nb.critical 1\nc.label C\n", "p")
    run = make_run(("munin", "node01"))
    samples = list(plugin_results(run, "p", graphs, "a.value U\nb.value 100\nc.value 1\n"))
    [check] = graph_checks(run, graphs, samples)
    assert check.state is CheckState.UNKNOWN
    assert check.output == "UNKNOWN: p: a is unknown"
    assert list(graph_checks(run, parse_config("a.label A\n", "p")[0], samples)) == []
