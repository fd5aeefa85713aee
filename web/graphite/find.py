"""Graphite path patterns over the archive's tree: ``metrics/find``, ``metrics/expand``
and the expansion of every path in a render target.

A pattern is split into components at the dots outside ``{...}``; each component may
hold ``*`` and ``?`` (within the component: Graphite's ``*`` never crosses a dot, unlike
rexmon's metric globs), classes ``[0-9]`` / ``[!a]`` and alternatives ``{a,b}`` (which
may hold wildcards themselves). The walk lists one directory per matching node and level
(:meth:`rrdarchive.archive.Archive.children`), and a literal component other than the last
costs no listing, so ``host.n01.cpu.*`` reads one directory however large the archive is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rexmon.metric import MAX_COMPONENTS, is_component
from web.graphite.errors import GraphiteError, TooMuchWork

MAX_PATTERN = 512
_PATTERN_CHARS = re.compile(r"[A-Za-z0-9_\-.*?\[\]{},!]+\Z", re.ASCII)
_LITERAL = re.compile(r"[A-Za-z0-9_-]+\Z", re.ASCII)

Children = Callable[[list[str], str | None], tuple[list[str], list[str]]]


@dataclass(frozen=True)
class FoundNode:
    """One node of the tree: a metric (``leaf``), a branch with nodes below, or both."""

    path: str
    leaf: bool
    branch: bool

    @property
    def name(self) -> str:
        return self.path.rsplit(".", 1)[-1]

    def to_json(self) -> dict[str, object]:
        """Graphite's ``treejson`` node, as Grafana's query editor reads it."""
        return {
            "text": self.name,
            "id": self.path,
            "leaf": int(self.leaf),
            "expandable": int(self.branch),
            "allowChildren": int(self.branch),
        }


def split_pattern(pattern: str) -> list[str]:
    """The components of a pattern: dots inside ``{...}`` do not split."""
    if not pattern or len(pattern) > MAX_PATTERN:
        raise GraphiteError(f"a path pattern has 1 to {MAX_PATTERN} characters")
    if not _PATTERN_CHARS.match(pattern):
        raise GraphiteError(
            f"path {pattern!r}: only letters, digits, '_', '-', '.' and the wildcards"
            " '*', '?', '[...]', '{a,b}' are allowed"
        )
    parts: list[str] = []
    depth = 0
    current: list[str] = []
    for char in pattern:
        if char == "{":
            depth += 1
        elif char == "}":
            depth -= 1
            if depth < 0:
                raise GraphiteError(f"path {pattern!r}: '}}' without its '{{'")
        if char == "." and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    if depth:
        raise GraphiteError(f"path {pattern!r}: '{{' is never closed")
    parts.append("".join(current))
    if any(not part for part in parts):
        raise GraphiteError(f"path {pattern!r}: empty component")
    if len(parts) > MAX_COMPONENTS:
        raise GraphiteError(f"path {pattern!r}: more than {MAX_COMPONENTS} components")
    return parts


def component_matcher(component: str) -> Callable[[str], bool]:
    """A predicate for one node name."""
    regex = re.compile(_component_regex(component, component) + r"\Z", re.ASCII)
    return lambda name: regex.match(name) is not None


def _component_regex(component: str, whole: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(component):
        char = component[i]
        if char == "*":
            out.append("[^.]*")
        elif char == "?":
            out.append("[^.]")
        elif char == "[":
            close = component.find("]", i + 1)
            body = component[i + 1 : close] if close > 0 else ""
            negated = body.startswith("!")
            inner = body[1:] if negated else body
            if close < 0 or not inner or not re.fullmatch(r"[A-Za-z0-9_-]+", inner):
                raise GraphiteError(f"path component {whole!r}: bad class at {i + 1}")
            if re.search(r"(.)-(.)", inner) and any(
                a > b for a, b in re.findall(r"(\w)-(\w)", inner)
            ):
                raise GraphiteError(f"path component {whole!r}: reversed range in the class")
            out.append(("[^" if negated else "[") + inner.replace("\\", "") + "]")
            i = close
        elif char == "{":
            close = component.find("}", i + 1)
            if close < 0 or "{" in component[i + 1 : close]:
                raise GraphiteError(f"path component {whole!r}: nested or open '{{' at {i + 1}")
            choices = component[i + 1 : close].split(",")
            out.append("(?:" + "|".join(_component_regex(c, whole) for c in choices) + ")")
            i = close
        elif char in "]}!,":
            raise GraphiteError(f"path component {whole!r}: {char!r} at {i + 1} outside a class")
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def find_nodes(children: Children, pattern: str, limit: int = 100_000) -> list[FoundNode]:
    """The nodes matching ``pattern``, sorted by path; more than ``limit`` raises."""
    parts = split_pattern(pattern)
    nodes: list[list[str]] = [[]]
    found: list[FoundNode] = []
    for depth, component in enumerate(parts):
        last = depth == len(parts) - 1
        literal = bool(_LITERAL.match(component))
        matches = None if literal else component_matcher(component)
        below: list[list[str]] = []
        for node in nodes:
            if literal and not last:  # no listing: the next level's finds it missing
                below.append([*node, component])
                continue
            branches, leaves = children(node, component if literal else None)
            if literal:
                names_b = [component] if component in branches else []
                names_l = [component] if component in leaves else []
            else:
                assert matches is not None
                names_b = [name for name in branches if matches(name)]
                names_l = [name for name in leaves if matches(name)]
            if not last:
                below.extend([*node, name] for name in names_b)
            else:
                leaf_set = set(names_l)
                for name in sorted(set(names_b) | leaf_set):
                    found.append(
                        FoundNode(".".join([*node, name]), name in leaf_set, name in names_b)
                    )
            if len(below) > limit or len(found) > limit:
                raise TooMuchWork(f"path {pattern!r} matches more than {limit} nodes")
        nodes = below
    return sorted(found, key=lambda node: node.path)


def expand_metrics(children: Children, pattern: str, limit: int) -> list[str]:
    """The metric ids (leaves) a render path names, sorted."""
    return [node.path for node in find_nodes(children, pattern, limit) if node.leaf]


def is_plain_metric(pattern: str) -> bool:
    return all(is_component(part) for part in pattern.split("."))
