"""What is drawn over a metric's data: downtime bands, alarm thresholds, alarm marks.

The same :class:`Overlays` feed the PNG/SVG graphs (as rrdtool ``Band``/``HLine``/``VRule``
elements), the JSON series the interactive chart draws, and the graphs' ETags. Downtimes
come from the downtime store (the records that silence alarms), thresholds from the alarm
rules matching the metrics, marks from alarmd's transition history.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from alarmd.alarmstate import AlarmState
from alarmd.rules import AlarmConfig
from alarmd.statestore import AlarmStore, TransitionRow
from alarmd.threshold import Comparison, Condition
from downtime.model import Kind
from downtime.store import DowntimeStore
from rrdarchive.graph import Band, HLine, VRule

# Okabe-Ito colours, told apart with every common colour-vision deficiency: planned
# downtime blue, unplanned reddish purple, warning orange, critical vermillion, alarm
# fired black, cleared bluish green (metric.js and rexmon.css use the same ones)
COLOURS = {
    "planned": "#0072b240",
    "unplanned": "#cc79a760",
    "warning": "#e69f00",
    "critical": "#d55e00",
    "fired": "#000000",
    "cleared": "#009e73",
}
MAX_LEGEND_DOWNTIMES = 6
MAX_MARKS = 200
PER_METRIC_QUERIES = 10  # beyond this many metrics, one query over the range, then filtered
SITE_WIDE_ROWS = 5000  # the newest transitions of that query
MAX_REASON = 60
_CLEARED = (AlarmState.OK, AlarmState.RESOLVED)
_PROBLEMS = (AlarmState.FIRING, AlarmState.STALE, AlarmState.SILENCED)


@dataclass(frozen=True)
class DowntimeBand:
    start: int  # the whole window, which may reach beyond the graph
    end: int
    kind: str  # planned | unplanned
    reason: str
    downtime_id: int


@dataclass(frozen=True)
class Threshold:
    rule: str
    severity: str  # warning | critical
    value: float
    condition: str


@dataclass(frozen=True)
class AlarmMark:
    at: int
    rule: str
    metric: str
    event: str  # fired | cleared
    severity: str | None


@dataclass(frozen=True)
class Overlays:
    bands: tuple[DowntimeBand, ...] = ()
    thresholds: tuple[Threshold, ...] = ()
    marks: tuple[AlarmMark, ...] = ()

    def graph_elements(self, scale: float = 1.0) -> tuple[list[Band], list[HLine], list[VRule]]:
        """rrdtool elements: each downtime named once in the legend (reason included);
        threshold values multiplied by ``scale`` as the data are."""
        bands: list[Band] = []
        named: set[int] = set()
        for band in self.bands:
            label = ""
            if band.downtime_id not in named and len(named) < MAX_LEGEND_DOWNTIMES:
                named.add(band.downtime_id)
                reason = band.reason[:MAX_REASON] + ("…" if len(band.reason) > MAX_REASON else "")
                label = f"{band.kind} downtime #{band.downtime_id}: {reason}"
            bands.append(Band(band.start, band.end, COLOURS[band.kind], label))
        hidden = len({b.downtime_id for b in self.bands}) - len(named)
        if hidden > 0:  # the legend names the rest on one band of an unnamed downtime
            index = max(i for i, b in enumerate(self.bands) if b.downtime_id not in named)
            shaded = bands[index]
            more = f"and {hidden} more downtimes"
            bands[index] = Band(shaded.start, shaded.end, shaded.colour, more)
        lines = [
            HLine(t.value * scale, COLOURS[t.severity], f"{t.severity} {t.condition} ({t.rule})")
            for t in self.thresholds
        ]
        rules: list[VRule] = []
        legend: set[tuple[str, str | None]] = set()
        for mark in self.marks:
            kind = "cleared" if mark.event == "cleared" else mark.severity or "critical"
            colour = COLOURS["cleared" if mark.event == "cleared" else "fired"]
            key = (mark.event, mark.severity)
            label = ""
            if key not in legend:
                legend.add(key)
                label = "alarm cleared" if mark.event == "cleared" else f"alarm fired ({kind})"
            rules.append(VRule(mark.at, colour, label))
        return bands, lines, rules

    def to_json(self) -> dict[str, list[dict[str, object]]]:
        return {
            "downtimes": [asdict(band) for band in self.bands],
            "thresholds": [asdict(threshold) for threshold in self.thresholds],
            "alarms": [asdict(mark) for mark in self.marks],
        }

    def fingerprint(self) -> str:
        return hashlib.sha256(repr(self).encode()).hexdigest()[:32]


def collect_overlays(
    metrics: Sequence[str],
    start: int,
    end: int,
    downtimes: DowntimeStore,
    rules: AlarmConfig | None,
    alarms: AlarmStore,
) -> Overlays:
    return Overlays(
        downtime_bands(downtimes, metrics, start, end),
        thresholds(rules, metrics),
        alarm_marks(alarms, metrics, start, end),
    )


def downtime_bands(
    store: DowntimeStore, metrics: Sequence[str], start: int, end: int
) -> tuple[DowntimeBand, ...]:
    found: dict[tuple[int, int, int], DowntimeBand] = {}
    for window in store.overlapping(metrics, start, end):
        if window.end <= start or window.start >= end:
            continue
        downtime = window.downtime
        kind = "planned" if downtime.kind is Kind.PLANNED else "unplanned"
        band = DowntimeBand(window.start, window.end, kind, downtime.reason, downtime.id)
        found[(downtime.id, window.start, window.end)] = band
    return tuple(sorted(found.values(), key=lambda band: (band.start, band.downtime_id)))


def thresholds(rules: AlarmConfig | None, metrics: Sequence[str]) -> tuple[Threshold, ...]:
    """The warning/critical values of the rules matching any of ``metrics``."""
    if rules is None:
        return ()
    found: list[Threshold] = []
    for rule in rules.rules:
        if not any(rule.matches(metric) for metric in metrics):
            continue
        for severity, condition in (("warning", rule.warning), ("critical", rule.critical)):
            if condition is None:
                continue
            for value in threshold_values(condition):
                item = Threshold(rule.name, severity, value, str(condition))
                if item not in found:
                    found.append(item)
    return tuple(found)


def threshold_values(condition: Condition) -> list[float]:
    """The finite values a condition compares with (one for ``> 90``, two for a range)."""
    test = condition.test
    if isinstance(test, Comparison):
        values = [test.threshold]
    else:
        values = [test.start, test.end]
    return [value for value in values if math.isfinite(value)]


def transitions(
    store: AlarmStore, metrics: Sequence[str], start: int, end: int, limit: int
) -> list[TransitionRow]:
    """The alarm transitions of ``metrics`` in ``[start, end)``, newest first: a query per
    metric for a few, else one over the range (its newest SITE_WIDE_ROWS) kept to them."""
    if len(metrics) <= PER_METRIC_QUERIES:
        rows = [
            row
            for metric in metrics
            for row in store.history(metric=metric, start=start, end=end, limit=limit)
        ]
    else:
        wanted = set(metrics)
        rows = [
            row
            for row in store.history(start=start, end=end, limit=SITE_WIDE_ROWS)
            if row.metric in wanted
        ]
    rows.sort(key=lambda row: (-row.at, row.rule, row.metric))
    return rows


def alarm_marks(
    store: AlarmStore, metrics: Sequence[str], start: int, end: int
) -> tuple[AlarmMark, ...]:
    """The moments an alarm on ``metrics`` fired (or got worse) and cleared."""
    marks: list[AlarmMark] = []
    for row in transitions(store, metrics, start, end + 1, MAX_MARKS):
        severity = row.severity.value if row.severity else None
        if row.to_state is AlarmState.FIRING:
            marks.append(AlarmMark(int(row.at), row.rule, row.metric, "fired", severity))
        elif row.to_state in _CLEARED and row.from_state in _PROBLEMS:
            marks.append(AlarmMark(int(row.at), row.rule, row.metric, "cleared", None))
    marks.sort(key=lambda mark: (mark.at, mark.rule, mark.metric))
    return tuple(marks[-MAX_MARKS:])
