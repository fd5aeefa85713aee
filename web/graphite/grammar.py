"""The target grammar of Graphite, read by a recursive-descent parser into a small tree.

    target     := expression END
    expression := call | path | number | string | boolean | none
    call       := NAME "(" [argument ("," argument)*] ")"
    argument   := [NAME "="] expression
    path       := path characters, with "{a,b}" alternatives (their commas belong to the path)

A string runs to its closing quote; a backslash escapes the next character and stays in
the value (graphite-web keeps it too, so ``aliasSub`` patterns read ``'\\d+'`` as written).
Nothing is evaluated here and nothing else is accepted: an unknown character, an
unclosed call or string, a keyword argument before a positional one each raise
:class:`BadTarget` naming the 1-based position.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from web.graphite.errors import BadTarget

MAX_TARGET = 8_000
MAX_DEPTH = 40
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z", re.ASCII)
_PATH_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-.*?[]{}!")
_SPACES = " \t"


@dataclass(frozen=True)
class Path:
    text: str
    position: int


@dataclass(frozen=True)
class Literal:
    value: str | float | int | bool | None
    position: int


@dataclass(frozen=True)
class Call:
    name: str
    args: tuple[Node, ...]
    kwargs: tuple[tuple[str, Node], ...]
    position: int


Node = Path | Literal | Call


def parse_target(target: str) -> Node:
    """The tree of one target, or :class:`BadTarget` saying where it goes wrong."""
    if len(target) > MAX_TARGET:
        raise BadTarget(
            target[:60] + "...", MAX_TARGET, f"a target has at most {MAX_TARGET} characters"
        )
    return _Parser(target).target()


def first_path(node: Node) -> str | None:
    """The first path in a tree, depth first (Graphite's ``_getFirstPathExpression``)."""
    if isinstance(node, Path):
        return node.text
    if isinstance(node, Call):
        for child in (*node.args, *(value for _, value in node.kwargs)):
            found = first_path(child)
            if found is not None:
                return found
    return None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0
        self.depth = 0

    def fail(self, reason: str, at: int | None = None) -> BadTarget:
        return BadTarget(self.text, (self.at if at is None else at) + 1, reason)

    def skip(self) -> None:
        while self.at < len(self.text) and self.text[self.at] in _SPACES:
            self.at += 1

    def peek(self) -> str:
        self.skip()
        return self.text[self.at] if self.at < len(self.text) else ""

    def target(self) -> Node:
        if not self.text.strip():
            raise self.fail("empty target", 0)
        node = self.expression()
        if self.peek():
            raise self.fail(f"unexpected {self.text[self.at]!r} after the expression")
        return node

    def expression(self) -> Node:
        char = self.peek()
        start = self.at
        if not char:
            raise self.fail("expected an expression, got the end of the target")
        if char in "'\"":
            return Literal(self.string(), start)
        name = _NAME.match(self.text, self.at)
        if name:
            after = name.end()
            while after < len(self.text) and self.text[after] in _SPACES:
                after += 1
            if after < len(self.text) and self.text[after] == "(":
                self.at = after + 1
                return self.call(name.group(), start)
        word = self.word()
        if not word:
            raise self.fail(f"unexpected {char!r}; expected a path, a call, a number or a string")
        lowered = word.lower()
        if lowered in ("true", "false"):
            return Literal(lowered == "true", start)
        if lowered == "none":
            return Literal(None, start)
        if _NUMBER.match(word):
            number = float(word)
            return Literal(int(word) if re.fullmatch(r"[+-]?\d+", word) else number, start)
        return Path(word, start)

    def word(self) -> str:
        """A path (or number, or keyword): path characters, commas only inside braces."""
        text = self.text
        start = self.at
        braces = 0
        while self.at < len(text):
            char = text[self.at]
            if char == "{":
                braces += 1
            elif char == "}":
                if braces == 0:
                    raise self.fail("'}' without its '{'")
                braces -= 1
            elif char == "," and braces:
                pass
            elif char == "+" and self.at == start:
                pass
            elif char not in _PATH_CHARS:
                break
            self.at += 1
        if braces:
            raise self.fail("'{' is never closed", start)
        return text[start : self.at]

    def string(self) -> str:
        quote = self.text[self.at]
        start = self.at
        self.at += 1
        out: list[str] = []
        while self.at < len(self.text):
            char = self.text[self.at]
            if char == "\\" and self.at + 1 < len(self.text):  # kept, as graphite-web keeps it
                out.append(self.text[self.at : self.at + 2])
                self.at += 2
                continue
            if char == quote:
                self.at += 1
                return "".join(out)
            out.append(char)
            self.at += 1
        raise self.fail(f"the string opened with {quote} is never closed", start)

    def call(self, name: str, start: int) -> Call:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.fail(f"calls nested deeper than {MAX_DEPTH}", start)
        args: list[Node] = []
        kwargs: list[tuple[str, Node]] = []
        if self.peek() == ")":
            self.at += 1
            self.depth -= 1
            return Call(name, (), (), start)
        while True:
            if not self.peek():
                raise self.fail(f"the call of {name} opened at {start + 1} is never closed")
            keyword = _NAME.match(self.text, self.at)
            after = keyword.end() if keyword else self.at
            while after < len(self.text) and self.text[after] in _SPACES:
                after += 1
            if keyword and after < len(self.text) and self.text[after] == "=":
                self.at = after + 1
                kwargs.append((keyword.group(), self.expression()))
            else:
                if kwargs:
                    raise self.fail("a positional argument after a keyword argument")
                args.append(self.expression())
            char = self.peek()
            if char == ",":
                self.at += 1
                continue
            if char == ")":
                self.at += 1
                self.depth -= 1
                return Call(name, tuple(args), tuple(kwargs), start)
            if not char:
                raise self.fail(f"the call of {name} opened at {start + 1} is never closed")
            raise self.fail(f"expected ',' or ')' in the call of {name}, got {char!r}")
