"""The target parser: nested calls, strings, numbers, booleans, wildcard paths; refusals
name the 1-based position."""

from __future__ import annotations

import pytest

from web.graphite.errors import BadTarget
from web.graphite.grammar import Call, Literal, Path, first_path, parse_target


def test_nested_calls_with_every_kind_of_argument_parse_into_a_tree() -> None:
    tree = parse_target(
        "alias(summarize(sumSeries(host.*.cpu.{user,system}), '1h', func=\"max\","
        " alignToFrom=true), 'cpu \\'all\\'')"
    )
    assert isinstance(tree, Call) and tree.name == "alias"
    inner = tree.args[0]
    assert isinstance(inner, Call) and inner.name == "summarize"
    assert inner.args[0] == Call("sumSeries", (Path("host.*.cpu.{user,system}", 26),), (), 16)
    assert inner.args[1] == Literal("1h", 53)
    assert dict(inner.kwargs) == {"func": Literal("max", 64), "alignToFrom": Literal(True, 83)}
    assert tree.args[1] == Literal("cpu \\'all\\'", 90)


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("-2", -2), ("+3", 3), ("1.5", 1.5), ("-1.5e3", -1500.0), (".5", 0.5),
     ("true", True), ("False", False), ("none", None), ("'s'", "s"), ('"d q"', "d q")],
)  # fmt: skip
def test_literals_are_numbers_booleans_none_and_strings(text: str, value: object) -> None:
    tree = parse_target(f"f(a.b, {text})")
    assert isinstance(tree, Call)
    literal = tree.args[1]
    assert isinstance(literal, Literal) and literal.value == value
    assert type(literal.value) is type(value)


def test_paths_keep_wildcards_classes_and_braces_with_commas() -> None:
    assert parse_target("host.n[0-9]?.cpu.*") == Path("host.n[0-9]?.cpu.*", 0)
    tree = parse_target("sumSeries(a.{b,c}.d, e.[!x]*)")
    assert isinstance(tree, Call)
    assert [arg for arg in tree.args] == [Path("a.{b,c}.d", 10), Path("e.[!x]*", 21)]
    assert first_path(parse_target("scale(sumSeries(x.y, z.w), 2)")) == "x.y"


@pytest.mark.parametrize(
    ("target", "position", "words"),
    [
        ("sumSeries(a.b", 14, "never closed"),
        ("a.b)", 4, "unexpected ')'"),
        ("f(a.b,)", 7, "expected a path"),
        ("alias(a.b, 'x)", 12, "string opened"),
        ("a.b c.d", 5, "after the expression"),
        ("f(x=1, a.b)", 8, "positional argument after a keyword"),
        ("a.{b,c", 1, "'{' is never closed"),
        ("a.b}", 4, "'}' without"),
        ("f(a.b; rm)", 6, "expected ',' or ')'"),
        ("", 1, "empty target"),
        ("f(a.b, @x)", 8, "unexpected '@'"),
    ],
)
def test_a_bad_target_is_refused_naming_its_position(
    target: str, position: int, words: str
) -> None:
    with pytest.raises(BadTarget) as caught:
        parse_target(target)
    assert caught.value.position == position, str(caught.value)
    assert words in str(caught.value)
    assert f"at position {position}" in str(caught.value)


def test_deep_nesting_and_huge_targets_are_refused_not_recursed_into() -> None:
    with pytest.raises(BadTarget, match="nested deeper"):
        parse_target("f(" * 100 + "a.b" + ")" * 100)
    with pytest.raises(BadTarget, match="at most"):
        parse_target("a." * 5000 + "b")
