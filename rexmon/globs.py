"""Metric globs: one parser, one meaning, for matching and for containment.

A glob is read into tokens over the metric alphabet ``[A-Za-z0-9_-]`` plus ``.``: a
literal character, ``?`` (any one character), ``*`` (any run, dots included) and a class
``[...]`` / ``[!...]``. Everything :mod:`fnmatch` would read in a surprising way is
refused with the reason instead of guessed at: empty classes (``[]``, ``[!]``), a ``]``,
``[`` or ``!`` inside a class, reversed or mixed ranges (``[z-a]``, ``[0-z]``), a ``.``
in a class, an unclosed ``[``. A negated class matches any metric character not listed,
``.`` included, as fnmatch does.

The matcher and the containment test (:func:`glob_within`) both work on these tokens, so
what a scope is allowed to cover is exactly what it is applied to. Containment treats
globs as regular languages over the metric alphabet: ``L(inner) ⊆ L(outer_1 ∪ ...)``
is decided by walking the product of inner's NFA with the subset automaton of the outer
globs, looking for a reachable state where inner accepts and no outer glob does. The walk
is bounded (:data:`MAX_CONTAINMENT_STATES`); a check that would need more is answered
"not within" — conservative, never a false yes.
"""

from __future__ import annotations

import functools
import re
import string
from collections.abc import Callable, Iterable

from rexmon.errors import InvalidMetricName

MAX_GLOB_LENGTH = 255
MAX_CONTAINMENT_STATES = 2_000  # product states explored before refusing to decide (~0.1 s)
ALPHABET = string.ascii_letters + string.digits + "_-."
_INDEX = {char: bit for bit, char in enumerate(ALPHABET)}
_ALL = (1 << len(ALPHABET)) - 1
STAR = -1  # the token for '*'; every other token is a bitmask of the characters it matches
_CLASS_CHARS = frozenset(string.ascii_letters + string.digits + "_-")
_RANGE_KINDS = (string.digits, string.ascii_lowercase, string.ascii_uppercase)
_LITERALS = frozenset(ALPHABET)
_GLOB_CHARS = re.compile(r"[A-Za-z0-9_\-.*?\[\]!]+\Z", re.ASCII)

Tokens = tuple[int, ...]


def validate_glob(pattern: object) -> str:
    """Return ``pattern`` if it is a usable metric glob (``*`` also matches dots)."""
    if not isinstance(pattern, str) or not pattern:
        raise InvalidMetricName("metric glob must be a non-empty string")
    if len(pattern) > MAX_GLOB_LENGTH:
        raise InvalidMetricName(f"metric glob is longer than {MAX_GLOB_LENGTH} characters")
    parse_glob(pattern)
    return pattern


@functools.lru_cache(maxsize=256)
def parse_glob(pattern: str) -> Tokens:
    """The tokens of a glob, or :class:`InvalidMetricName` saying what is wrong.

    Cached (globs repeat: rules, scopes, page filters), bounded: an entry is a tuple of at
    most 255 small ints, about 10 KB at worst, so 256 entries stay under 3 MB."""
    if len(pattern) > MAX_GLOB_LENGTH:
        raise InvalidMetricName(f"metric glob is longer than {MAX_GLOB_LENGTH} characters")
    if not _GLOB_CHARS.match(pattern):
        raise InvalidMetricName(
            f"metric glob {pattern!r} may only contain letters, digits, '_', '-', '.',"
            " and the wildcards '*', '?', '[...]'"
        )
    tokens: list[int] = []
    i = 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            if not tokens or tokens[-1] != STAR:
                tokens.append(STAR)
            i += 1
        elif char == "?":
            tokens.append(_ALL)
            i += 1
        elif char == "[":
            mask, i = _parse_class(pattern, i)
            tokens.append(mask)
        elif char in _LITERALS:
            tokens.append(1 << _INDEX[char])
            i += 1
        else:
            raise _refuse(pattern, f"{char!r} at {i + 1} is not allowed outside a class")
    return tuple(tokens)


def _parse_class(pattern: str, start: int) -> tuple[int, int]:
    """Read ``[...]`` at ``start``; return its mask and the index after the ``]``."""
    close = pattern.find("]", start + 1)
    if close < 0:
        raise _refuse(pattern, f"the '[' at {start + 1} is never closed")
    body = pattern[start + 1 : close]
    negated = body.startswith("!")
    if negated:
        body = body[1:]
    if not body:
        raise _refuse(pattern, f"the class at {start + 1} is empty")
    mask = 0
    k = 0
    while k < len(body):
        char = body[k]
        if char not in _CLASS_CHARS:
            raise _refuse(
                pattern,
                f"{char!r} inside the class at {start + 1}; a class may only list"
                " letters, digits, '_' and '-' (no '.', '[', ']' or '!')",
            )
        if char != "-" and k + 2 < len(body) and body[k + 1] == "-":
            low, high = char, body[k + 2]
            if not any(low in kind and high in kind for kind in _RANGE_KINDS) or low > high:
                raise _refuse(
                    pattern,
                    f"range {low}-{high} in the class at {start + 1}; a range goes upwards"
                    " within digits, lowercase or uppercase letters",
                )
            for code in range(ord(low), ord(high) + 1):
                mask |= 1 << _INDEX[chr(code)]
            k += 3
        elif char == "-" and 0 < k < len(body) - 1:
            raise _refuse(
                pattern, f"a '-' in the class at {start + 1} must start a range or be first or last"
            )
        else:
            mask |= 1 << _INDEX[char]
            k += 1
    return (_ALL & ~mask if negated else mask), close + 1


