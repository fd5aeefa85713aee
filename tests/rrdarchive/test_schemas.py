from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from rexmon.errors import ConfigError
from rexmon.sample import DsType
from rexmon.yamlconf import parse_yaml
from rrdarchive.schemas import SchemaSet, Tier, load_schemas, schemas_from_node

REPO = Path(__file__).resolve().parents[2]

GOOD = """\
schemas:
  - match: "host.*.cpu.*"
    step: 30s
    type: gauge
    min: 0
    max: 100
    retention: 30s:1d, 5m:30d
    consolidation: [AVERAGE, LAST]
    xff: 0.2
  - match: "host.*"
    step: 60
    retention: [1m:7d, 1h:1y]
  - match: "*"
    step: 5m
    heartbeat: 20m
    retention: 5m:1d
"""


def schemas(text: str, source: str = "archive.yaml") -> SchemaSet:
    return schemas_from_node(parse_yaml(text, source))


def test_the_first_matching_schema_wins() -> None:
    loaded = schemas(GOOD)
    assert loaded.schema_for("host.n1.cpu.user").step == 30
    assert loaded.schema_for("host.n1.mem.used").step == 60
    assert loaded.schema_for("web.requests").step == 300


def test_a_schema_reads_every_key_and_fills_the_defaults() -> None:
    cpu, host, rest = schemas(GOOD).schemas
    assert (cpu.type, cpu.min, cpu.max, cpu.xff) == (DsType.GAUGE, 0.0, 100.0, 0.2)
    assert cpu.tiers == (Tier(30, 86400), Tier(300, 30 * 86400))
    assert cpu.consolidation == ("AVERAGE", "LAST")
    assert cpu.heartbeat == 60
    assert host.type is None and host.consolidation == ("AVERAGE", "MIN", "MAX")
    assert host.xff == 0.5 and host.tiers == (Tier(60, 7 * 86400), Tier(3600, 365 * 86400))
    assert rest.heartbeat == 1200


def test_a_pinned_type_wins_over_the_sample_hint_and_gauge_is_the_default() -> None:
    cpu, host, _ = schemas(GOOD).schemas
    assert cpu.ds_type(DsType.COUNTER) is DsType.GAUGE
    assert host.ds_type(DsType.COUNTER) is DsType.COUNTER
    assert host.ds_type(None) is DsType.GAUGE


def test_create_args_describe_the_ds_and_one_rra_per_tier_and_function() -> None:
    """The tier of one point per row has one RRA: every function of one point is equal."""
    cpu = schemas(GOOD).schemas[0]
    assert cpu.create_args(DsType.GAUGE) == [
        "--step",
        "30",
        "DS:value:GAUGE:60:0.0:100.0",
        "RRA:AVERAGE:0.2:1:2880",
        "RRA:AVERAGE:0.2:10:8640",
        "RRA:LAST:0.2:10:8640",
    ]
    without_average = replace(cpu, consolidation=("MAX", "LAST"))
    assert [a for a in without_average.create_args(DsType.GAUGE) if ":1:" in a] == [
        "RRA:MAX:0.2:1:2880"
    ]


def test_the_example_file_of_the_repository_loads() -> None:
    loaded = load_schemas(REPO / "etc" / "archive.yaml")
    assert loaded.schemas[-1].match == "*"
    assert loaded.schema_for("host.n1.net.eth0_rx_bytes_total").type is DsType.DERIVE
    assert loaded.schema_for("anything.else").tiers[0] == Tier(60, 7 * 86400)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "schemas:\n  - match: 'a.*'\n    step: 1m\n    retention: 1m:1d\n",
            r"archive.yaml:2: schemas\[0\].match: the last schema must be the catch-all",
        ),
        (
            "schemas:\n  - match: '*'\n    step: 1m\n    retention: 90s:1d\n",
            r"archive.yaml:4: schemas\[0\].retention: tier '90s:1d': resolution must be a"
            r" multiple of the step \(1m\)",
        ),
        (
            "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:1d, 1m:2d\n",
            r":4: schemas\[0\].retention: tier '1m:2d': tiers must go from fine to coarse",
        ),
        (
            "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m\n",
            r":4: schemas\[0\].retention: expected tiers like",
        ),
        (
            "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:soon\n",
            r":4: schemas\[0\].retention: tier '1m:soon': expected a duration",
        ),
        (
            "schemas:\n  - match: '*'\n    step: often\n    retention: 1m:1d\n",
            r":3: schemas\[0\].step: expected a duration",
        ),
        (
            "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:1d\n    type: TEXT\n",
            r":5: schemas\[0\].type: type must be one of GAUGE",
        ),
        (
            "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:1d\n    colour: red\n",
            r":5: schemas\[0\].colour: unknown key",
        ),
        (
            "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:1d\n"
            "    consolidation: [AVERAGE, MEDIAN]\n",
            r":5: schemas\[0\].consolidation\[1\]: expected one of AVERAGE, MIN, MAX, LAST",
        ),
        (
            "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:1d\n"
            "    min: 5\n    max: 1\n",
            r":6: schemas\[0\].max: must be greater than min",
        ),
        (
            "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:1d\n    heartbeat: 10s\n",
            r":5: schemas\[0\].heartbeat: must be at least the step",
        ),
        (
            "schemas:\n  - match: 'a/b'\n    step: 1m\n    retention: 1m:1d\n"
            "  - match: '*'\n    step: 1m\n    retention: 1m:1d\n",
            r":2: schemas\[0\].match: metric glob 'a/b' may only contain",
        ),
        (
            "schemas:\n  - match: '*'\n    step: 1m\n    retention: 1m:1d\n"
            "  - match: '*'\n    step: 1m\n    retention: 1m:1d\n",
            r":2: schemas\[0\].match: only the last schema may be the catch-all",
        ),
        ("schemas: []\n", r"archive.yaml:1: schemas: at least the catch-all"),
        ("schemas:\n  - match: '*'\n    step: 1m\n", r":2: schemas\[0\]: missing required key"),
    ],
)
def test_errors_name_the_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        schemas(text)
