"""``demo``: synthetic data so a new installation shows graphs at once.

Each configured series ``S`` gives ``<prefix>.S.sine`` (a sine wave of ``period``) and
``<prefix>.S.walk`` (a random walk). The walk needs no state between runs: it is the sum of
the last ``WINDOW`` pseudo-random steps, each derived from a hash of (series, step index),
so every run (and every node) computes the same continuous curve for the same time.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

from rexmon.sample import Sample
from rexmon.timespec import parse_duration
from rexmon.yamlconf import Node
from slurpers.source import COMMON_KEYS, Run, Source

KEYS = frozenset({"series", "period", "step", "amplitude", "offset"})
WINDOW = 400


@dataclass(frozen=True)
class DemoOptions:
    series: tuple[str, ...] = ("a",)
    period: int = 3600
    step: int = 60
    amplitude: float = 1.0
    offset: float = 0.0


def parse_options(node: Node, instance: str) -> DemoOptions:
    node.mapping(COMMON_KEYS | KEYS)
    series = node.get("series")
    period = node.get("period")
    step = node.get("step")
    amplitude = node.get("amplitude")
    offset = node.get("offset")
    options = DemoOptions(
        series=("a",) if series is None else tuple(series.as_str_list()),
        period=3600 if period is None else period.parse(parse_duration),
        step=60 if step is None else step.parse(parse_duration),
        amplitude=1.0 if amplitude is None else amplitude.as_float(),
        offset=0.0 if offset is None else offset.as_float(),
    )
    if options.period <= 0 or options.step <= 0:
        raise node.error("period and step must be longer than 0s")
    return options


def sine(options: DemoOptions, now: int) -> float:
    return options.offset + options.amplitude * math.sin(2 * math.pi * now / options.period)


def _step(series: str, index: int) -> float:
    digest = hashlib.blake2b(f"{series}:{index}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**63 - 1.0


def walk(options: DemoOptions, series: str, now: int) -> float:
    last = now // options.step
    total = sum(_step(series, index) for index in range(last - WINDOW + 1, last + 1))
    return options.offset + options.amplitude * total / math.sqrt(WINDOW / 3)


def collect(options: DemoOptions, run: Run) -> Iterator[Sample]:
    for series in options.series:
        yield run.sample((series, "sine"), sine(options, run.now))
        yield run.sample((series, "walk"), walk(options, series, run.now))


SOURCE = Source(
    name="demo",
    description="a sine wave and a random walk per series, for trying rexmon out",
    parse_options=parse_options,
    collect=collect,
    default_prefix="demo.{host}",
)
