"""The graph builder's modes drawn by real rrdtool over real files: the legend rrdtool
computes (``graphv``) says what each mode drew."""

from __future__ import annotations

from pathlib import Path

import pytest
import rrdtool

from rrdarchive.graph import graph_elements

START = 1_700_000_000


@pytest.fixture
def sources(tmp_path: Path) -> list[tuple[str, Path]]:
    """m0 = 1, m1 = 2, m2 = 4 every minute, m3 never fed (unknown throughout)."""
    found = []
    for number, value in enumerate((1.0, 2.0, 4.0, None)):
        path = tmp_path / f"m{number}.rrd"
        rrdtool.create(str(path), "--step", "60", "--start", str(START),
                       "DS:value:GAUGE:120:U:U", "RRA:AVERAGE:0.5:1:100")  # fmt: skip
        if value is not None:
            for moment in range(START + 60, START + 3000, 60):
                rrdtool.update(str(path), f"{moment}:{value}")
        found.append((f"m{number}", path))
    return found


def legend(sources: list[tuple[str, Path]], **options: object) -> list[str]:
    elements = graph_elements(sources, cf="AVERAGE", **options)  # type: ignore[arg-type]
    drawn = rrdtool.graphv("-", "--start", str(START + 600), "--end", str(START + 2400),
                           "--", *elements)  # fmt: skip
    return [drawn[f"legend[{i}]"].strip() for i in range(len(drawn)) if f"legend[{i}]" in drawn]


def test_sum_adds_the_known_values_and_average_leaves_unknowns_out(
    sources: list[tuple[str, Path]],
) -> None:
    assert legend(sources, mode="sum")[:2] == ["sum of 4 metrics", "last 7.00"]
    assert legend(sources, mode="average")[:2] == ["average of 4 metrics", "last 2.33"]


def test_rest_sums_the_last_sources_as_other(sources: list[tuple[str, Path]]) -> None:
    shown = legend(sources[:3], rest=2)
    assert shown[0] == "m0" and "other (sum of 2 more)" in shown
    assert shown[shown.index("other (sum of 2 more)") + 1] == "last 6.00"
    assert "m1" not in shown and "m2" not in shown


def test_stacked_draws_every_source(sources: list[tuple[str, Path]]) -> None:
    elements = graph_elements(sources[:3], cf="AVERAGE", mode="stacked")
    assert [e.split(":")[0] for e in elements if e.startswith("AREA")] == ["AREA"] * 3
    assert sum(e.endswith(":STACK") for e in elements) == 2
    assert legend(sources[:3], mode="stacked")[0] == "m0"


@pytest.mark.parametrize(
    ("options", "message"),
    [({"mode": "pie"}, "mode must be one of"), ({"rest": 3}, "rest must be"),
     ({"rest": -1}, "rest must be"), ({"rest": True}, "rest must be")],
)  # fmt: skip
def test_a_bad_mode_or_rest_is_refused(
    sources: list[tuple[str, Path]], options: dict[str, object], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        graph_elements(sources[:3], cf="AVERAGE", **options)  # type: ignore[arg-type]
