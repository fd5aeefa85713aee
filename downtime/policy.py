"""Who may file downtimes where: users and groups mapped to allowed metric globs.

The rule: a downtime scope ``S`` is allowed by an allowed glob ``A`` when every metric id
``S`` can match is also matched by ``A`` (``S`` is at least as narrow as ``A``). This is
decided on the globs themselves, token by token: a literal or ``?`` or ``[...]`` of ``S``
must fall inside the one-character set of the ``A`` token it lines up with, and a ``*`` of
``S`` can only line up with a ``*`` of ``A`` (which may also swallow any run of ``S``
tokens). The test is sound (it never allows a scope reaching outside ``A``) and a little
conservative: a few exotic equal-in-effect spellings are refused, with the reason.

Remember that ``*`` matches dots too: ``host.node01*`` also allows ``host.node010.x``;
write ``host.node01.*`` to mean one host.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache

from downtime.errors import ScopeRefused
from rexmon.metric import glob_matcher, validate_glob
from rexmon.yamlconf import Node

ALPHABET = frozenset(string.ascii_letters + string.digits + "_-.")
_STAR = None  # token for '*'; every other token is the set of characters it matches
Token = frozenset[str] | None


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
        if not any(glob_within(scope, glob) for glob in allowed):
            raise ScopeRefused(
                actor.name,
                scope,
                f"it is not within the allowed globs ({', '.join(allowed)});"
                " a scope must be at least as narrow as one of them",
            )


def touches(scopes: tuple[str, ...], glob: str) -> bool:
    """Whether a downtime with these scopes concerns ``glob`` (a metric id or a glob):
    a scope matches it as a metric id, or one glob lies within the other. Used by the
    ``--scope`` filters of the CLI and the web pages."""
    return any(
        glob_matcher(scope)(glob) or glob_within(scope, glob) or glob_within(glob, scope)
        for scope in scopes
    )


def glob_within(inner: str, outer: str) -> bool:
    """True when every metric id matched by glob ``inner`` is matched by ``outer``."""
    return _within(_tokens(validate_glob(inner)), _tokens(validate_glob(outer)))


@cache
def _tokens(pattern: str) -> tuple[Token, ...]:
    """Tokens as :func:`fnmatch.translate` reads the glob."""
    tokens: list[Token] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        i += 1
        if char == "*":
            if not tokens or tokens[-1] is not _STAR:
                tokens.append(_STAR)
        elif char == "?":
            tokens.append(ALPHABET)
        elif char == "[":
            j = i
            if j < len(pattern) and pattern[j] == "!":
                j += 1
            if j < len(pattern) and pattern[j] == "]":
                j += 1
            close = pattern.find("]", j)
            if close < 0:
                tokens.append(frozenset("["))
            else:
                tokens.append(_char_class(pattern[i:close]))
                i = close + 1
        else:
            tokens.append(frozenset(char))
    return tuple(tokens)


def _char_class(body: str) -> frozenset[str]:
    negated = body.startswith("!")
    if negated:
        body = body[1:]
    chars: set[str] = set()
    k = 0
    while k < len(body):
        if k + 2 < len(body) and body[k + 1] == "-":
            low, high = body[k], body[k + 2]
            chars.update(chr(code) for code in range(ord(low), ord(high) + 1))
            k += 3
        else:
            chars.add(body[k])
            k += 1
    return ALPHABET - chars if negated else ALPHABET & frozenset(chars)


def _within(inner: tuple[Token, ...], outer: tuple[Token, ...]) -> bool:
    @cache
    def step(i: int, j: int) -> bool:
        if j == len(outer):
            return i == len(inner)
        if outer[j] is _STAR:
            return step(i, j + 1) or (i < len(inner) and step(i + 1, j))
        if i == len(inner):
            return False
        token, bound = inner[i], outer[j]
        if token is _STAR or bound is None:
            return False
        return token <= bound and step(i + 1, j + 1)

    return step(0, 0)


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
