"""Pick numbers out of a JSON document by dotted paths with ``*`` wildcards.

``queues.*.length`` over ``{"queues": {"a": {"length": 3}, "b": {"length": 5}}}`` gives
``(("queues", "a", "length"), 3)`` and ``(("queues", "b", "length"), 5)``: a wildcard's key
(or list index) takes its place in the name. Booleans count as 0/1; anything else that is
not a number is reported, never guessed.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

Found = tuple[tuple[str, ...], float | None, str | None]


def validate_path(path: str) -> tuple[str, ...]:
    parts = tuple(path.split("."))
    if any(not part for part in parts):
        raise ValueError(f"path {path!r} has an empty component")
    return parts


def pick(document: Any, path: tuple[str, ...]) -> Iterator[Found]:
    """Yield (name parts, value, None) for numbers, (name parts, None, error) otherwise."""
    yield from _walk(document, path, ())


def _walk(node: Any, path: tuple[str, ...], name: tuple[str, ...]) -> Iterator[Found]:
    if not path:
        yield _leaf(node, name)
        return
    head, rest = path[0], path[1:]
    if head == "*":
        if isinstance(node, dict):
            children = [(str(key), value) for key, value in node.items()]
        elif isinstance(node, list):
            children = [(str(index), value) for index, value in enumerate(node)]
        else:
            yield name + (head,), None, f"'*' needs an object or a list, found {_kind(node)}"
            return
        for key, child in children:
            yield from _walk(child, rest, name + (key,))
        return
    if isinstance(node, dict) and head in node:
        yield from _walk(node[head], rest, name + (head,))
    elif isinstance(node, list) and head.isdigit() and int(head) < len(node):
        yield from _walk(node[int(head)], rest, name + (head,))
    else:
        yield name + (head,), None, f"no {head!r} in {_kind(node)}"


def _leaf(node: Any, name: tuple[str, ...]) -> Found:
    if isinstance(node, bool):
        return name, float(node), None
    if isinstance(node, int | float) and math.isfinite(node):
        return name, float(node), None
    return name, None, f"expected a number, found {_kind(node)}"


def _kind(node: Any) -> str:
    if isinstance(node, dict):
        return "an object"
    if isinstance(node, list):
        return "a list"
    if node is None:
        return "null"
    return repr(node)[:40]
