"""``prometheus``: scrape a Prometheus text endpoint into metric ids.

A sample ``name{a="x",b="y"}`` becomes ``<prefix>.name.x.y`` (label values in the order of
``labels`` when given, else sorted by label name; ``drop_labels`` are left out). Counters
(and histogram/summary ``_count``/``_sum``/``_bucket``) are sent as **DERIVE**, rounded to
integers as rrdtool requires: an exporter restart resets them, and DERIVE (min 0) turns a
reset into one unknown where COUNTER would see a wrap and draw a spike. The rest is GAUGE.
``*_created`` samples are skipped by default (they are timestamps, not measurements).
NaN and infinities are sent as unknown. A sample's own timestamp is used (floored to the
second), as Prometheus does with ``honor_timestamps``; ``honor_timestamps: false`` uses
the run's time. Both the text format and OpenMetrics are read (see ``slurpers.promtext``).
"""

from __future__ import annotations

import fnmatch
import math
from collections.abc import Iterator
from dataclasses import dataclass

import requests

from rexmon.errors import InvalidMetricName, InvalidSample
from rexmon.sample import DsType, Sample
from rexmon.yamlconf import Node
from slurpers.promtext import PromSample, parse_text
from slurpers.source import COMMON_KEYS, Run, Source, timeout_option

KEYS = frozenset(
    {"url", "timeout", "include", "exclude", "labels", "drop_labels", "honor_timestamps"}
)
COUNTING = ("_count", "_sum", "_bucket")


@dataclass(frozen=True)
class PrometheusOptions:
    url: str
    timeout: float = 10.0
    include: tuple[str, ...] = ("*",)
    exclude: tuple[str, ...] = ("*_created",)
    labels: tuple[str, ...] | None = None
    drop_labels: tuple[str, ...] = ()
    honor_timestamps: bool = True


def parse_options(node: Node, instance: str) -> PrometheusOptions:
    node.mapping(COMMON_KEYS | KEYS, required=("url",))
    url = node["url"].as_str()
    if not url.startswith(("http://", "https://")):
        raise node["url"].error(f"expected an http:// or https:// URL, got {url!r}")

    def strings(key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        child = node.get(key)
        return default if child is None else tuple(child.as_str_list())

    labels = node.get("labels")
    honor = node.get("honor_timestamps")
    return PrometheusOptions(
        url=url,
        timeout=timeout_option(node, 10.0),
        include=strings("include", ("*",)),
        exclude=strings("exclude", ("*_created",)),
        labels=None if labels is None else tuple(labels.as_str_list()),
        drop_labels=strings("drop_labels", ()),
        honor_timestamps=True if honor is None else honor.as_bool(),
    )


def ds_type(sample: PromSample) -> DsType:
    if sample.family_type == "counter":
        return DsType.DERIVE
    if sample.family_type in ("histogram", "summary") and sample.name.endswith(COUNTING):
        return DsType.DERIVE
    return DsType.GAUGE


def name_parts(sample: PromSample, options: PrometheusOptions) -> tuple[str, ...]:
    labels = dict(sample.labels)
    if options.labels is not None:
        keys = [key for key in options.labels if key in labels]
    else:
        keys = sorted(key for key in labels if key not in options.drop_labels)
    return (sample.name, *(labels[key] for key in keys))


def wanted(name: str, options: PrometheusOptions) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in options.include) and not any(
        fnmatch.fnmatchcase(name, p) for p in options.exclude
    )


def text_samples(
    run: Run, text: str, options: PrometheusOptions, openmetrics: bool | None = None
) -> Iterator[Sample]:
    """Samples from one exposition text; unreadable lines and names become problems."""
    parsed, errors = parse_text(text, openmetrics)
    for message in errors:
        run.problem("exposition", message)
    for item in parsed:
        if not wanted(item.name, options):
            continue
        if not math.isfinite(item.value):
            value: float | None = None
        else:
            value = item.value
        at = None
        if options.honor_timestamps and item.time is not None:
            at = math.floor(item.time)
        try:
            yield run.sample(name_parts(item, options), value, ds_type(item), at)
        except (InvalidMetricName, InvalidSample) as exc:
            run.problem(item.name, exc)


def collect(options: PrometheusOptions, run: Run) -> Iterator[Sample]:
    try:
        response = requests.get(options.url, timeout=options.timeout)
        response.raise_for_status()
    except requests.RequestException as exc:
        run.problem(f"url {options.url}", f"{type(exc).__name__}: {exc}")
        return
    kind = response.headers.get("Content-Type", "")
    openmetrics = True if kind.startswith("application/openmetrics-text") else None
    yield from text_samples(run, response.text, options, openmetrics)


SOURCE = Source(
    name="prometheus",
    description="scrape a Prometheus text-format endpoint",
    parse_options=parse_options,
    collect=collect,
    default_prefix="prom.{instance}",
)
