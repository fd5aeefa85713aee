"""One evaluation pass of alarmd: every (rule, metric) read, evaluated and advanced.

:meth:`Cycle.run` lists the metrics of each rule (cached, re-listed every
``listing_refresh``), fetches each metric once (the longest window its rules need, at
the step of its file), evaluates every rule on it and advances the alarm's record with
the effect of the downtimes covering the metric, triggering the flexible downtimes whose
window holds a problem (one that appears then, or one already there when it opens).
Nothing is stored or sent here: the daemon stores the result in one transaction, then
the outbox sends it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from alarmd.alarmstate import AlarmState
from alarmd.config import AlarmdConfig
from alarmd.evaluate import Observation, evaluate
from alarmd.message import Message
from alarmd.outbox import NotificationRow, Outcome, alarm_key
from alarmd.record import AlarmRecord, new_record
from alarmd.rules import AlarmConfig, Rule
from alarmd.statestore import Key
from alarmd.transition import Event, transition
from downtime.index import DowntimeIndex
from downtime.model import Downtime, Effect
from downtime.store import DowntimeStore
from rexmon.errors import RexmonError
from rrdarchive.archive import Archive

log = logging.getLogger(__name__)

_PROBLEMS = (AlarmState.PENDING, AlarmState.FIRING, AlarmState.STALE)
_STRENGTH = (Effect.LABEL, Effect.MUTE, Effect.SKIP)  # weakest first


@dataclass
class Advance:
    """One (rule, metric) after this pass's transition."""

    previous: AlarmRecord
    version: int | None  # of the stored record; None: a new alarm
    record: AlarmRecord
    events: list[Event]
    suppressed: list[NotificationRow] = field(default_factory=list)


@dataclass(frozen=True)
class Seen:
    """What a pass saw of one (rule, metric): enough to advance it again after a retry."""

    observation: Observation | None
    effect: Effect | None
    covering: list[Downtime]


@dataclass
class Pass:
    """The result of :meth:`Cycle.run`."""

    advances: dict[Key, Advance]
    seen: dict[Key, Seen]
    errors: int


