"""The one YAML loader: keeps line numbers so every config error says file, line and key.

``load_yaml(path)`` returns a :class:`Node`; config parsers walk it with small typed
getters and raise through :meth:`Node.error`, which yields messages such as
``etc/alarms.yaml:14: rules[2].critical: expected a condition like '> 90', got 'high'``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import yaml

from rexmon.errors import ConfigError, RexmonError

T = TypeVar("T")


class _LineDict(dict[Any, Any]):
    """A mapping that remembers the line of each key."""

    key_lines: dict[Any, int]


class _LineList(list[Any]):
    """A list that remembers the line of each item."""

    item_lines: list[int]


class _LineLoader(yaml.SafeLoader):
    """SafeLoader whose mappings and sequences carry 1-based line numbers."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode) -> _LineDict:
    loader.flatten_mapping(node)
    result = _LineDict()
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        if key in result:
            raise ConfigError(
                f"duplicate key {key!r}", source=loader.name, line=key_node.start_mark.line + 1
            )
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = key_node.start_mark.line + 1
    return result


def _construct_sequence(loader: _LineLoader, node: yaml.SequenceNode) -> _LineList:
    result = _LineList(loader.construct_object(child, deep=True) for child in node.value)
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_SEQUENCE_TAG, _construct_sequence)


def load_yaml(path: Path | str) -> Node:
    """Read a YAML file into a :class:`Node`; syntax errors become :class:`ConfigError`."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror}", source=source) from None
    return parse_yaml(text, source)


_UNQUOTED_CONDITION = re.compile(r":\s*([<>|]=?\s*\S.*)$")


def _hint(text: str, line: int) -> str:
    """What to do about the usual mistake: a condition like ``> 90`` left unquoted (YAML
    reads ``>`` and ``|`` as the start of a block of text)."""
    lines = text.splitlines()
    found = _UNQUOTED_CONDITION.search(lines[line - 1]) if 0 < line <= len(lines) else None
    if found is None:
        return ""
    return f"; quote the value: write '\"{found.group(1).strip()}\"'"


def parse_yaml(text: str, source: str = "<string>") -> Node:
    """Parse YAML text; ``source`` names it in error messages."""
    loader = _LineLoader(text)
    loader.name = source
    try:
        data = loader.get_single_data()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark is not None else 0
        message = f"invalid YAML: {exc.problem}" + _hint(text, line)
        raise ConfigError(message, source=source, line=line) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source) from None
    finally:
        loader.dispose()
    return Node({} if data is None else data, source, "", 1)


class Node:
    """One value of a config file, with where it stands (file, line, key path)."""

    def __init__(self, value: Any, source: str, path: str, line: int) -> None:
        self.value = value
        self.source = source
        self.path = path
        self.line = line

    def error(self, message: str) -> ConfigError:
        return ConfigError(message, source=self.source, line=self.line, key=self.path)

    def relative_to_file(self, text: str) -> Path:
        """``text`` as a path; a relative one is taken from the directory of the file this
        node was read from (the working directory for YAML given as text)."""
        path = Path(text)
        if path.is_absolute() or self.source.startswith("<"):
            return path
        return Path(self.source).absolute().parent / path

    def _describe(self) -> str:
        return _short(self.value)

    # -- structure ----------------------------------------------------------------------

    def mapping(self, allowed: set[str] | frozenset[str], required: tuple[str, ...] = ()) -> Node:
        """Check this is a mapping with only ``allowed`` keys and all ``required`` ones."""
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping, got {self._describe()}")
        for key in self.value:
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self._child(key).error(f"unknown key (known keys: {known})")
        for key in required:
            if key not in self.value:
                raise self.error(f"missing required key {key!r}")
        return self

    def _child(self, key: Any) -> Node:
        lines = getattr(self.value, "key_lines", {})
        path = f"{self.path}.{key}" if self.path else str(key)
        return Node(self.value.get(key), self.source, path, lines.get(key, self.line))

    def has(self, key: str) -> bool:
        return isinstance(self.value, dict) and key in self.value

    def get(self, key: str) -> Node | None:
        """The child at ``key`` or None when absent (or explicitly null)."""
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping, got {self._describe()}")
        if self.value.get(key) is None:
            return None
        return self._child(key)

    def __getitem__(self, key: str) -> Node:
        child = self.get(key)
        if child is None:
            raise self.error(f"missing required key {key!r}")
        return child

    def items(self) -> Iterator[tuple[str, Node]]:
        """The (key, child) pairs of a mapping; keys must be strings."""
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping, got {self._describe()}")
        for key in self.value:
            child = self._child(key)
            if not isinstance(key, str):
                raise child.error(f"keys must be strings, got {key!r}")
            yield key, child

    def as_list(self) -> list[Node]:
        """The children of a sequence (a single scalar is not promoted)."""
        if not isinstance(self.value, list):
            raise self.error(f"expected a list, got {self._describe()}")
        lines = getattr(self.value, "item_lines", [self.line] * len(self.value))
        return [
            Node(item, self.source, f"{self.path}[{index}]", lines[index])
            for index, item in enumerate(self.value)
        ]

    # -- scalars ------------------------------------------------------------------------

    def as_str(self, *, allow_empty: bool = False) -> str:
        if isinstance(self.value, bool) or not isinstance(self.value, str | int | float):
            raise self.error(f"expected a string, got {self._describe()}")
        text = str(self.value)
        if not allow_empty and not text.strip():
            raise self.error("must not be empty")
        return text

    def as_int(self, *, low: int | None = None, high: int | None = None) -> int:
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"expected an integer, got {self._describe()}")
        return self._bounded(self.value, low, high)

    def as_float(self, *, low: float | None = None, high: float | None = None) -> float:
        if isinstance(self.value, bool) or not isinstance(self.value, int | float):
            raise self.error(f"expected a number, got {self._describe()}")
        return self._bounded(float(self.value), low, high)

    def as_bool(self) -> bool:
        if not isinstance(self.value, bool):
            raise self.error(f"expected true or false, got {self._describe()}")
        return self.value

    def as_choice(self, choices: tuple[str, ...] | list[str]) -> str:
        text = self.as_str()
        if text not in choices:
            raise self.error(f"expected one of {', '.join(choices)}, got {text!r}")
        return text

    def as_str_list(self) -> list[str]:
        """A list of strings; a single string is accepted as a list of one."""
        if isinstance(self.value, str):
            return [self.as_str()]
        return [item.as_str() for item in self.as_list()]

    def parse(self, parser: Callable[[str], T]) -> T:
        """Convert the scalar with ``parser``; its rexmon or value errors name this key."""
        text = self.as_str()
        try:
            return parser(text)
        except (RexmonError, ValueError) as exc:
            raise self.error(str(exc)) from None

    def _bounded(self, number: Any, low: Any, high: Any) -> Any:
        if low is not None and number < low:
            raise self.error(f"must be at least {low}, got {number}")
        if high is not None and number > high:
            raise self.error(f"must be at most {high}, got {number}")
        return number


def _short(value: Any) -> str:
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
