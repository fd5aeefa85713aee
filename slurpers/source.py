"""What a source is: a name, an option parser and a ``collect`` function.

A source module declares frozen option dataclasses, parses them from the instance's YAML
node (``parse_options``), and yields samples from ``collect(options, run)`` -- and, for
sources that run checks (Nagios plugins), :class:`~rexmon.checkresult.CheckResult` values,
which the runner sends apart from the samples. It does no
transport, retry or logging set-up: the runner does. When one part fails (one disk, one
URL) it calls ``run.problem(...)`` and carries on with the rest; it never invents values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rexmon.checkresult import CheckResult
from rexmon.metric import join_metric, sanitize_component, validate_metric
from rexmon.sample import DsType, Sample, make_sample
from rexmon.timespec import parse_duration
from rexmon.yamlconf import Node

Collected = Sample | CheckResult
COMMON_KEYS = frozenset({"source", "prefix"})
MIN_TIMEOUT = 1.0


def timeout_option(node: Node, default: float) -> float:
    """The ``timeout:`` of an options node (a duration like ``10s``) in seconds, at least
    one second; ``default`` when it is not given."""
    timeout = node.get("timeout")
    if timeout is None:
        return default
    return float(max(MIN_TIMEOUT, timeout.parse(parse_duration)))


@dataclass(frozen=True)
class Problem:
    """A part of a source that could not be collected this run."""

    part: str
    message: str


@dataclass(frozen=True)
class Run:
    """One pass of one instance: the time read once, the host name, a problem list."""

    instance: str
    now: int
    hostname: str
    prefix: tuple[str, ...]
    problems: list[Problem] = field(default_factory=list)

    def problem(self, part: str, message: object) -> None:
        self.problems.append(Problem(part, str(message)))

    def metric(self, *parts: str) -> str:
        """A metric id under this instance's prefix; every part is sanitised."""
        return join_metric(*self.prefix, *parts)

    def sample(
        self,
        parts: tuple[str, ...],
        value: float | None,
        type: DsType = DsType.GAUGE,
        at: int | None = None,
    ) -> Sample:
        """A sample at this run's time (or ``at``, when the source says when it measured);
        counters are rounded (rrdtool wants integers)."""
        if value is not None and type in (DsType.COUNTER, DsType.DERIVE, DsType.ABSOLUTE):
            value = float(int(value))
        return make_sample(self.metric(*parts), self.now if at is None else at, value, type.value)


@dataclass(frozen=True)
class Source:
    """A kind of slurper: ``parse_options(node, instance)`` then ``collect(options, run)``."""

    name: str
    description: str
    parse_options: Callable[[Node, str], Any]
    collect: Callable[[Any, Run], Iterable[Collected]]
    default_prefix: str


def parse_prefix(node: Node | None, default: str, hostname: str, instance: str) -> tuple[str, ...]:
    """The metric prefix: ``{host}`` and ``{instance}`` become sanitised names."""
    text = default if node is None else node.as_str()
    filled = text.replace("{host}", sanitize_component(hostname)).replace(
        "{instance}", sanitize_component(instance)
    )
    parts = tuple(filled.split("."))
    try:
        # a prefix must leave room for at least one more component
        validate_metric(".".join((*parts, "x")))
    except ValueError as exc:
        if node is None:
            raise
        raise node.error(str(exc)) from None
    return parts
