"""The ``gates:`` section of the server config: what "ready" means for each gate.

    gates:
      - name: cms-production
        scopes: ["dcache.*", "batch.cms.*"]
        severity: critical        # a firing alarm at or above this closes the gate (warning)
        fresh: true               # every metric in scope has recent data (true)
        unplanned_downtime: true  # an active unplanned downtime in scope closes it (true)
        conditions: ["calibration.*.done == 1"]

Each condition is ``<glob> <operator> <number>``; every metric the glob matches must hold
it (its last value), and a glob that matches no metric fails the condition.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from alarmd.alarmstate import Severity
from rexmon.errors import InvalidMetricName
from rexmon.globs import validate_glob
from rexmon.yamlconf import Node

GATE_KEYS = frozenset({"name", "scopes", "severity", "fresh", "unplanned_downtime", "conditions"})
NAME = re.compile(r"[a-z0-9][a-z0-9_-]{0,63}")
OPERATORS: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<=": operator.le,
    ">=": operator.ge, "<": operator.lt, ">": operator.gt,
}  # fmt: skip
SEVERITIES = tuple(severity.value for severity in Severity)
CONDITION = re.compile(r"\s*(\S+)\s*(==|!=|<=|>=|<|>)\s*(\S+)\s*")


@dataclass(frozen=True)
class Condition:
    """``glob op number`` over the last values of the metrics ``glob`` matches."""

    glob: str
    op: str
    number: float

    def holds(self, value: float) -> bool:
        return OPERATORS[self.op](value, self.number)

    def __str__(self) -> str:
        return f"{self.glob} {self.op} {self.number:g}"


@dataclass(frozen=True)
class Gate:
    name: str
    scopes: tuple[str, ...]
    severity: Severity = Severity.WARNING
    fresh: bool = True
    unplanned_downtime: bool = True
    conditions: tuple[Condition, ...] = ()


def gates_from_node(node: Node | None) -> tuple[Gate, ...]:
    """Parse the ``gates:`` list; errors name the file, line and key."""
    if node is None:
        return ()
    gates: list[Gate] = []
    for item in node.as_list():
        item.mapping(GATE_KEYS, required=("name", "scopes"))
        name = item["name"].as_str()
        if not NAME.fullmatch(name):
            raise item["name"].error(
                "expected lower-case letters, digits, '-' and '_' (it is part of a URL)"
            )
        if any(gate.name == name for gate in gates):
            raise item["name"].error(f"a gate named {name!r} is already defined")
        scopes = item["scopes"]
        globs = tuple(_glob(child, child.as_str()) for child in _items(scopes))
        if not globs:
            raise scopes.error("at least one scope is needed")
        severity = item.get("severity")
        fresh, unplanned = item.get("fresh"), item.get("unplanned_downtime")
        conditions = item.get("conditions")
        gates.append(
            Gate(
                name,
                globs,
                Severity(severity.as_choice(SEVERITIES)) if severity else Severity.WARNING,
                fresh.as_bool() if fresh else True,
                unplanned.as_bool() if unplanned else True,
                tuple(_condition(c, c.as_str()) for c in _items(conditions)) if conditions else (),
            )
        )
    return tuple(gates)


def _items(node: Node) -> list[Node]:
    """A list's items; a single string stands for a list of one."""
    return [node] if isinstance(node.value, str) else node.as_list()


def _glob(node: Node, text: str) -> str:
    try:
        return validate_glob(text)
    except InvalidMetricName as exc:
        raise node.error(str(exc)) from None


def _condition(node: Node, text: str) -> Condition:
    match = CONDITION.fullmatch(text)
    if match is None:
        raise node.error(f"{text!r}: expected '<glob> <operator> <number>', e.g. 'a.*.done == 1'")
    glob, op, number = match.groups()
    try:
        value = float(number)
    except ValueError:
        raise node.error(f"{text!r}: {number!r} is not a number") from None
    return Condition(_glob(node, glob), op, value)
