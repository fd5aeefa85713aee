"""Graphite path patterns over a real archive: ``*`` stays within a component, ``?``,
classes, ``{a,b}``; branches and leaves as Graphite's find lists them."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from rexmon.sample import Sample
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig
from web.graphite.errors import GraphiteError, TooMuchWork
from web.graphite.find import expand_metrics, find_nodes

METRICS = (
    "host.n01.cpu.user",
    "host.n02.cpu.user",
    "host.n02.cpu.system",
    "host.n10.load",
    "host.web1.cpu.user",
    "host.n02.cpu",  # a metric that is also a branch
    "dcache.pool1.free_bytes",
)


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory) -> Archive:
    root: Path = tmp_path_factory.mktemp("find") / "rrd"
    archive = Archive(ArchiveConfig.simple(root))
    now = int(time.time()) // 60 * 60 - 60
    assert all(v.stored for v in archive.write([Sample(m, now, 1.0) for m in METRICS]))
    return archive


def paths(archive: Archive, pattern: str) -> list[str]:
    return [node.path for node in find_nodes(archive.children, pattern)]


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("*", ["dcache", "host"]),
        ("host.*", ["host.n01", "host.n02", "host.n10", "host.web1"]),
        ("host.*.cpu.user", ["host.n01.cpu.user", "host.n02.cpu.user", "host.web1.cpu.user"]),
        ("host.n0?.cpu.*", ["host.n01.cpu.user", "host.n02.cpu.system", "host.n02.cpu.user"]),
        ("host.n[0-9][0-9].load", ["host.n10.load"]),
        ("host.n[!1]*", ["host.n01", "host.n02"]),
        ("host.{n01,web1}.cpu.user", ["host.n01.cpu.user", "host.web1.cpu.user"]),
        ("host.{n0*,web?}.cpu", ["host.n01.cpu", "host.n02.cpu", "host.web1.cpu"]),
        ("host.*.cpu.us*", ["host.n01.cpu.user", "host.n02.cpu.user", "host.web1.cpu.user"]),
        ("host.*", ["host.n01", "host.n02", "host.n10", "host.web1"]),
        ("host.nobody.*", []),
        ("nothing", []),
    ],
)
def test_patterns_match_nodes_component_by_component(
    archive: Archive, pattern: str, expected: list[str]
) -> None:
    assert paths(archive, pattern) == expected


def test_star_never_crosses_a_dot(archive: Archive) -> None:
    assert paths(archive, "host.*.user") == []
    assert paths(archive, "*.cpu.user") == []


def test_nodes_say_whether_they_are_leaves_branches_or_both(archive: Archive) -> None:
    nodes = {node.path: node.to_json() for node in find_nodes(archive.children, "host.n02.*")}
    assert nodes["host.n02.cpu"] == {"text": "cpu", "id": "host.n02.cpu", "leaf": 1,
                                     "expandable": 1, "allowChildren": 1}  # fmt: skip
    leaf = find_nodes(archive.children, "host.n01.cpu.user")[0].to_json()
    assert leaf == {"text": "user", "id": "host.n01.cpu.user", "leaf": 1, "expandable": 0,
                    "allowChildren": 0}  # fmt: skip
    branch = find_nodes(archive.children, "host")[0].to_json()
    assert branch["leaf"] == 0 and branch["expandable"] == 1


def test_expansion_for_render_keeps_only_metrics(archive: Archive) -> None:
    assert expand_metrics(archive.children, "host.n02.*", 100) == ["host.n02.cpu"]
    assert expand_metrics(archive.children, "host.*.cpu.*", 100) == [
        "host.n01.cpu.user", "host.n02.cpu.system", "host.n02.cpu.user",
        "host.web1.cpu.user"]  # fmt: skip


@pytest.mark.parametrize(
    "pattern",
    ["host..cpu", "host.{a,b", "host.a}", "../etc/passwd", "host.[z-a]", "host.n[]",
     "host/n01", "host.*.cpu.user;rm", "a." * 11 + "b", ""],
)  # fmt: skip
def test_bad_patterns_are_refused_with_a_reason(archive: Archive, pattern: str) -> None:
    with pytest.raises(GraphiteError):
        find_nodes(archive.children, pattern)


def test_a_pattern_matching_more_nodes_than_the_limit_is_refused(archive: Archive) -> None:
    with pytest.raises(TooMuchWork):
        find_nodes(archive.children, "host.*.cpu.*", limit=2)
