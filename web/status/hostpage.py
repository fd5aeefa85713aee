"""What the host page shows: each metric with its state, a sparkline and its last value,
the host's alarms and downtimes, and a strip of the host's worst state over 24 h and 7 d.

The strip is replayed from alarmd's transition history (``AlarmStore.history``, one
query per metric that has an alarm record): each alarm's shown state at a moment is the
``to_state`` of its last transition before it, or the ``from_state`` of its first one
(the state it left) when an older transition shows that state held. An alarm with no
transition in the window holds its present state since it began and nothing is known
before; a slice where no alarm is known shows "no
information" (grey), never OK. Metrics no rule checks have no history.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from alarmd.alarmstate import AlarmState, Severity
from alarmd.record import AlarmRecord
from alarmd.statestore import TransitionRow
from rrdarchive.errors import ArchiveError
from web.services import get_services
from web.status.tree import MetricStatus, Status, build_groups, worst_status

SPARK_SPAN = 86400
SPARK_STEP = 1800
SPARK_WIDTH, SPARK_HEIGHT = 120, 24
STRIPS = (("24 h", 86400, 48), ("7 d", 7 * 86400, 56))
HISTORY_ROWS = 2000


@dataclass(frozen=True)
class MetricRow:
    item: MetricStatus
    last_value: float | None
    spark: str  # SVG polyline points, "" when there is nothing to draw


@dataclass(frozen=True)
class Cell:
    start: int
    end: int
    status: Status | None  # None: no information


def host_context(host: str, items: list[MetricStatus], now: float) -> dict[str, Any]:
    """The template's variables for ``/hosts/<host>``."""
    services = get_services()
    archive = services.archive
    records: list[AlarmRecord] = []
    categories = sorted({m.category for m in items})
    for category in categories:
        records += services.alarm_store.records(metric_glob=f"{category}.{host}.*")
    sparks = _sparklines([m.metric for m in items], int(now))
    rows = []
    for item in sorted(items, key=lambda m: (-m.status.rank, m.metric)):
        try:
            last = archive.last(item.metric)
        except ArchiveError:
            last = None
        rows.append(MetricRow(item, last[1] if last else None, sparks.get(item.metric, "")))
    history = [
        row
        for metric in sorted({r.metric for r in records})
        for row in services.alarm_store.history(
            metric=metric, start=now - STRIPS[-1][1], limit=HISTORY_ROWS
        )
    ]
    window = now - STRIPS[-1][1]
    earlier = {
        (row.rule, row.metric)
        for metric in sorted({r.metric for r in records})
        for row in services.alarm_store.history(metric=metric, end=window, limit=50)
    }
    downtimes = {d.id: d for m in items for d in m.downtimes}
    return {
        "host": host,
        "rows": rows,
        "group": build_groups(items)[0] if len(categories) == 1 else None,
        "groups": build_groups(items),
        "worst": worst_status(m.status for m in items),
        "records": sorted(records, key=lambda r: (-r.shown_state.rank, r.rule, r.metric)),
        "downtimes": sorted(downtimes.values(), key=lambda d: d.start),
        "strips": [
            (name, status_strip(records, history, int(now), span, cells, earlier))
            for name, span, cells in STRIPS
        ],
        "scope": ", ".join(f"{c}.{host}.*" for c in categories),
        "spark_size": (SPARK_WIDTH, SPARK_HEIGHT),
        "checks": [
            check
            for category in categories
            for check in services.alarm_store.checks.current(f"{category}.{host}.*")
        ],
    }


def status_strip(
    records: Sequence[AlarmRecord],
    history: Sequence[TransitionRow],
    now: int,
    span: int,
    cells: int,
    earlier: Collection[tuple[str, str]] = (),
) -> list[Cell]:
    """The worst shown state of the alarms in each of ``cells`` equal slices of the last
    ``span`` seconds. ``earlier``: the (rule, metric) alarms that also changed before
    ``history`` begins, whose first row's ``from_state`` therefore held until then."""
    width = span // cells
    start = now - width * cells
    by_alarm: dict[tuple[str, str], list[TransitionRow]] = {}
    for row in history:
        by_alarm.setdefault((row.rule, row.metric), []).append(row)
    timelines = []
    for record in records:
        rows = sorted(by_alarm.get((record.rule, record.metric), []), key=lambda r: r.at)
        key = (record.rule, record.metric)
        timelines.append(_timeline(record, rows, key in earlier))
    strip = []
    for number in range(cells):
        low, high = start + number * width, start + (number + 1) * width
        found = [s for line in timelines for s in _states_within(line, low, high)]
        strip.append(Cell(low, high, worst_status(found) if found else None))
    return strip


Timeline = list[tuple[float, Status | None]]  # (from when, status), oldest first


def _timeline(record: AlarmRecord, rows: list[TransitionRow], known_before: bool) -> Timeline:
    current = _status(record.shown_state, record.severity)
    if not rows:  # no change in the window: the present state since it began
        return [(float("-inf"), None), (record.since, current)]
    before = _status(rows[0].from_state, record.severity) if known_before else None
    line: Timeline = [(float("-inf"), before)]
    for row in rows:
        line.append((row.at, _status(row.to_state, row.severity or record.severity)))
    return line


def _states_within(line: Timeline, low: float, high: float) -> list[Status]:
    found: list[Status] = []
    for number, (at, status) in enumerate(line):
        end = line[number + 1][0] if number + 1 < len(line) else float("inf")
        if at < high and end > low and status is not None:
            found.append(status)
    return found


def _status(state: AlarmState, severity: Severity | None) -> Status:
    if state is AlarmState.SILENCED:
        return Status.IN_DOWNTIME
    if state is AlarmState.STALE:
        return Status.STALE
    if state is AlarmState.FIRING:
        return Status.WARNING if severity is Severity.WARNING else Status.CRITICAL
    return Status.OK


def _sparklines(metrics: list[str], now: int) -> dict[str, str]:
    """SVG polyline points of the last day of each metric, read in one ``xport``."""
    if not metrics:
        return {}
    try:
        series = get_services().archive.fetch_many(metrics, now - SPARK_SPAN, now, SPARK_STEP)
    except (ArchiveError, ValueError):
        return {}
    found = {}
    for metric, one in zip(metrics, series, strict=True):
        values = list(one.values)
        known = [v for v in values if v is not None]
        if not known:
            continue
        low, high = min(known), max(known)
        scale = (high - low) or 1.0
        step = SPARK_WIDTH / max(1, len(values) - 1)
        found[metric] = " ".join(
            f"{i * step:.1f},{SPARK_HEIGHT - 2 - (v - low) / scale * (SPARK_HEIGHT - 4):.1f}"
            for i, v in enumerate(values)
            if v is not None
        )
    return found
