"""The alarm daemon: ``Daemon(config, archive, downtimes, notifier, clock, sleep)``.

:meth:`Daemon.run` loops over :meth:`Daemon.tick` every ``interval`` seconds; SIGTERM
(or SIGINT) sets a flag and the loop ends after the current cycle; SIGHUP reloads the
rules, keeping every alarm's state. One tick:

1. read the clock once; collect the sends that finished since the last tick;
2. make sure this process is the active daemon (:mod:`alarmd.leader`), else stand by;
3. load the downtimes in effect now (before the first evaluation after a start, so a
   restart in the middle of a maintenance sends nothing);
4. list the metrics of each rule (cached, re-listed every ``listing_refresh``), fetch
   each metric once (the longest window its rules need, the step from its file),
   evaluate and transition every (rule, metric) with its downtime effect, triggering
   flexible downtimes when a problem appears inside their window;
5. store every changed record, its transitions and the grouped messages (as pending
   outbox rows) in ONE transaction — before anything is sent;
6. hand the due outbox rows to the background sender and return (never waiting);
7. once an hour (and in the first active cycle) delete the history older than ``keep``.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError

from alarmd.alarmstate import AlarmState
from alarmd.config import AlarmdConfig, lock_file_for
from alarmd.dispatch import Dispatcher
from alarmd.evaluate import Observation, evaluate
from alarmd.leader import Leadership, leadership_for
from alarmd.message import Message, group
from alarmd.notify import BackgroundSender, Notifier
from alarmd.record import AlarmRecord, new_record
from alarmd.rules import AlarmConfig, Rule
from alarmd.sdnotify import SystemdNotifier
from alarmd.statestore import SUPPRESSED, AlarmStore, Change, Key, NotificationRow, alarm_key
from alarmd.transition import DowntimeEffect, Event, transition
from downtime.index import DowntimeIndex
from downtime.model import Downtime
from downtime.store import DowntimeStore
from rexmon.errors import RexmonError
from rrdarchive.archive import Archive

log = logging.getLogger(__name__)

UTC = ZoneInfo("UTC")
SAVE_ATTEMPTS = 3
PRUNE_EVERY = 3600.0
_PROBLEMS = (AlarmState.PENDING, AlarmState.FIRING, AlarmState.STALE)
_STRENGTH = (DowntimeEffect.NONE, DowntimeEffect.LABEL, DowntimeEffect.MUTE, DowntimeEffect.SKIP)


@dataclass(frozen=True)
class DaemonConfig:
    """The rules, the daemon's settings, the site's time zone, and how to reload rules."""

    rules: AlarmConfig
    settings: AlarmdConfig
    zone: ZoneInfo = UTC
    load_rules: Callable[[], AlarmConfig] | None = None

    @property
    def base_url(self) -> str:
        return self.settings.base_url or self.rules.base_url


@dataclass(frozen=True)
class TickReport:
    """What one tick did (``active`` False: another daemon holds the lock)."""

    at: float
    active: bool
    pairs: int = 0
    changed: int = 0
    events: int = 0
    messages: int = 0
    dispatched: int = 0
    errors: int = 0
    seconds: float = 0.0


@dataclass
class _Outcome:
    """One (rule, metric) after this tick's transition."""

    previous: AlarmRecord
    version: int | None
    record: AlarmRecord
    events: list[Event]
    suppressed: list[NotificationRow] = field(default_factory=list)


