"""Dashboards file (``etc/dashboards.yaml``): named pages of graphs, validated at start.

A dashboard has a title, description, category and rows of panels; a panel graphs metric
globs in one mode. ``{name}`` in a glob stands for one metric component and becomes a
variable of the page (a drop-down of the values found in the archive), so one definition
serves every host. Errors name file, line and key through :mod:`rexmon.yamlconf`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rexmon.errors import ConfigError, InvalidMetricName
from rexmon.globs import glob_regex
from rexmon.metric import validate_metric_glob
from rexmon.yamlconf import Node, load_yaml
from rrdarchive.listing import list_metrics

MODES = ("lines", "stacked", "sum", "average", "top")
TOP_BY = ("max", "last")
VARIABLE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]{0,31})\}")
_BRACES = re.compile(r"[{}]")
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_-]{0,63}\Z", re.ASCII)
_VALUE = "[A-Za-z0-9_][A-Za-z0-9_-]{0,63}"


@dataclass(frozen=True)
class Panel:
    title: str
    metrics: tuple[str, ...]  # globs, possibly with {variables}
    mode: str = "lines"
    unit: str = ""
    top: int = 10  # series kept by mode "top"; the rest is summed as "other"
    by: str = "max"


@dataclass(frozen=True)
class Dashboard:
    name: str
    title: str
    description: str
    category: str
    rows: tuple[tuple[Panel, ...], ...]

    @property
    def variables(self) -> tuple[str, ...]:
        """The variables of the page, in order of first use."""
        seen: dict[str, None] = {}
        for panel in self.panels:
            for glob in panel.metrics:
                seen.update(dict.fromkeys(VARIABLE.findall(glob)))
        return tuple(seen)

    @property
    def panels(self) -> tuple[Panel, ...]:
        return tuple(panel for row in self.rows for panel in row)


@dataclass(frozen=True)
class DashboardFile:
    dashboards: dict[str, Dashboard]
    groups: dict[str, str]  # accounting group -> experiment name shown


def load_dashboards(path: Path | str) -> DashboardFile:
    """Read and validate a dashboards file; :class:`ConfigError` names file:line:key."""
    root = load_yaml(path).mapping({"dashboards", "groups"})
    groups: dict[str, str] = {}
    if (node := root.get("groups")) is not None:
        groups = {key: value.as_str() for key, value in node.items()}
    dashboards: dict[str, Dashboard] = {}
    if (node := root.get("dashboards")) is not None:
        for name, child in node.items():
            if not _NAME.match(name):
                raise child.error("a dashboard name is letters, digits, '_' and '-'")
            dashboards[name] = _dashboard(name, child)
    return DashboardFile(dashboards, groups)


def _dashboard(name: str, node: Node) -> Dashboard:
    node.mapping({"title", "description", "category", "rows"}, required=("title", "rows"))
    rows = tuple(tuple(_panel(panel) for panel in row.as_list()) for row in node["rows"].as_list())
    description = node.get("description")
    category = node.get("category")
    dashboard = Dashboard(
        name,
        node["title"].as_str(),
        description.as_str() if description else "",
        category.as_str() if category else "Other",
        rows,
    )
    for key in ("title", "description"):
        text = node.get(key)
        for used in VARIABLE.findall(text.as_str()) if text else ():
            if used not in dashboard.variables:
                raise text.error(  # type: ignore[union-attr]
                    f"undefined variable {{{used}}}: no metric glob of this dashboard captures it"
                )
    return dashboard


def _panel(node: Node) -> Panel:
    node.mapping({"title", "metrics", "mode", "unit", "top", "by"}, required=("metrics",))
    metrics_node = node["metrics"]
    metrics = tuple(metrics_node.as_str_list())
    for glob in metrics:
        _check_glob(metrics_node, glob)
    title = node.get("title")
    mode = node.get("mode")
    unit = node.get("unit")
    top = node.get("top")
    by = node.get("by")
    panel = Panel(
        title.as_str() if title else ", ".join(metrics),
        metrics,
        mode.as_choice(MODES) if mode else "lines",
        unit.as_str() if unit else "",
        top.as_int(low=1, high=50) if top else 10,
        by.as_choice(TOP_BY) if by else "max",
    )
    if title is not None:
        defined = {name for glob in metrics for name in VARIABLE.findall(glob)}
        for used in VARIABLE.findall(panel.title):
            if used not in defined:
                raise title.error(
                    f"undefined variable {{{used}}}: none of this panel's metrics captures it"
                )
    return panel


def _check_glob(node: Node, glob: str) -> None:
    """A glob with each ``{variable}`` standing for one component must be a metric glob."""
    plain = VARIABLE.sub("v", glob)
    if _BRACES.search(plain):
        raise node.error(f"metric glob {glob!r}: a variable is written {{name}}, one component")
    for part in glob.split("."):
        if VARIABLE.search(part) and not VARIABLE.fullmatch(part):
            raise node.error(f"metric glob {glob!r}: a variable must be a whole component")
    try:
        validate_metric_glob(plain)
    except InvalidMetricName as exc:
        raise node.error(str(exc)) from None


def concrete_glob(glob: str, values: Mapping[str, str]) -> str:
    """The glob with its variables replaced: by the chosen value, or ``*`` when unset."""
    return VARIABLE.sub(lambda m: values.get(m.group(1)) or "*", glob)


def variable_values(dashboard: Dashboard, root: Path) -> dict[str, list[str]]:
    """For each variable, the sorted values present in the archive under ``root``."""
    found: dict[str, set[str]] = {name: set() for name in dashboard.variables}
    for panel in dashboard.panels:
        for glob in panel.metrics:
            names = VARIABLE.findall(glob)
            if not names:
                continue
            pattern = re.compile(_capture_regex(glob))
            for metric in list_metrics(root, concrete_glob(glob, {})):
                match = pattern.match(metric)
                if match:
                    for name in names:
                        found[name].add(match.group(name))
    return {name: sorted(values) for name, values in found.items()}


def _capture_regex(glob: str) -> str:
    parts: list[str] = []
    used: set[str] = set()
    for part in glob.split("."):
        variable = VARIABLE.fullmatch(part)
        if variable and variable.group(1) not in used:
            used.add(variable.group(1))
            parts.append(f"(?P<{variable.group(1)}>{_VALUE})")
        elif variable:
            parts.append(f"(?P={variable.group(1)})")
        else:
            parts.append(glob_regex(part).removesuffix(r"\Z"))
    return r"\.".join(parts) + r"\Z"


__all__ = ["ConfigError", "Dashboard", "DashboardFile", "Panel", "load_dashboards"]