class Cycle:
    """Evaluates the rules against the archive; keeps the records between passes."""

    def __init__(
        self,
        rules: AlarmConfig,
        settings: AlarmdConfig,
        archive: Archive,
        downtimes: DowntimeStore,
        group: Callable[[Iterable[Event]], list[Message]],
    ) -> None:
        self.rules = rules
        self.settings = settings
        self.archive = archive
        self.downtimes = downtimes
        self.group = group
        self.records: dict[Key, tuple[AlarmRecord, int]] = {}
        self._listing: dict[str, list[str]] = {}
        self._listed_at: float | None = None
        self._steps: dict[str, int] = {}
        self._lookbacks: dict[tuple[str, int], int] = {}

    def use_rules(self, rules: AlarmConfig) -> None:
        """Take new rules (a reload): list and size the windows again next pass."""
        self.rules = rules
        self.relist()
        self._lookbacks = {}
        names = {rule.name for rule in rules.rules}
        self.records = {k: v for k, v in self.records.items() if k[0] in names}

    def relist(self) -> None:
        self._listed_at = None

    def run(self, now: float) -> Pass:
        """Evaluate and advance every (rule, metric) at ``now``."""
        index = self.downtimes.index(int(now), int(now) + 1)
        advances: dict[Key, Advance] = {}
        seen: dict[Key, Seen] = {}
        errors = 0
        triggered: dict[int, Downtime] = {}
        for metric, rules in self._pairs(now).items():
            covering = index.covering(metric, int(now))
            effect = strongest(covering)
            points: list[tuple[float, float | None]] = []
            step = 0
            if effect is not Effect.SKIP:
                try:
                    points, step = self._fetch(metric, rules, now)
                except RexmonError as exc:
                    log.warning("cannot read %s: %s", metric, exc)
                    errors += 1
                    continue
            for rule in rules:
                key = (rule.name, metric)
                obs = None
                if effect is not Effect.SKIP:
                    obs = evaluate(rule, metric, points, now, step)
                advance = self.advance(key, Seen(obs, effect, covering), now)
                if advance.previous.state in _PROBLEMS or advance.record.state in _PROBLEMS:
                    flexible = self._trigger(index, metric, now, triggered)
                    if flexible:
                        covering = covering + flexible
                        effect = strongest(covering)
                        advance = self.advance(key, Seen(obs, effect, covering), now)
                seen[key] = Seen(obs, effect, covering)
                advances[key] = advance
        return Pass(advances, seen, errors)

    def advance(self, key: Key, seen: Seen, now: float) -> Advance:
        """The transition of one alarm from its record as this cycle knows it."""
        stored = self.records.get(key)
        previous, version = stored if stored is not None else (new_record(*key, now), None)
        obs, effect = seen.observation, seen.effect
        record, events = transition(previous, obs, now, effect)
        advance = Advance(previous, version, record, events)
        if effect is Effect.MUTE and obs is not None and _moved(previous, record):
            _, withheld = transition(previous, obs, now, None)
            reason = "in downtime " + ", ".join(
                f"#{d.id} ({d.reason})" for d in seen.covering if d.effect is Effect.MUTE
            )
            advance.suppressed = [
                NotificationRow(
                    now,
                    message.receiver,
                    message.title,
                    Outcome.SUPPRESSED,
                    reason,
                    0,
                    tuple(alarm_key(e.rule, e.metric) for e in message.events),
                )
                for message in self.group(withheld)
            ]
        return advance

    def _trigger(
        self, index: DowntimeIndex, metric: str, now: float, triggered: dict[int, Downtime]
    ) -> list[Downtime]:
        """Start the armed flexible downtimes of ``metric``: it has a problem inside their
        window, whether it appeared now or was there when the window opened (as Icinga 2
        does); the downtime lasts its duration from now."""
        found = []
        for downtime in index.armed_flexible(metric, int(now)):
            if downtime.id not in triggered:
                try:
                    triggered[downtime.id] = self.downtimes.trigger_flexible(downtime.id, int(now))
                    log.info("problem on %s started flexible downtime #%d", metric, downtime.id)
                except RexmonError as exc:
                    log.warning("cannot trigger flexible downtime #%d: %s", downtime.id, exc)
                    continue
            found.append(triggered[downtime.id])
        return found

    # -- reading the archive ------------------------------------------------------------

    def _pairs(self, now: float) -> dict[str, list[Rule]]:
        """metric -> the rules that match it (listing cached for ``listing_refresh``)."""
        refresh = self.settings.listing_refresh
        if self._listed_at is None or now - self._listed_at >= refresh:
            self._listing = {
                rule.name: self.archive.list_metrics(rule.match) for rule in self.rules.rules
            }
            self._listed_at = now
        pairs: dict[str, list[Rule]] = {}
        for rule in self.rules.rules:
            for metric in self._listing.get(rule.name, ()):
                pairs.setdefault(metric, []).append(rule)
        return pairs

    def _fetch(
        self, metric: str, rules: list[Rule], now: float
    ) -> tuple[list[tuple[float, float | None]], int]:
        """One fetch covering the longest window the rules need; (points, step)."""
        step = self._steps.get(metric)
        if step is None:
            step = self.archive.config.schemas.schema_for(metric).step
        end = int(now)
        start = end - max(self._lookback(rule, step) for rule in rules)
        series = self.archive.fetch(metric, start, end)
        if series.step != step:  # the file's step differs from the guess
            self._steps[metric] = series.step
            needed = end - max(self._lookback(rule, series.step) for rule in rules)
            if needed < start:
                series = self.archive.fetch(metric, needed, end)
        return list(zip(series.times, series.values, strict=True)), series.step

    def _lookback(self, rule: Rule, step: int) -> int:
        found = self._lookbacks.get((rule.name, step))
        if found is None:
            found = self._lookbacks[(rule.name, step)] = rule.lookback(step)
        return found


def strongest(covering: list[Downtime]) -> Effect | None:
    """The strongest effect of the downtimes covering a metric (SKIP > MUTE > LABEL)."""
    return max((d.effect for d in covering), key=_STRENGTH.index, default=None)


def _moved(before: AlarmRecord, after: AlarmRecord) -> bool:
    return (before.state, before.severity) != (after.state, after.severity)
