"""The Prometheus/OpenMetrics parser on recorded exporter output, checked against
prometheus_client's own parsers where they accept the text."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import (
    text_string_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_string_to_metric_families as text_families

from rexmon.sample import DsType
from slurpers.promtext import parse_text
from slurpers.sources.prometheus import PrometheusOptions, text_samples
from tests.slurpers.helpers import make_run, values

DATA = Path(__file__).resolve().parents[1] / "data" / "slurpers" / "prometheus"


def recorded(name: str) -> str:
    return (DATA / name).read_text(encoding="utf-8")


def as_set(samples: object) -> set[tuple[str, tuple[tuple[str, str], ...], str]]:
    return {(s.name, tuple(sorted(dict(s.labels).items())), repr(float(s.value))) for s in samples}  # type: ignore[attr-defined]


def reference(families: object) -> set[tuple[str, tuple[tuple[str, str], ...], str]]:
    return as_set(s for family in families for s in family.samples)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "parser"),
    [
        ("node_exporter.prom", text_families),
        ("utf8.prom", text_families),
        ("openmetrics_client.txt", openmetrics_families),
    ],
)
def test_recorded_output_parses_as_prometheus_client_reads_it(name: str, parser: object) -> None:
    text = recorded(name)
    samples, errors = parse_text(text)
    assert errors == []
    assert as_set(samples) == reference(parser(text))  # type: ignore[operator]


def test_node_exporter_counters_become_derive_and_its_info_a_gauge() -> None:
    run = make_run(("prom", "node"))
    samples = list(text_samples(run, recorded("node_exporter.prom"), PrometheusOptions("x")))
    assert run.problems == []
    types = {s.metric: s.type for s in samples}
    assert types["prom.node.node_cpu_seconds_total.0.idle"] is DsType.DERIVE
    assert types["prom.node.node_load1"] is DsType.GAUGE
    assert types["prom.node.go_gc_duration_seconds_count"] is DsType.DERIVE
    uname = [m for m in types if m.startswith("prom.node.node_uname_info.")]
    assert len(uname) == 1 and types[uname[0]] is DsType.GAUGE


def test_openmetrics_exemplars_are_dropped_and_units_created_and_escapes_kept() -> None:
    samples, errors = parse_text(recorded("openmetrics_client.txt"))
    assert errors == []
    get = next(s for s in samples if s.name == "http_requests_total" and s.labels[0][1] == "get")
    assert dict(get.labels)["path"] == '/a "quoted"\\path\nnext'
    assert (get.value, get.family_type, get.time) == (7.0, "counter", None)
    bucket = next(s for s in samples if s.name == "http_request_duration_seconds_bucket")
    assert bucket.unit == "seconds" and bucket.family_type == "histogram"
    assert any(s.name == "http_requests_created" for s in samples)  # parsed, kept
    by_name = {s.name: s.value for s in samples}
    assert math.isnan(by_name["queue_depth"]) and by_name["disk_free_bytes"] == math.inf


def test_the_source_skips_created_and_sends_nan_and_inf_as_unknown() -> None:
    run = make_run(("prom", "app"))
    got = values(text_samples(run, recorded("openmetrics_client.txt"), PrometheusOptions("x")))
    assert not any("created" in metric for metric in got)
    assert got["prom.app.queue_depth"] is None and got["prom.app.disk_free_bytes"] is None
    assert got["prom.app.http_requests_total.get._a_quoted_path_next"] == 7


def test_quoted_utf8_names_are_read_and_sanitised_into_metric_ids() -> None:
    samples, errors = parse_text(recorded("utf8.prom"))
    assert errors == []
    first = samples[0]
    assert first.name == "http.server.request.duration_bucket"
    assert first.labels == (("service.name", "checkout"), ("le", "0.5"))
    assert first.family_type == "histogram" and first.time == 1_700_000_000.5
    assert samples[4].name == "température.salle"
    assert dict(samples[5].labels) == {"path": "C:\\temp\\x", "note": "line one\nline two"}
    run = make_run(("prom", "otel"))
    got = list(text_samples(run, recorded("utf8.prom"), PrometheusOptions("x", labels=("le",))))
    by_metric = {s.metric: s for s in got}
    bucket = by_metric["prom.otel.http_server_request_duration_bucket.0_5"]
    assert (bucket.time, bucket.type) == (1_700_000_000, DsType.DERIVE)
    assert "prom.otel.temp_rature_salle" in by_metric


def test_openmetrics_timestamps_are_seconds_and_the_text_formats_milliseconds() -> None:
    samples, errors = parse_text(recorded("openmetrics_timestamps.txt"))
    assert errors == []
    assert [s.time for s in samples] == [1699999990.75, 1700000000.0, 1700000001.5, 1700000001.5]
    assert samples[2].value == 42.0  # the exemplar with a space in it is dropped
    same, _ = parse_text("x 1 1700000000.5\n", openmetrics=True)
    assert same[0].time == 1700000000.5
    _, errors = parse_text("x 1 1700000000.5\n")
    assert "not integer milliseconds" in errors[0]
    run = make_run(("prom", "batch"))
    options = PrometheusOptions("x", honor_timestamps=False)
    got = list(text_samples(run, recorded("openmetrics_timestamps.txt"), options))
    assert {s.time for s in got} == {run.now}


def test_a_bad_line_is_reported_and_the_rest_of_the_scrape_kept() -> None:
    text = 'a{x="1"} 1\nb{x="1} 2\nc{1x="2"} 3\nd{x="1"}4\ne 5 6 7\nf 6\n# EOF\ng 7\n'
    samples, errors = parse_text(text)
    assert [s.name for s in samples] == ["a", "f"]
    assert len(errors) == 5
    assert "not closed" in errors[0] and "text after '# EOF'" in errors[-1]


def test_prometheus_client_would_lose_the_whole_scrape_where_this_parser_keeps_it() -> None:
    """Why nodes use this parser: the module docstring's claim, checked."""
    text = 'a 1\nb{x="1} 2\nc 3\n'
    with pytest.raises(ValueError):
        list(text_families(text))
    with pytest.raises(ValueError):
        list(openmetrics_families("a 1\n"))  # no '# EOF': refused whole
    samples, errors = parse_text(text)
    assert [s.name for s in samples] == ["a", "c"] and len(errors) == 1
