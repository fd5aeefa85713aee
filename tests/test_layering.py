"""The tree reads as the architecture: imports follow DESIGN.md's arrows, none goes in a
circle, and no module outgrows one concept."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("rexmon", "slurpers", "rrdarchive", "downtime", "alarmd", "web", "carbon")
# package -> the packages of ours it may import (DESIGN.md's table)
MAY_IMPORT = {
    "rexmon": set(),
    "slurpers": {"rexmon"},
    "rrdarchive": {"rexmon"},
    "downtime": {"rexmon"},
    "alarmd": {"rexmon", "rrdarchive", "downtime"},
    "web": {"rexmon", "rrdarchive", "downtime", "alarmd"},
    "carbon": {"rexmon", "rrdarchive", "web"},
}
MAX_LINES = 400


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            name = ".".join(path.relative_to(REPO).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def imports_of(path: Path, known: dict[str, Path]) -> set[str]:
    """Our modules that ``path`` imports at module level (not inside functions)."""
    names: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                names.add(full if full in known else node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name in known}


def test_each_package_imports_only_what_the_design_allows() -> None:
    known = modules()
    wrong = []
    for name, path in known.items():
        package = name.split(".")[0]
        for imported in imports_of(path, known):
            other = imported.split(".")[0]
            if other != package and other not in MAY_IMPORT[package]:
                wrong.append(f"{name} imports {imported}")
    assert wrong == []


def test_no_module_imports_go_in_a_circle() -> None:
    known = modules()
    graph = {name: imports_of(path, known) - {name} for name, path in known.items()}
    circles = []
    state: dict[str, str] = {}

    def visit(name: str, trail: list[str]) -> None:
        state[name] = "open"
        for imported in sorted(graph[name]):
            # importing a package runs its __init__, which imports nothing of ours here
            if state.get(imported) == "open":
                circles.append(" -> ".join(trail[trail.index(imported) :] + [imported]))
            elif imported not in state:
                visit(imported, [*trail, imported])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert circles == []


def test_no_module_is_over_four_hundred_lines() -> None:
    long = {
        name: lines
        for name, path in modules().items()
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}
