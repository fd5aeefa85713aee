from __future__ import annotations

import math

import pytest

from slurpers.sources.demo import DemoOptions, collect
from tests.slurpers.helpers import NOW, make_run, values


def test_each_series_gives_a_sine_and_a_walk() -> None:
    options = DemoOptions(series=("temp", "queue"), period=3600, amplitude=10, offset=50)
    got = values(collect(options, make_run(("demo", "n1"), now=NOW)))
    assert set(got) == {
        "demo.n1.temp.sine",
        "demo.n1.temp.walk",
        "demo.n1.queue.sine",
        "demo.n1.queue.walk",
    }
    assert got["demo.n1.temp.sine"] == pytest.approx(50 + 10 * math.sin(2 * math.pi * NOW / 3600))


def test_the_walk_is_the_same_for_the_same_time_and_moves_by_small_steps() -> None:
    options = DemoOptions(series=("s",), step=60)
    first = values(collect(options, make_run(now=NOW)))["test.node01.s.walk"]
    again = values(collect(options, make_run(now=NOW)))["test.node01.s.walk"]
    later = values(collect(options, make_run(now=NOW + 60)))["test.node01.s.walk"]
    assert first == again
    assert first != later
    assert abs(first - later) < 0.2
