"""``evaluate(rule, metric, points, now, step) -> Observation``: pure, no I/O.

``points`` are ``(time, value)`` pairs as fetched from the archive (value None =
unknown), oldest first, covering at least ``rule.lookback(step)`` seconds. An
observation says, for each severity of the rule, whether its firing and its clear
condition hold; :func:`level` then applies hysteresis against the previous level.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alarmd.alarmstate import Severity
from alarmd.rules import Rule
from alarmd.threshold import Condition, Function

Point = tuple[float, float | None]


@dataclass(frozen=True, slots=True)
class Check:
    """One severity of a rule, checked against the data."""

    severity: Severity
    condition: Condition
    value: float
    fires: bool
    clears: bool


@dataclass(frozen=True, slots=True)
class Observation:
    """What the data says about one (rule, metric) at time ``at``."""

    rule: Rule
    metric: str
    at: float
    last_time: float | None
    last_value: float | None
    checks: tuple[Check, ...] = ()
    stale_reason: str = ""
    detail: str = ""  # what a check's plugin said (check rules only)

    @property
    def stale(self) -> bool:
        return bool(self.stale_reason)


def evaluate(
    rule: Rule, metric: str, points: Sequence[Point], now: float, step: int
) -> Observation:
    """Check ``rule`` against the recent ``points`` of ``metric``."""
    known = [(t, v) for t, v in points if v is not None and t <= now]
    last_time, last_value = known[-1] if known else (None, None)
    nodata = rule.nodata_after(step)
    if last_time is None or now - last_time > nodata:
        return Observation(
            rule, metric, now, last_time, last_value, stale_reason=f"no data for {nodata}s"
        )
    checks = []
    for severity, fire, clear in rule.levels():
        fire_value = _apply(fire.function, known, now)
        clear_value = _apply(clear.function, known, now)
        if fire_value is None or clear_value is None:
            missing = fire.function if fire_value is None else clear.function
            return Observation(
                rule,
                metric,
                now,
                last_time,
                last_value,
                stale_reason=f"not enough data for {missing}",
            )
        checks.append(
            Check(severity, fire, fire_value, fire.holds(fire_value), clear.holds(clear_value))
        )
    return Observation(rule, metric, now, last_time, last_value, tuple(checks))


def level(
    observation: Observation, previous: Severity | None
) -> tuple[Severity | None, Check | None]:
    """The level the data shows, with hysteresis; and the check that decided it.

    A severity is entered when its firing condition holds, and left only when its clear
    condition holds (by default: when the firing condition no longer holds). When
    nothing holds the second element is the least severe check (for the value shown
    in a recovery message).
    """
    held = previous.rank if previous is not None else 0
    for check in observation.checks:  # most severe first
        if check.fires or (check.severity.rank <= held and not check.clears):
            return check.severity, check
    return None, (observation.checks[-1] if observation.checks else None)


def _apply(function: Function, known: list[tuple[float, float]], now: float) -> float | None:
    if function.name == "last":
        return known[-1][1]
    window = [(t, v) for t, v in known if t > now - function.window]
    if function.name == "rate":
        return _rate(window)
    if not window:
        window = known[-1:]
    values = [v for _, v in window]
    if function.name == "avg":
        return sum(values) / len(values)
    if function.name == "min":
        return min(values)
    return max(values)


def _rate(window: list[tuple[float, float]]) -> float | None:
    """Per-second increase of a counter; a decrease is a reset and counts from zero."""
    if len(window) < 2:
        return None
    increase = 0.0
    for (_, before), (_, after) in zip(window, window[1:], strict=False):
        increase += after - before if after >= before else after
    span = window[-1][0] - window[0][0]
    return increase / span if span > 0 else None
