"""The rows of the problem list: what is wrong, since when, the value against its
threshold, who acknowledged it and why, and the downtime that covers it.

Values come from the alarm records (the value alarmd judged); only problems without one
(stale or not-checked metrics) are read from the archive, and at most ``READ_LIMIT`` of
them, so a long list costs no more than a few rrdtool calls.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from alarmd.alarmstate import AlarmState, Severity
from alarmd.record import AlarmRecord
from alarmd.rules import AlarmConfig, Rule
from downtime.model import Downtime
from rrdarchive.archive import Archive
from rrdarchive.errors import ArchiveError
from web.status.tree import MetricStatus, Status, since

READ_LIMIT = 50


@dataclass(frozen=True)
class ProblemRow:
    item: MetricStatus
    since: float
    value: float | None
    threshold: str
    alarms: tuple[AlarmRecord, ...]  # the ones an operator may acknowledge first
    downtimes: tuple[Downtime, ...]

    @property
    def status(self) -> Status:
        return self.item.status

    @property
    def acknowledgeable(self) -> tuple[AlarmRecord, ...]:
        return tuple(r for r in self.alarms if r.state.is_problem and r.ack is None)

    @property
    def acks(self) -> tuple[AlarmRecord, ...]:
        return tuple(r for r in self.alarms if r.ack is not None)


def problem_rows(
    items: Sequence[MetricStatus], rules: AlarmConfig | None, archive: Archive
) -> list[ProblemRow]:
    """One row per metric of ``items`` (already in problem order)."""
    by_name = {rule.name: rule for rule in rules.rules} if rules else {}
    rows = []
    reads = 0
    for item in items:
        alarms = tuple(sorted(item.alarms, key=lambda r: (-_rank(r), r.rule)))
        value = next((r.value for r in alarms if r.value is not None), None)
        if value is None and not alarms and reads < READ_LIMIT:
            reads += 1
            value = _last_value(archive, item.metric)
        rows.append(
            ProblemRow(
                item,
                since(item),
                value,
                "; ".join(filter(None, (_threshold(r, by_name) for r in alarms))),
                alarms,
                item.downtimes,
            )
        )
    return rows


def _rank(record: AlarmRecord) -> int:
    return record.shown_state.rank * 10 + (record.severity.rank if record.severity else 0)


def _threshold(record: AlarmRecord, rules: dict[str, Rule]) -> str:
    rule = rules.get(record.rule)
    if rule is None:
        return ""
    if record.state is AlarmState.STALE:
        return f"{record.rule}: no data"
    condition = rule.critical if record.severity is Severity.CRITICAL else rule.warning
    return f"{record.rule}: {condition}" if condition is not None else record.rule


def _last_value(archive: Archive, metric: str) -> float | None:
    try:
        found = archive.last(metric)
    except ArchiveError:
        return None
    return None if found is None else found[1]