class Daemon:
    """Evaluates the rules against the archive and notifies, one tick at a time."""

    def __init__(
        self,
        config: DaemonConfig,
        archive: Archive,
        downtimes: DowntimeStore,
        notifier: Notifier,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], object] | None = None,
        *,
        store: AlarmStore | None = None,
        leadership: Leadership | None = None,
        systemd: SystemdNotifier | None = None,
    ) -> None:
        self.config = config
        self.archive = archive
        self.downtimes = downtimes
        self.notifier = notifier
        self.clock = clock
        self._wake = threading.Event()
        self.sleep = sleep if sleep is not None else self._wake.wait
        engine = downtimes.engine
        self.store = store if store is not None else AlarmStore(engine)
        if leadership is None:
            lock_file = lock_file_for(config.settings, engine.url.render_as_string())
            leadership = leadership_for(engine, lock_file, config.settings.advisory_lock)
        self.leadership = leadership
        self.systemd = systemd if systemd is not None else SystemdNotifier({})
        self.sender = BackgroundSender(notifier, workers=config.settings.send_workers)
        settings = config.settings
        self.dispatcher = Dispatcher(
            self.store, self.sender, settings.send_timeout, clock, settings.retry_delay
        )
        self.stopping = False
        self._reload_requested = False
        self._active = False
        self._records: dict[Key, tuple[AlarmRecord, int]] = {}
        self._listing: dict[str, list[str]] = {}
        self._listed_at: float | None = None
        self._steps: dict[str, int] = {}
        self._lookbacks: dict[tuple[str, int], int] = {}
        self._pruned_at: float | None = None

    # -- the loop -----------------------------------------------------------------------

    def run(self) -> None:
        """Tick every ``interval`` seconds until SIGTERM/SIGINT (or :meth:`stop`)."""
        previous = self._install_signals()
        self.systemd.ready(f"evaluating {len(self.config.rules.rules)} rules")
        interval = self.config.settings.interval
        try:
            while not self.stopping:
                started = self.clock()
                status = self._safe_tick()
                self.systemd.ping(status)
                self._pause(started + interval, status)
        finally:
            self.systemd.stopping()
            self.close()
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def stop(self) -> None:
        self.stopping = True
        self._wake.set()

    def request_reload(self) -> None:
        self._reload_requested = True
        self._wake.set()

    def close(self, timeout: float | None = None) -> None:
        """Wait for the sends in flight (at most ``timeout``), release the lock."""
        self.dispatcher.drain(self.config.settings.send_timeout if timeout is None else timeout)
        self.sender.close(wait=False)
        self.leadership.release()

    def _safe_tick(self) -> str:
        try:
            report = self.tick()
        except Exception:  # the loop's edge: log, carry on next interval
            log.exception("alarm cycle failed")
            return "last cycle failed, see the log"
        if not report.active:
            return "standing by: another alarmd holds the lock"
        return (
            f"{report.pairs} alarms, {report.changed} changed, {report.messages} messages,"
            f" {self.dispatcher.in_flight} sending, cycle {report.seconds:.2f}s"
        )

    def _pause(self, until: float, status: str) -> None:
        watchdog = self.systemd.watchdog
        while not self.stopping:
            remaining = until - self.clock()
            if remaining <= 0:
                return
            chunk = min(remaining, watchdog / 2) if watchdog else remaining
            self.sleep(chunk)
            self._wake.clear()
            if self._reload_requested:
                return
            if watchdog:
                self.systemd.ping(status)

    def _install_signals(self) -> dict[int, Any]:
        """Handle SIGTERM/SIGINT (stop) and SIGHUP (reload); returns the old handlers."""
        if threading.current_thread() is not threading.main_thread():
            return {}

        def on_stop(signum: int, _frame: FrameType | None) -> None:
            if self.stopping:  # asked twice: stop now
                signal.signal(signum, signal.SIG_DFL)
                os.kill(os.getpid(), signum)
            log.info("signal %d: stopping after this cycle", signum)
            self.stop()

        def on_hup(_signum: int, _frame: FrameType | None) -> None:
            log.info("SIGHUP: reloading the rules")
            self.request_reload()

        handlers = {signal.SIGTERM: on_stop, signal.SIGINT: on_stop, signal.SIGHUP: on_hup}
        return {signum: signal.signal(signum, handler) for signum, handler in handlers.items()}

    # -- one tick -----------------------------------------------------------------------

    def tick(self) -> TickReport:
        """One cycle: evaluate, store, hand messages to the sender; never waits on sends."""
        now = self.clock()
        started = time.perf_counter()
        if self._reload_requested:
            self._reload()
        self.dispatcher.collect()
        if not self.leadership.try_acquire():
            if self._active:
                log.warning("lost the alarmd lock: standing by")
            self._active = False
            return TickReport(now, active=False)
        # A cycle allocates a few objects per alarm that die by reference counting; the
        # automatic collector would meanwhile rescan every live record several times per
        # cycle (cycles took twice as long at 100k alarms). The young generations are
        # collected afterwards; full collections then come as usual, between cycles.
        collecting = gc.isenabled()
        gc.disable()
        try:
            report = self.evaluate(now)
        finally:
            if collecting:
                gc.enable()
                gc.collect(1)
        dispatched = self.dispatcher.dispatch(now)
        self.prune(now)
        return replace(report, dispatched=dispatched, seconds=time.perf_counter() - started)

    def evaluate(self, now: float) -> TickReport:
        """Steps 3 to 5 of a tick: evaluate every alarm and store the result (no sending)."""
        if not self._active:
            log.info("this alarmd is the active one: loading the alarm state")
            self._active = True
            self.store.forget_rules(rule.name for rule in self.config.rules.rules)
            self._records = self.store.load()
            self._listed_at = None
        index = self.downtimes.index(int(now), int(now) + 1)
        pairs = self._pairs(now)
        outcomes: dict[Key, _Outcome] = {}
        errors = 0
        triggered: dict[int, Downtime] = {}
        observations: dict[Key, tuple[Observation | None, DowntimeEffect, list[Downtime]]] = {}
        for metric, rules in pairs.items():
            covering = index.covering(metric, int(now))
            effect = _effect(covering)
            points: list[tuple[float, float | None]] = []
            step = 0
            if effect is not DowntimeEffect.SKIP:
                try:
                    points, step = self._fetch(metric, rules, now)
                except RexmonError as exc:
                    log.warning("cannot read %s: %s", metric, exc)
                    errors += 1
                    continue
            for rule in rules:
                key = (rule.name, metric)
                obs = None
                if effect is not DowntimeEffect.SKIP:
                    obs = evaluate(rule, metric, points, now, step)
                outcome = self._advance(key, obs, effect, covering, now)
                if outcome.record.state in _PROBLEMS and outcome.previous.state not in _PROBLEMS:
                    flexible = self._trigger(index, metric, now, triggered)
                    if flexible:
                        covering = covering + flexible
                        effect = _effect(covering)
                        outcome = self._advance(key, obs, effect, covering, now)
                observations[key] = (obs, effect, covering)
                outcomes[key] = outcome
        changed, messages = self._save(outcomes, observations, now)
        return TickReport(
            now,
            active=True,
            pairs=len(outcomes),
            changed=changed,
            events=sum(len(o.events) for o in outcomes.values()),
            messages=len(messages),
            errors=errors,
        )

    def prune(self, now: float) -> None:
        """Delete the alarm history older than ``keep``, at most once per PRUNE_EVERY; a
        failure (database locked) is logged and tried again in the next cycle."""
        if self._pruned_at is not None and now - self._pruned_at < PRUNE_EVERY:
            return
        before = now - self.config.settings.keep
        try:
            counts = self.store.prune(before)
        except DBAPIError as exc:  # an edge: the rows stay until a later cycle
            log.warning("cannot prune the alarm history, trying again next cycle: %s", exc.orig)
            return
        self._pruned_at = now
        if any(counts.values()):
            log.info(
                "pruned %d transitions, %d notifications, %d messages older than %s",
                counts["transitions"],
                counts["notifications"],
                counts["messages"],
                datetime.fromtimestamp(before, self.config.zone).strftime("%Y-%m-%d %H:%M %Z"),
            )

    def _advance(
        self,
        key: Key,
        obs: Observation | None,
        effect: DowntimeEffect,
        covering: list[Downtime],
        now: float,
    ) -> _Outcome:
        stored = self._records.get(key)
        previous, version = stored if stored is not None else (new_record(*key, now), None)
        record, events = transition(previous, obs, now, effect)
        outcome = _Outcome(previous, version, record, events)
        if effect is DowntimeEffect.MUTE and obs is not None and _moved(previous, record):
            _, withheld = transition(previous, obs, now, DowntimeEffect.NONE)
            reason = "in downtime " + ", ".join(
                f"#{d.id} ({d.reason})" for d in covering if d.effect.value == "mute"
            )
            outcome.suppressed = [
                NotificationRow(
                    now,
                    message.receiver,
                    message.title,
                    SUPPRESSED,
                    reason,
                    0,
                    tuple(alarm_key(e.rule, e.metric) for e in message.events),
                )
                for message in self._group(withheld)
            ]
        return outcome

    def _trigger(
        self, index: DowntimeIndex, metric: str, now: float, triggered: dict[int, Downtime]
    ) -> list[Downtime]:
        """Start the armed flexible downtimes of ``metric``: a problem just appeared."""
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

    def _save(
        self,
        outcomes: dict[Key, _Outcome],
        observations: dict[Key, tuple[Observation | None, DowntimeEffect, list[Downtime]]],
        now: float,
    ) -> tuple[int, list[Message]]:
        """Store changes and messages in one transaction; redo alarms changed meanwhile
        (an acknowledgement from the web) from their stored record."""
        for _ in range(SAVE_ATTEMPTS):
            changes = [
                Change(o.previous, o.version, o.record)
                for o in outcomes.values()
                if o.version is None or o.record != o.previous
            ]
            messages = self._group(e for o in outcomes.values() for e in o.events)
            suppressed = [row for o in outcomes.values() for row in o.suppressed]
            moved = self.store.save(changes, messages, suppressed, now)
            if not moved:
                for change in changes:
                    key = (change.record.rule, change.record.metric)
                    version = (change.version or 0) + 1
                    self._records[key] = (change.record, version)
                return len(changes), messages
            fresh = self.store.load()
            for key in moved:
                if key in fresh:
                    self._records[key] = fresh[key]
                else:
                    self._records.pop(key, None)
                obs, effect, covering = observations[key]
                outcomes[key] = self._advance(key, obs, effect, covering, now)
        raise RuntimeError(f"alarm records kept changing during {SAVE_ATTEMPTS} attempts")

    def _group(self, events: Iterable[Event]) -> list[Message]:
        return group(events, self.config.base_url, self.config.zone)

    # -- reading the archive ------------------------------------------------------------

    def _pairs(self, now: float) -> dict[str, list[Rule]]:
        """metric -> the rules that match it (listing cached for ``listing_refresh``)."""
        refresh = self.config.settings.listing_refresh
        if self._listed_at is None or now - self._listed_at >= refresh:
            self._listing = {
                rule.name: self.archive.list_metrics(rule.match) for rule in self.config.rules.rules
            }
            self._listed_at = now
        pairs: dict[str, list[Rule]] = {}
        for rule in self.config.rules.rules:
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

    # -- reloading ----------------------------------------------------------------------

    def _reload(self) -> None:
        self._reload_requested = False
        if self.config.load_rules is None:
            return
        self.systemd.reloading()
        try:
            rules = self.config.load_rules()
        except RexmonError as exc:
            log.error("reload failed, keeping the current rules: %s", exc)
            self.systemd.ready("reload failed, kept the current rules")
            return
        self.config = replace(self.config, rules=rules)
        self.notifier.receivers = rules.receivers
        self._listed_at = None
        self._lookbacks = {}
        names = [rule.name for rule in rules.rules]
        forgotten = self.store.forget_rules(names)
        self._records = {k: v for k, v in self._records.items() if k[0] in names}
        log.info("reloaded %d rules (%d alarms of removed rules forgotten)", len(names), forgotten)
        self.systemd.ready(f"evaluating {len(names)} rules")


def _effect(covering: list[Downtime]) -> DowntimeEffect:
    """The strongest effect of the downtimes covering a metric (SKIP > MUTE > LABEL)."""
    effects = [DowntimeEffect(d.effect.value) for d in covering]
    return max(effects, key=_STRENGTH.index, default=DowntimeEffect.NONE)


def _moved(before: AlarmRecord, after: AlarmRecord) -> bool:
    return (before.state, before.severity) != (after.state, after.severity)
