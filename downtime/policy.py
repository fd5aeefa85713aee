"""Who may file downtimes where: users and groups mapped to allowed metric globs.

The rule: a downtime scope ``S`` is allowed when every metric id ``S`` can match is also
matched by one of the actor's allowed globs (``S`` is at least as narrow as their union).
This is decided by :func:`rexmon.globs.glob_within` on the parsed globs — the same tokens
the matcher that applies downtimes uses — as an inclusion of regular languages over the
metric alphabet; it is exact, except that a scope too complex to decide within a fixed
budget is refused. Globs fnmatch would read in a surprising way (``[]``, ``[!]``,
``[z-a]``, ``[a.]``) are refused outright as invalid.

Remember that ``*`` matches dots too: ``host.node01*`` also allows ``host.node010.x``;
write ``host.node01.*`` to mean one host.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from downtime.errors import ScopeRefused
from rexmon.globs import glob_matcher, glob_within, validate_glob
from rexmon.yamlconf import Node

FILTER_BUDGET = 200  # automaton states per comparison: filters take anonymous globs

__all__ = ["Actor", "ScopePolicy", "glob_within", "scope_policy_from_node", "touches"]


@dataclass(frozen=True)
class Actor:
    """Who acts: a user name and the groups it belongs to."""

    name: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScopePolicy:
    """Allowed scope globs per user and per group; anybody else may file nothing."""

    users: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    groups: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def allowed(self, actor: Actor) -> tuple[str, ...]:
        globs = list(self.users.get(actor.name, ()))
        for group in actor.groups:
            globs.extend(self.groups.get(group, ()))
        return tuple(dict.fromkeys(globs))

    def check(self, actor: Actor, scope: str) -> None:
        """Raise :class:`ScopeRefused` unless ``scope`` lies within an allowed glob."""
        allowed = self.allowed(actor)
        if not allowed:
            raise ScopeRefused(actor.name, scope, "no scopes are allowed to this user")
        if not glob_within(scope, allowed):
            raise ScopeRefused(
                actor.name,
                scope,
                f"it is not within the allowed globs ({', '.join(allowed)});"
                " a scope must not reach outside them",
            )


def touches(scopes: tuple[str, ...], glob: str) -> bool:
    """Whether a downtime with these scopes concerns ``glob`` (a metric id or a glob):
    a scope matches it as a metric id, or one glob lies within the other. Used by the
    ``--scope`` filters of the CLI and the web pages."""
    return any(
        glob_matcher(scope)(glob)
        or glob_within(scope, glob, budget=FILTER_BUDGET)
        or glob_within(glob, scope, budget=FILTER_BUDGET)
        for scope in scopes
    )


def scope_policy_from_node(node: Node) -> ScopePolicy:
    """Parse ``{users: {alice: [globs]}, groups: {ops: [globs]}}``."""
    node.mapping({"users", "groups"})
    sections: dict[str, dict[str, tuple[str, ...]]] = {"users": {}, "groups": {}}
    for section, target in sections.items():
        child = node.get(section)
        if child is None:
            continue
        for name, globs in child.items():
            target[name] = tuple(item.parse(validate_glob) for item in _as_nodes(globs))
    return ScopePolicy(users=sections["users"], groups=sections["groups"])


def _as_nodes(node: Node) -> list[Node]:
    return [node] if isinstance(node.value, str) else node.as_list()
