"""The glob parser, matcher and containment test agree with each other and with fnmatch."""

from __future__ import annotations

import fnmatch
import re
import time

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from rexmon.errors import InvalidMetricName
from rexmon.globs import (
    ALPHABET,
    MAX_CONTAINMENT_STATES,
    STAR,
    glob_matcher,
    glob_within,
    parse_glob,
)

GLOB_ALPHABET = "*?[]!-.ab0Z_"
NAME_ALPHABET = "ab0Z_-.xB9"
PROPERTY = settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# raw text (mostly invalid: the parser must refuse it or agree with fnmatch) and globs
# built from valid pieces (so that containment is exercised often)
pieces = st.sampled_from(
    ["a", "b", "0", "Z", "_", "-", ".", "*", "?", "[ab]", "[!a]", "[a-b]", "[-0]"]
)
globs = st.one_of(
    st.text(GLOB_ALPHABET, min_size=1, max_size=12),
    st.lists(pieces, min_size=1, max_size=8).map("".join),
)
names = st.text(NAME_ALPHABET, max_size=14)


def _valid(pattern: str) -> bool:
    try:
        parse_glob(pattern)
    except InvalidMetricName:
        return False
    return True


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("a.[]", "empty"),
        ("a.[!]", "empty"),
        ("a.[z-a]", "range"),
        ("a.[0-z]", "range"),
        ("a.[a.]", "class"),
        ("a.[[a]", "class"),
        ("a.[a!]", "class"),
        ("a.[]a]", "empty"),
        ("a.[a-b-c]", "'-'"),
        ("a.[ab", "never closed"),
        ("a.b]", "not allowed outside"),
        ("a!.b", "not allowed outside"),
        ("a.b/c", "may only contain"),
    ],
)
def test_ambiguous_globs_are_refused_with_the_reason(pattern: str, reason: str) -> None:
    with pytest.raises(InvalidMetricName, match=re.escape(reason)):
        parse_glob(pattern)


@PROPERTY
@given(globs, st.lists(names, max_size=8))
def test_the_matcher_agrees_with_fnmatch_on_every_valid_glob(
    pattern: str, found: list[str]
) -> None:
    if not _valid(pattern):
        return
    matches = glob_matcher(pattern)
    for name in found:
        assert matches(name) == fnmatch.fnmatchcase(name, pattern), (pattern, name)


def _name_matching(data: st.DataObject, pattern: str) -> str:
    """A random name the glob matches: each token spelled out at random."""
    spelled = []
    for token in parse_glob(pattern):
        if token == STAR:
            spelled.append(data.draw(st.text(NAME_ALPHABET, max_size=4)))
        else:
            chars = [char for bit, char in enumerate(ALPHABET) if token >> bit & 1]
            spelled.append(data.draw(st.sampled_from(chars)))
    return "".join(spelled)


@PROPERTY
@given(globs, st.lists(globs, min_size=1, max_size=3), st.lists(names, max_size=6), st.data())
def test_an_accepted_scope_matches_nothing_outside_the_allowed_globs(
    scope: str, allowed: list[str], found: list[str], data: st.DataObject
) -> None:
    if not _valid(scope) or not all(_valid(glob) for glob in allowed):
        return
    if not glob_within(scope, allowed):
        event("refused")
        return
    event("accepted")
    found += [_name_matching(data, scope) for _ in range(6)]
    for name in found:
        if fnmatch.fnmatchcase(name, scope):
            assert any(fnmatch.fnmatchcase(name, glob) for glob in allowed), (scope, allowed, name)


def test_the_alphabet_is_the_metric_alphabet() -> None:
    assert set(ALPHABET) == set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.")


def test_a_long_scope_is_decided_quickly_or_refused() -> None:
    scope = "host." + "*a" * 60 + ".x"
    assert not glob_within(scope, "host.*b*")
    assert glob_within(scope, "host.*")
    assert MAX_CONTAINMENT_STATES <= 5_000
    tricky = "*a" + "?" * 12  # 2^13 subsets: refused within the budget, quickly
    started = time.perf_counter()
    assert not glob_within(tricky, [tricky, "*b" + "?" * 12])
    assert time.perf_counter() - started < 2


def test_the_parsed_glob_cache_stays_at_its_bound_under_100k_distinct_globs() -> None:
    bound = parse_glob.cache_info().maxsize
    assert bound is not None and bound <= 1024
    for number in range(100_000):
        parse_glob(f"host.node{number}.*")
    assert parse_glob.cache_info().currsize == bound
