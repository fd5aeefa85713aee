"""Parse what a Munin plugin prints for ``config`` and for a fetch (pure functions).

``config`` describes graphs: ``graph_*`` lines for the graph, ``FIELD.ATTR value`` for
its fields (``type``, ``label``, ``min``, ``max``, ``warning``, ``critical`` are read,
the drawing attributes skipped). A fetch prints ``FIELD.value V`` (``U`` = unknown;
``EPOCH:V`` carries its own time). ``multigraph NAME`` starts another graph in both; the
lines before the first one belong to the graph named after the plugin. A dotted multigraph
name (``diskstats_latency.sda``) is a sub-graph and gives one metric component per part.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from rexmon.errors import InvalidSample, InvalidThreshold
from rexmon.sample import DsType
from rexmon.thresholds import Limits, Range, parse_munin_range

FIELD_ATTRIBUTES = frozenset({"type", "label", "min", "max", "warning", "critical"})


@dataclass(frozen=True)
class MuninField:
    """One data source of a graph as its ``config`` declares it."""

    name: str
    type: DsType = DsType.GAUGE
    label: str = ""
    limits: Limits = Limits()


@dataclass(frozen=True)
class MuninGraph:
    """One graph (the plugin's own, or a multigraph): ``graph_*`` settings and fields."""

    name: str
    settings: dict[str, str] = field(default_factory=dict)
    fields: dict[str, MuninField] = field(default_factory=dict)


@dataclass(frozen=True)
class MuninValue:
    """One fetched value; ``time`` is None unless the plugin printed ``EPOCH:V``."""

    graph: str
    field: str
    value: float | None
    time: int | None = None


@dataclass
class _FieldDraft:
    type: DsType = DsType.GAUGE
    label: str = ""
    warn: Range | None = None
    crit: Range | None = None
    low: float | None = None
    high: float | None = None

    def done(self, name: str) -> MuninField:
        return MuninField(
            name, self.type, self.label, Limits(self.warn, self.crit, self.low, self.high)
        )


def _lines(text: str) -> list[tuple[int, str]]:
    return [
        (number, line.strip())
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip() and not line.lstrip().startswith("#")
    ]


def _number(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{where}: {text[:40]!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{where}: {text[:40]!r} is not finite")
    return value


def _set_attribute(draft: _FieldDraft, attribute: str, value: str, where: str) -> None:
    if attribute == "type":
        try:
            draft.type = DsType.parse(value)
        except InvalidSample as exc:
            raise ValueError(f"{where}: {exc}") from None
    elif attribute == "label":
        draft.label = value
    elif attribute in ("min", "max"):
        number = _number(value, where)
        if attribute == "min":
            draft.low = number
        else:
            draft.high = number
    else:
        try:
            threshold = parse_munin_range(value)
        except InvalidThreshold as exc:
            raise ValueError(f"{where}: {exc}") from None
        if attribute == "warning":
            draft.warn = threshold
        else:
            draft.crit = threshold


def parse_config(text: str, plugin: str) -> tuple[dict[str, MuninGraph], list[str]]:
    """The graphs of a ``config`` output, by name, and a message per line not understood
    (the rest is kept: one odd line does not lose the plugin)."""
    settings: dict[str, dict[str, str]] = {plugin: {}}
    drafts: dict[str, dict[str, _FieldDraft]] = {plugin: {}}
    errors: list[str] = []
    graph = plugin
    for number, line in _lines(text):
        key, _, value = line.partition(" ")
        value = value.strip()
        where = f"config line {number}"
        if key == "multigraph":
            if not value:
                errors.append(f"{where}: multigraph without a name")
                continue
            graph = value
            settings.setdefault(graph, {})
            drafts.setdefault(graph, {})
        elif key.startswith("graph_"):
            settings[graph][key] = value
        elif "." in key:
            name, _, attribute = key.rpartition(".")
            if attribute not in FIELD_ATTRIBUTES:
                continue  # draw, colour, info, cdef, negative...: how munin draws it
            draft = drafts[graph].setdefault(name, _FieldDraft())
            try:
                _set_attribute(draft, attribute, value, f"{where} ({key})")
            except ValueError as exc:
                errors.append(str(exc))
        elif key not in ("host_name", "update"):
            errors.append(f"{where}: cannot read {line[:60]!r}")
    graphs = {
        name: MuninGraph(
            name,
            settings[name],
            {field: draft.done(field) for field, draft in drafts[name].items()},
        )
        for name in settings
        if settings[name] or drafts[name]
    }
    return graphs, errors


def _value(text: str, where: str) -> tuple[float | None, int | None]:
    stamp: int | None = None
    if ":" in text:
        epoch, _, text = text.partition(":")
        if not (epoch.isascii() and epoch.isdigit()):
            raise ValueError(f"{where}: {epoch[:20]!r} is not a UNIX time")
        stamp = int(epoch)
    if text == "U":
        return None, stamp
    return _number(text, where), stamp


def parse_fetch(text: str, plugin: str) -> tuple[list[MuninValue], list[str]]:
    """The values of a fetch output, in order, and a message per line not understood."""
    values: list[MuninValue] = []
    errors: list[str] = []
    graph = plugin
    for number, line in _lines(text):
        key, _, value = line.partition(" ")
        value = value.strip()
        where = f"fetch line {number} ({key})"
        if key == "multigraph" and value:
            graph = value
            continue
        name, dot, attribute = key.rpartition(".")
        if not dot or attribute != "value" or not name:
            if attribute != "extinfo":
                errors.append(f"fetch line {number}: cannot read {line[:60]!r}")
            continue
        try:
            number_value, stamp = _value(value, where)
        except ValueError as exc:
            errors.append(str(exc))
            continue
        values.append(MuninValue(graph, name, number_value, stamp))
    return values, errors
