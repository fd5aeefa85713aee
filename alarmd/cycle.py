"""One evaluation pass of alarmd: every (rule, metric) read, evaluated and advanced.

:meth:`Cycle.run` lists the metrics of each rule (cached, re-listed every
``listing_refresh``), reads each metric once, evaluates every rule on it and advances
the alarm's record with the effect of the downtimes covering the metric, triggering the
flexible downtimes whose window holds a problem (one that appears then, or one already
there when it opens).
Check rules read the checks' newest results instead (read once per pass, from the
database), and ``from-plugin`` levels the thresholds those results carry.
Metrics whose rules test only the last value are read by their last updates, in bulk
(:mod:`alarmd.latest`); the others are fetched once, the longest window their rules
need, at the step of the file.
Nothing is stored or sent here: the daemon stores the result in one transaction, then
the outbox sends it. Only the alarms whose durable part changed are in the result (see
:func:`alarmd.record.same_durable`); the others' new value is kept in :attr:`records`
at once, under their stored version, so a steady alarm costs no write and no memory
beyond its one record.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from alarmd.alarmstate import AlarmState
from alarmd.checkeval import observe_check, plugin_limits, with_plugin_limits
from alarmd.checkstore import CheckStore, StoredCheck
from alarmd.config import DaemonConfig
from alarmd.evaluate import Observation, evaluate
from alarmd.latest import Latest
from alarmd.outbox import NotificationRow, Outcome, alarm_key
from alarmd.record import AlarmRecord, new_record, same_durable, worth_storing
from alarmd.rules import Rule
from alarmd.statestore import Change, Key
from alarmd.transition import Event, transition
from downtime.index import DowntimeIndex
from downtime.model import Downtime, Effect
from downtime.store import DowntimeStore
from rexmon.errors import RexmonError
from rexmon.thresholds import Limits
from rrdarchive.archive import Archive

log = logging.getLogger(__name__)

_PROBLEMS = (AlarmState.PENDING, AlarmState.FIRING, AlarmState.STALE)
_STRENGTH = (Effect.LABEL, Effect.MUTE, Effect.SKIP)  # weakest first


@dataclass(slots=True)
class Advance:
    """One (rule, metric) after this pass's transition."""

    previous: AlarmRecord
    version: int | None  # of the stored record; None: a new alarm
    record: AlarmRecord
    events: list[Event]
    suppressed: list[NotificationRow] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Seen:
    """What a pass saw of one (rule, metric): enough to advance it again after a retry."""

    observation: Observation | None
    effect: Effect | None
    covering: list[Downtime]


@dataclass
class Pass:
    """The result of :meth:`Cycle.run`: the alarms to store (new ones and those whose
    durable part changed), what the pass saw of them, and how many it evaluated."""

    advances: dict[Key, Advance]
    seen: dict[Key, Seen]
    errors: int
    pairs: int = 0

    def changes(self) -> list[Change]:
        """The records to write."""
        return [Change(a.previous, a.version, a.record) for a in self.advances.values()]

    def events(self) -> list[Event]:
        return [event for advance in self.advances.values() for event in advance.events]

    def suppressed(self) -> list[NotificationRow]:
        return [row for advance in self.advances.values() for row in advance.suppressed]


