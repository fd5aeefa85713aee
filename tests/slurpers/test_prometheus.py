"""The prometheus source against a real exporter built with prometheus_client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, start_http_server

from rexmon.sample import DsType
from slurpers.promtext import parse_labels, parse_text
from slurpers.sources.prometheus import PrometheusOptions, collect
from tests.slurpers.helpers import make_run, values


@pytest.fixture
def exporter() -> Iterator[str]:
    registry = CollectorRegistry()
    requests_total = Counter("app_requests", "Requests", ["method", "code"], registry=registry)
    requests_total.labels("get", "200").inc(41.7)
    requests_total.labels("post", "500").inc(2)
    Gauge("app_temperature_celsius", "Temp", ["room"], registry=registry).labels("hall.b").set(21.5)
    Histogram("app_latency_seconds", "Latency", buckets=(0.1, 1.0), registry=registry).observe(0.3)
    server, thread = start_http_server(0, addr="127.0.0.1", registry=registry)
    try:
        yield f"http://127.0.0.1:{server.server_port}/metrics"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_real_exporter_is_scraped_into_metric_ids_and_types(exporter: str) -> None:
    run = make_run(("prom", "app"))
    samples = list(collect(PrometheusOptions(url=exporter, include=("app_*",)), run))
    got = values(samples)
    types = {s.metric: s.type for s in samples}
    assert run.problems == []
    assert got["prom.app.app_requests_total.200.get"] == 41.0
    assert types["prom.app.app_requests_total.200.get"] is DsType.DERIVE
    assert got["prom.app.app_temperature_celsius.hall_b"] == 21.5
    assert types["prom.app.app_temperature_celsius.hall_b"] is DsType.GAUGE
    assert got["prom.app.app_latency_seconds_count"] == 1
    assert types["prom.app.app_latency_seconds_bucket._Inf"] is DsType.DERIVE
    assert not any(m.endswith("_created") or "_created." in m for m in got)


def test_label_order_and_dropped_labels_shape_the_names(exporter: str) -> None:
    options = PrometheusOptions(url=exporter, include=("app_requests_total",), labels=("method",))
    assert set(values(collect(options, make_run(("p", "x"))))) == {
        "p.x.app_requests_total.get",
        "p.x.app_requests_total.post",
    }
    dropped = PrometheusOptions(
        url=exporter, include=("app_requests_total",), drop_labels=("code",)
    )
    assert "p.x.app_requests_total.get" in values(collect(dropped, make_run(("p", "x"))))


def test_the_text_parser_reads_escapes_and_reports_bad_lines() -> None:
    text = (
        "# TYPE jobs gauge\n"
        'jobs{queue="a\\"b",site="x"} 3 1700000000000\n'
        "jobs 4\n"
        "garbage line here\n"
        'jobs{queue="a"} NaN\n'
    )
    samples, errors = parse_text(text)
    assert samples[0].labels == (("queue", 'a"b'), ("site", "x"))
    assert samples[1].value == 4 and samples[0].family_type == "gauge"
    assert len(errors) == 1 and "line 4" in errors[0]
    assert parse_labels('a="1",b="2",') == (("a", "1"), ("b", "2"))


def test_a_scrape_that_fails_is_reported_without_values() -> None:
    run = make_run()
    assert list(collect(PrometheusOptions(url="http://127.0.0.1:9/metrics", timeout=2), run)) == []
    assert run.problems[0].part == "url http://127.0.0.1:9/metrics"
