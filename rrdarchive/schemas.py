"""Storage schemas: which step, DS type and retention an RRD gets when it is created.

``etc/archive.yaml`` holds an ordered list; the first ``match`` glob that matches a metric
id wins (as in carbon's storage-schemas). The last entry must be the catch-all
``match: "*"``, so every metric has a schema that somebody wrote down. Retention tiers are
written ``1m:7d, 5m:90d`` (resolution:keep); each resolution is a multiple of the step.

A schema may pin the DS ``type``; then a sample's type hint is ignored. When it does not,
the hint of the first sample decides, and GAUGE is used without a hint.

This module does not import rrdtool.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rexmon.errors import InvalidMetricName
from rexmon.metric import glob_matcher, validate_metric_glob
from rexmon.sample import DsType
from rexmon.timespec import format_duration, parse_duration
from rexmon.yamlconf import Node, load_yaml

CONSOLIDATIONS = ("AVERAGE", "MIN", "MAX", "LAST")
DEFAULT_CONSOLIDATION = ("AVERAGE", "MIN", "MAX")
DEFAULT_XFF = 0.5
CATCH_ALL = "*"
_KEYS = frozenset(
    {"match", "step", "heartbeat", "type", "min", "max", "retention", "consolidation", "xff"}
)


@dataclass(frozen=True)
class Tier:
    """One retention tier: points of ``resolution`` seconds kept for ``keep`` seconds."""

    resolution: int
    keep: int

    @property
    def rows(self) -> int:
        return -(-self.keep // self.resolution)

    def __str__(self) -> str:
        return f"{_in_one_unit(self.resolution)}:{_in_one_unit(self.keep)}"


@dataclass(frozen=True)
class Schema:
    """How the RRD of a matching metric is created."""

    match: str
    step: int
    heartbeat: int
    tiers: tuple[Tier, ...]
    type: DsType | None = None
    min: float | None = None
    max: float | None = None
    consolidation: tuple[str, ...] = DEFAULT_CONSOLIDATION
    xff: float = DEFAULT_XFF
    matches: Callable[[str], bool] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        """Compile the glob; raises InvalidMetricName for a bad one."""
        object.__setattr__(self, "matches", glob_matcher(self.match))

    def ds_type(self, hint: DsType | None) -> DsType:
        """The DS type of a new RRD: the pinned type, else the sample's hint, else GAUGE."""
        return self.type or hint or DsType.GAUGE

    def create_args(
        self, ds_type: DsType, bounds: tuple[float | None, float | None] = (None, None)
    ) -> list[str]:
        """The DS and RRA definitions for ``rrdtool create`` (the caller adds the start).
        ``bounds`` are the first sample's min/max hints; the schema's own win."""
        low_bound = self.min if self.min is not None else bounds[0]
        high_bound = self.max if self.max is not None else bounds[1]
        if low_bound is not None and high_bound is not None and low_bound >= high_bound:
            low_bound, high_bound = self.min, self.max  # a hint at odds with the schema
        low = "U" if low_bound is None else repr(low_bound)
        high = "U" if high_bound is None else repr(high_bound)
        args = ["--step", str(self.step), f"DS:value:{ds_type.value}:{self.heartbeat}:{low}:{high}"]
        for tier in self.tiers:
            per_row = tier.resolution // self.step
            for cf in self.consolidation if per_row > 1 else self.single_point:
                args.append(f"RRA:{cf}:{self.xff!r}:{per_row}:{tier.rows}")
        return args

    @property
    def single_point(self) -> tuple[str, ...]:
        """The functions of a tier of one point per row: any function of one point is that
        point, so one RRA holds them all (AVERAGE if asked for, else the first), instead
        of copies that make the finest tier, the largest, two or three times as big.
        rrdtool reads such a file's MIN or MAX at the next tier's resolution."""
        return ("AVERAGE",) if "AVERAGE" in self.consolidation else self.consolidation[:1]

    @property
    def finest_keep(self) -> int:
        return self.tiers[0].keep


@dataclass(frozen=True)
class SchemaSet:
    """The ordered schemas; the last one is the catch-all."""

    schemas: tuple[Schema, ...]
    source: str = ""

    def schema_for(self, metric: str) -> Schema:
        for schema in self.schemas:
            if schema.matches(metric):
                return schema
        return self.schemas[-1]