def _refuse(pattern: str, reason: str) -> InvalidMetricName:
    return InvalidMetricName(f"metric glob {pattern!r}: {reason}")


def glob_regex(pattern: str) -> str:
    """A regular expression matching exactly what the glob's tokens match."""
    parts = [".*" if token == STAR else _char_set(token) for token in parse_glob(pattern)]
    return "(?s:" + "".join(parts) + r")\Z"


def _char_set(mask: int) -> str:
    chars = [char for char, bit in _INDEX.items() if mask >> bit & 1]
    return re.escape(chars[0]) if len(chars) == 1 else "[" + "".join(map(re.escape, chars)) + "]"


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """A fast predicate for one glob; ``*`` matches any run of characters, dots included."""
    regex = re.compile(glob_regex(validate_glob(pattern)))
    return lambda name: regex.match(name) is not None


def glob_within(
    inner: str, outer: str | Iterable[str], *, budget: int = MAX_CONTAINMENT_STATES
) -> bool:
    """True when every metric id matched by glob ``inner`` is matched by ``outer`` (one
    glob, or several: then by one of them). Past ``budget`` automaton states the answer
    is False: a refusal, never a false yes."""
    outers = (outer,) if isinstance(outer, str) else tuple(outer)
    return _within(
        parse_glob(validate_glob(inner)),
        tuple(parse_glob(validate_glob(o)) for o in outers),
        budget,
    )


def _closure(tokens: Tokens, states: Iterable[int]) -> frozenset[int]:
    """Positions reachable without reading: a '*' may match nothing."""
    found = set()
    for state in states:
        while True:
            found.add(state)
            if state < len(tokens) and tokens[state] == STAR:
                state += 1
            else:
                break
    return frozenset(found)


def _step(tokens: Tokens, states: frozenset[int], bit: int) -> frozenset[int]:
    moved = []
    for state in states:
        if state < len(tokens):
            token = tokens[state]
            if token == STAR:
                moved.append(state)
            elif token >> bit & 1:
                moved.append(state + 1)
    return _closure(tokens, moved)


def _within(inner: Tokens, outers: tuple[Tokens, ...], budget: int) -> bool:
    # characters no token tells apart behave alike: try one of each kind
    signatures: dict[tuple[bool, ...], int] = {}
    masks = sorted({t for tokens in (inner, *outers) for t in tokens if t != STAR})
    for bit in range(len(ALPHABET)):
        signatures.setdefault(tuple(bool(m >> bit & 1) for m in masks), bit)
    symbols = tuple(signatures.values())

    def accepting(a: frozenset[int], b: tuple[frozenset[int], ...]) -> bool:
        return len(inner) in a and not any(len(o) in s for o, s in zip(outers, b, strict=True))

    start = (_closure(inner, [0]), tuple(_closure(o, [0]) for o in outers))
    seen = {start}
    todo = [start]
    while todo:
        a, b = todo.pop()
        if accepting(a, b):
            return False
        for bit in symbols:
            a2 = _step(inner, a, bit)
            if not a2:
                continue
            state = (a2, tuple(_step(o, s, bit) for o, s in zip(outers, b, strict=True)))
            if state not in seen:
                if len(seen) >= budget:
                    return False
                seen.add(state)
                todo.append(state)
    return True


def can_match_dotted(
    pattern: str,
    min_parts: int,
    max_parts: int,
    max_part_length: int,
    *,
    budget: int = MAX_CONTAINMENT_STATES,
) -> bool:
    """Whether glob ``pattern`` matches some dotted name of ``min_parts`` to ``max_parts``
    parts, each 1 to ``max_part_length`` characters not starting with ``-``. A walk over
    the glob's automaton and the name's (parts so far, length of the current part);
    the limit on the whole name's length is not modelled. Past ``budget`` states the
    answer is True: never a false "can't"."""
    tokens = parse_glob(validate_glob(pattern))
    masks = sorted({t for t in tokens if t != STAR} | {1 << _INDEX["-"], 1 << _INDEX["."]})
    signatures: dict[tuple[bool, ...], int] = {}
    for bit in range(len(ALPHABET)):
        signatures.setdefault(tuple(bool(m >> bit & 1) for m in masks), bit)
    dash, dot = _INDEX["-"], _INDEX["."]

    def advance(parts: int, length: int, bit: int) -> tuple[int, int] | None:
        if bit == dot:
            return (parts + 1, 0) if length and parts < max_parts else None
        if (bit == dash and not length) or length >= max_part_length:
            return None
        return parts, length + 1

    start = (_closure(tokens, [0]), 1, 0)
    seen, todo = {start}, [start]
    while todo:
        states, parts, length = todo.pop()
        if len(tokens) in states and parts >= min_parts and length:
            return True
        for bit in signatures.values():
            name_state = advance(parts, length, bit)
            moved = _step(tokens, states, bit) if name_state else frozenset()
            if not moved or name_state is None:
                continue
            state = (moved, *name_state)
            if state not in seen:
                if len(seen) >= budget:
                    return True
                seen.add(state)
                todo.append(state)
    return False