class Cycle:
    """Evaluates the rules against the archive; keeps the records between passes."""

    def __init__(
        self, config: DaemonConfig, archive: Archive, downtimes: DowntimeStore, checks: CheckStore
    ) -> None:
        self.config = config
        self.archive = archive
        self.downtimes = downtimes
        self.checks = checks
        self.records: dict[Key, tuple[AlarmRecord, int]] = {}
        self._listing: dict[str, list[str]] = {}
        self._listed_at: float | None = None
        self._steps: dict[str, int] = {}
        self._lookbacks: dict[tuple[str, int], int] = {}
        self._concretes: dict[tuple[Rule, Limits | None], Rule] = {}
        self._checks: dict[str, StoredCheck] = {}
        self._latest = Latest(archive)

    def use(self, config: DaemonConfig) -> None:
        """Take new rules (a reload): list and size the windows again next pass."""
        self.config = config
        self.relist()
        self._lookbacks = {}
        self._concretes = {}
        self._latest = Latest(self.archive)
        names = {rule.name for rule in config.rules.rules}
        self.records = {k: v for k, v in self.records.items() if k[0] in names}

    def restart(self, records: dict[Key, tuple[AlarmRecord, int]]) -> None:
        """Start again from the stored ``records`` (this daemon just became the active
        one): another one may have changed them and the archive meanwhile."""
        self.records = records
        self.relist()

    def relist(self) -> None:
        self._listed_at = None

    def run(self, now: float) -> Pass:
        """Evaluate and advance every (rule, metric) at ``now``."""
        index = self.downtimes.index(int(now), int(now) + 1)
        advances: dict[Key, Advance] = {}
        seen: dict[Key, Seen] = {}
        errors = pairs = 0
        triggered: dict[int, Downtime] = {}
        checks = self._read_checks()
        limits = plugin_limits(checks.values())
        pairing = self._pairs(now, checks)
        latest = self._latest.read(pairing)
        for metric, rules in pairing.items():
            covering = index.covering(metric, int(now))
            effect = strongest(covering)
            points: list[tuple[float, float | None]] = []
            step = 0
            on_samples = [rule for rule in rules if not rule.check]
            read = latest.get(metric)
            if read is not None:
                points, step = read
            elif effect is not Effect.SKIP and on_samples:
                try:
                    points, step = self._fetch(metric, on_samples, now)
                    self._latest.vet(metric, points)
                except RexmonError as exc:
                    log.warning("cannot read %s: %s", metric, exc)
                    errors += 1
                    continue
            for rule in rules:
                key = (rule.name, metric)
                obs = None
                if effect is not Effect.SKIP and rule.check:
                    obs = observe_check(rule, metric, checks.get(metric), now)
                elif effect is not Effect.SKIP:
                    concrete = self._concrete(rule, limits.get(metric))
                    obs = evaluate(concrete, metric, points, now, step)
                advance = self.advance(key, Seen(obs, effect, covering), now)
                if advance.previous.state in _PROBLEMS or advance.record.state in _PROBLEMS:
                    flexible = self._trigger(index, metric, now, triggered)
                    if flexible:
                        covering = covering + flexible
                        effect = strongest(covering)
                        advance = self.advance(key, Seen(obs, effect, covering), now)
                pairs += 1
                if advance.version is None or worth_storing(advance.previous, advance.record):
                    seen[key] = Seen(obs, effect, covering)
                    advances[key] = advance
                elif advance.record is not advance.previous:
                    self.records[key] = (advance.record, advance.version)
        return Pass(advances, seen, errors, pairs)

    def stored(self, changes: Iterable[Change]) -> None:
        """The records of ``changes`` were written: they are the stored ones now."""
        for change in changes:
            key = (change.record.rule, change.record.metric)
            self.records[key] = (change.record, (change.version or 0) + 1)

    def redo(
        self,
        result: Pass,
        moved: Iterable[Key],
        fresh: dict[Key, tuple[AlarmRecord, int]],
        now: float,
    ) -> None:
        """Advance the ``moved`` alarms of ``result`` again from their ``fresh`` stored
        records (changed under the pass, e.g. acknowledged from the web)."""
        for key in moved:
            if key in fresh:
                self.records[key] = fresh[key]
            else:
                self.records.pop(key, None)
            advance = self.advance(key, result.seen[key], now)
            if advance.version is not None and same_durable(advance.previous, advance.record):
                del result.advances[key], result.seen[key]  # e.g. acked: nothing to send now
                self.records[key] = (advance.record, advance.version)
            else:
                result.advances[key] = advance

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
                for message in self.config.group(withheld)
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

    def _pairs(self, now: float, checks: dict[str, StoredCheck]) -> dict[str, list[Rule]]:
        """metric (or check) -> the rules that match it (the archive's listing cached for
        ``listing_refresh``; the checks are this pass's)."""
        refresh = self.config.settings.listing_refresh
        rules = self.config.rules.rules
        if self._listed_at is None or now - self._listed_at >= refresh:
            self._listing = {
                rule.name: self.archive.list_metrics(rule.match) for rule in rules if not rule.check
            }
            self._listed_at = now
        pairs: dict[str, list[Rule]] = {}
        for rule in rules:
            names = filter(rule.matches, checks) if rule.check else self._listing.get(rule.name, ())
            for name in names:
                pairs.setdefault(name, []).append(rule)
        return pairs

    def _read_checks(self) -> dict[str, StoredCheck]:
        """The checks' newest results, if a rule reads them (check or from-plugin rules):
        kept between passes, and only those with a newer result read again (100k checks
        took 5 s to read whole, their times alone a fraction of that)."""
        if not any(rule.check or rule.from_plugin for rule in self.config.rules.rules):
            self._checks = {}
            return self._checks
        versions = self.checks.versions()
        kept = self._checks
        moved = [name for name, at in versions.items() if name not in kept or kept[name].time != at]
        fresh = {check.name: check for check in self.checks.get_many(moved)}
        self._checks = {
            name: check
            for name in versions
            if (check := fresh.get(name) or kept.get(name)) is not None
        }
        return self._checks

    def _concrete(self, rule: Rule, limits: Limits | None) -> Rule:
        """``rule`` with the plugin's thresholds for one metric (memoised: few distinct)."""
        if not rule.from_plugin:
            return rule
        key = (rule, limits)
        found = self._concretes.get(key)
        if found is None:
            found = self._concretes[key] = with_plugin_limits(rule, limits)
        return found

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