def load_schemas(path: Path) -> SchemaSet:
    """Read and validate a schemas file; errors name file, line and key."""
    return schemas_from_node(load_yaml(path))


def schemas_from_node(root: Node) -> SchemaSet:
    """Schemas from the top node of a schemas file (``schemas: [...]``)."""
    entries = root.mapping({"schemas"}, required=("schemas",))["schemas"].as_list()
    if not entries:
        raise root["schemas"].error("at least the catch-all schema (match: '*') is needed")
    schemas = tuple(schema_from_node(entry) for entry in entries)
    last = entries[-1]["match"]
    if schemas[-1].match != CATCH_ALL:
        raise last.error(f"the last schema must be the catch-all match: '{CATCH_ALL}'")
    for entry, schema in zip(entries[:-1], schemas[:-1], strict=True):
        if schema.match == CATCH_ALL:
            raise entry["match"].error("only the last schema may be the catch-all '*'")
    return SchemaSet(schemas, root.source)


def schema_from_node(node: Node) -> Schema:
    node.mapping(_KEYS, required=("match", "step", "retention"))
    match_node = node["match"]
    match = match_node.parse(validate_metric_glob)
    step_node = node["step"]
    step = step_node.parse(parse_duration)
    if step < 1:
        raise step_node.error("must be at least 1 second")
    heartbeat_node = node.get("heartbeat")
    heartbeat = heartbeat_node.parse(parse_duration) if heartbeat_node else 2 * step
    if heartbeat_node is not None and heartbeat < step:
        raise heartbeat_node.error(f"must be at least the step ({format_duration(step)})")
    type_node = node.get("type")
    low, high = (_bound(node.get(key)) for key in ("min", "max"))
    if low is not None and high is not None and low >= high:
        raise node["max"].error(f"must be greater than min ({low!r})")
    xff_node = node.get("xff")
    xff = xff_node.as_float(low=0.0, high=0.99) if xff_node else DEFAULT_XFF
    tiers = _tiers(node["retention"], step)
    ds_type = type_node.parse(DsType.parse) if type_node else None
    consolidation = _consolidation(node.get("consolidation"))
    try:
        return Schema(match, step, heartbeat, tiers, ds_type, low, high, consolidation, xff)
    except InvalidMetricName as exc:
        raise match_node.error(str(exc)) from None


def _in_one_unit(seconds: int) -> str:
    """``30d`` rather than ``4w2d``: the largest of d, h, m, s that divides exactly."""
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def _bound(node: Node | None) -> float | None:
    return None if node is None else node.as_float()


def _tiers(node: Node, step: int) -> tuple[Tier, ...]:
    if isinstance(node.value, list):
        texts = [(item, item.as_str()) for item in node.as_list()]
    else:
        texts = [(node, part) for part in node.as_str().split(",")]
    tiers: list[Tier] = []
    for where, text in texts:
        resolution_text, colon, keep_text = text.strip().partition(":")
        if not colon:
            raise where.error(f"expected tiers like '1m:7d, 5m:90d', got {text.strip()!r}")
        try:
            tier = Tier(parse_duration(resolution_text), parse_duration(keep_text))
        except ValueError as exc:
            raise where.error(f"tier {text.strip()!r}: {exc}") from None
        if tier.resolution < step or tier.resolution % step:
            raise where.error(
                f"tier {text.strip()!r}: resolution must be a multiple of the step"
                f" ({format_duration(step)})"
            )
        if tier.keep < tier.resolution:
            raise where.error(f"tier {text.strip()!r}: must keep at least one point")
        if tiers and (tier.resolution <= tiers[-1].resolution or tier.keep <= tiers[-1].keep):
            raise where.error(
                f"tier {text.strip()!r}: tiers must go from fine to coarse, each coarser"
                " and kept longer than the one before"
            )
        tiers.append(tier)
    return tuple(tiers)


def _consolidation(node: Node | None) -> tuple[str, ...]:
    if node is None:
        return DEFAULT_CONSOLIDATION
    names: list[str] = []
    for item in node.as_list() if isinstance(node.value, list) else [node]:
        name = item.as_str().upper()
        if name not in CONSOLIDATIONS:
            raise item.error(f"expected one of {', '.join(CONSOLIDATIONS)}, got {item.value!r}")
        if name in names:
            raise item.error(f"{name} is listed twice")
        names.append(name)
    if not names:
        raise node.error("at least one consolidation function is needed")
    return tuple(names)
