"""Whether a gate is open now, and why not.

Everything but the conditions comes from the status snapshot the status page shows (each
metric's alarms, freshness and the downtimes covering it now), so a gate and the page
never disagree; a condition reads the last value of each metric it names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alarmd.alarmstate import AlarmState
from downtime.model import Kind
from web.gates.config import Gate
from web.status.snapshot import Snapshot
from web.status.tree import MetricStatus, Status

MAX_REASONS = 20  # listed; the rest are counted

LastValue = Callable[[str], "float | None"]


@dataclass(frozen=True)
class GateState:
    gate: Gate
    ready: bool
    reasons: tuple[str, ...]
    unlisted: int  # reasons beyond MAX_REASONS
    metrics: int  # in the gate's scopes
    checked_at: float

    def to_json(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "name": self.gate.name,
            "ready": self.ready,
            "reasons": list(self.reasons),
            "metrics": self.metrics,
            "checked_at": int(self.checked_at),
        }
        if self.unlisted:
            answer["reasons_unlisted"] = self.unlisted
        return answer


def check(gate: Gate, snapshot: Snapshot, last_value: LastValue) -> GateState:
    """The gate's state at the snapshot's time; ``last_value`` reads a metric's last value."""
    in_scope: dict[str, MetricStatus] = {}
    for scope in gate.scopes:
        in_scope.update((m.metric, m) for m in snapshot.select(scope))
    reasons: list[str] = []
    if not in_scope:
        reasons.append(f"no metric matches {', '.join(gate.scopes)}")
    for name in sorted(in_scope):
        reasons += _closing(gate, in_scope[name])
    for condition in gate.conditions:
        matched = snapshot.select(condition.glob)
        if not matched:
            reasons.append(f"{condition}: no metric matches {condition.glob}")
        for status in matched:
            value = last_value(status.metric)
            if value is None or not condition.holds(value):
                shown = "unknown" if value is None else f"{value:g}"
                reasons.append(f"{condition}: {status.metric} is {shown}")
    listed = tuple(reasons[:MAX_REASONS])
    return GateState(
        gate, not reasons, listed, len(reasons) - len(listed), len(in_scope), snapshot.now
    )


def _closing(gate: Gate, status: MetricStatus) -> list[str]:
    """What about one metric in scope keeps the gate closed."""
    reasons = []
    for record in status.alarms:
        severity = record.severity
        if (
            record.shown_state is AlarmState.FIRING
            and severity is not None
            and severity.rank >= gate.severity.rank
        ):
            reasons.append(f"{record.rule} is firing ({severity.value}) on {record.metric}")
    if gate.fresh and status.status is Status.STALE:
        reasons.append(f"{status.metric} has no recent data")
    if gate.unplanned_downtime:
        for downtime in status.downtimes:
            if downtime.kind is Kind.UNPLANNED:
                reasons.append(
                    f"unplanned downtime #{downtime.id} covers {status.metric}: {downtime.reason}"
                )
    return reasons
