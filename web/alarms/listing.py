"""Which alarms the alarms page lists, in which order, and with which downtime.

Pure functions over :class:`AlarmRecord` values: the page and its JSON twin both use them.
Problems come worst first — critical, then warning, then stale, then the rest — and a
filter (state, rule, host) picked from the query string narrows every section alike.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping

from alarmd.alarmstate import AlarmState, Severity
from alarmd.record import AlarmRecord
from rexmon.errors import InvalidMetricName
from rexmon.metric import glob_matcher

SECTIONS = ("firing", "pending", "silenced", "acknowledged", "flapping")
STATES = ("critical", "warning", "stale", "pending", "silenced", "acknowledged", "flapping")
MAX_FILTER = 128


def problem_rank(record: AlarmRecord) -> int:
    """0 critical, 1 warning, 2 stale, 3 anything else (pending, silenced, ...)."""
    state = record.state
    if state is AlarmState.FIRING and record.severity is Severity.CRITICAL:
        return 0
    if state is AlarmState.FIRING and record.severity is Severity.WARNING:
        return 1
    if state is AlarmState.STALE:
        return 2
    return 3


def worst_first(records: Iterable[AlarmRecord]) -> list[AlarmRecord]:
    """By :func:`problem_rank`, then the longest-standing first, then by name."""
    return sorted(records, key=lambda r: (problem_rank(r), r.since, r.rule, r.metric))


def host_of(metric: str) -> str:
    """The host of ``<category>.<host>.<rest>``."""
    return metric.split(".")[1]


@dataclasses.dataclass(frozen=True)
class AlarmFilter:
    """The page's filter; empty fields filter nothing. ``host`` may be a glob."""

    state: str = ""
    rule: str = ""
    host: str = ""
    error: str = ""
    host_match: Callable[[str], bool] | None = dataclasses.field(
        default=None, compare=False, repr=False
    )

    @property
    def active(self) -> bool:
        return bool(self.state or self.rule or self.host)

    def keeps(self, record: AlarmRecord, now: float) -> bool:
        if self.rule and record.rule != self.rule:
            return False
        if self.host_match is not None and not self.host_match(f"x.{host_of(record.metric)}"):
            return False
        return not self.state or self.state in states_of(record, now)


def filter_from(args: Mapping[str, str]) -> AlarmFilter:
    """The filter in ``?state=&rule=&host=``; an unknown state or a broken host glob
    is reported (``error``) and that part ignored, never a 500."""
    state = (args.get("state") or "").strip().lower()
    rule = (args.get("rule") or "").strip()[:MAX_FILTER]
    host = (args.get("host") or "").strip()[:MAX_FILTER]
    error = ""
    if state and state not in STATES:
        error, state = f"unknown state {state!r}; choose one of {', '.join(STATES)}", ""
    host_match = None
    if host:
        try:
            host_match = glob_matcher(f"x.{host}")  # one component, as in a metric id
        except InvalidMetricName:
            error, host = f"{host!r} is not a host name or glob", ""
    return AlarmFilter(state, rule, host, error, host_match)


def states_of(record: AlarmRecord, now: float) -> set[str]:
    """The filter states an alarm answers to (``critical`` firing, ``acknowledged`` ...)."""
    shown = record.shown_state
    found = {shown.value}
    if shown is AlarmState.FIRING and record.severity is not None:
        found.add(record.severity.value)
    if record.ack is not None and record.ack.active(now) and record.state.is_problem:
        found.add("acknowledged")
    if record.flapping:
        found.add("flapping")
    return found


def sections_of(records: Iterable[AlarmRecord], now: float) -> dict[str, list[AlarmRecord]]:
    """Firing (and stale), pending, silenced, acknowledged and flapping alarms, each worst
    first; an alarm shows in one of the first four and, when flapping, also under flapping."""
    sections: dict[str, list[AlarmRecord]] = {name: [] for name in SECTIONS}
    for record in records:
        shown = record.shown_state
        acked = record.ack is not None and record.ack.active(now) and record.state.is_problem
        if shown is AlarmState.SILENCED:
            sections["silenced"].append(record)
        elif acked:
            sections["acknowledged"].append(record)
        elif shown in (AlarmState.FIRING, AlarmState.STALE):
            sections["firing"].append(record)
        elif shown is AlarmState.PENDING:
            sections["pending"].append(record)
        if record.flapping:
            sections["flapping"].append(record)
    return {name: worst_first(found) for name, found in sections.items()}
