from __future__ import annotations

from pathlib import Path

import pytest

from rexmon.errors import InvalidMetricName
from rexmon.metric import (
    _validated,
    glob_matcher,
    glob_prefix,
    join_metric,
    metric_from_path,
    metric_path,
    sanitize_component,
    validate_glob,
    validate_metric,
)


@pytest.mark.parametrize(
    "name",
    [
        "host.node01_fnal_gov.cpu.user",
        "a.b",
        "A-1._x",
        ".".join(["c"] * 10),
        "x." + "y" * 64,
    ],
)
def test_it_accepts_names_that_follow_the_rules(name: str) -> None:
    assert validate_metric(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("single", "1 components"),
        (".".join(["c"] * 11), "11 components"),
        ("host..cpu", "component 2 ''"),
        ("host.../etc/passwd", "component 2"),
        ("../../etc.passwd", "component 1"),
        ("host.-rf", "component 2 '-rf'"),
        ("host.a:b", "component 2"),
        ("host.a b", "component 2"),
        ("host.a\nb", "component 2"),
        ("host.a\x00b", "component 2"),
        ("host.a/b", "component 2"),
        ("host.a\\b", "component 2"),
        ("host.nоde", "component 2"),  # Cyrillic 'о', a look-alike
        ("host.ａ", "component 2"),  # full-width letter
        ("x." + "y" * 65, "component 2"),
        ("a." * 127 + "bb", "at most 255"),
    ],
)
def test_it_refuses_names_that_could_become_paths_or_options(name: str, reason: str) -> None:
    with pytest.raises(InvalidMetricName, match=None) as info:
        validate_metric(name)
    assert reason in str(info.value)


def test_it_refuses_non_strings() -> None:
    with pytest.raises(InvalidMetricName, match="must be a string"):
        validate_metric(42)


def test_a_metric_maps_to_a_file_below_the_root_and_back(tmp_path: Path) -> None:
    path = metric_path(tmp_path, "host.node01.cpu.user")
    assert path == tmp_path / "host" / "node01" / "cpu" / "user.rrd"
    assert metric_from_path(tmp_path, path) == "host.node01.cpu.user"
    assert metric_from_path(tmp_path, tmp_path / "host" / "x.txt") is None
    assert metric_from_path(tmp_path, Path("/elsewhere/a/b.rrd")) is None


def test_sanitize_turns_host_names_into_one_component() -> None:
    assert sanitize_component("node01.fnal.gov") == "node01_fnal_gov"
    assert sanitize_component("-weird name/with:colons") == "_weird_name_with_colons"
    assert sanitize_component("") == "_"
    assert len(sanitize_component("x" * 200)) == 64
    assert join_metric("host", "node01.fnal.gov", "cpu") == "host.node01_fnal_gov.cpu"


def test_a_star_in_a_glob_also_matches_dots() -> None:
    matches = glob_matcher("host.node01_*.*")
    assert matches("host.node01_fnal_gov.cpu.user")
    assert not matches("host.node02_fnal_gov.cpu.user")
    assert glob_matcher("dcache.*")("dcache.pool1.free")
    assert not glob_matcher("dcache.*")("dcachex.pool1")


def test_a_glob_prefix_is_its_literal_leading_components() -> None:
    assert glob_prefix("host.node01.*") == "host.node01"
    assert glob_prefix("host.node0?.cpu") == "host"
    assert glob_prefix("*") == ""


@pytest.mark.parametrize("pattern", ["", "host/../x", "a b", "a:b", "x" * 300])
def test_it_refuses_unusable_globs(pattern: str) -> None:
    with pytest.raises(InvalidMetricName):
        validate_glob(pattern)


def test_the_valid_name_cache_stays_at_its_bound_under_100k_distinct_names() -> None:
    bound = _validated.cache_info().maxsize
    assert bound is not None and bound <= 1 << 13
    for number in range(100_000):
        validate_metric(f"host.node{number}.cpu")
    assert _validated.cache_info().currsize == bound
