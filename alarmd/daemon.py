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
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.exc import DBAPIError

from alarmd.config import AlarmdConfig, lock_file_for
from alarmd.cycle import Advance, Cycle, Seen
from alarmd.dispatch import Dispatcher
from alarmd.leader import Leadership, leadership_for
from alarmd.message import Message, group
from alarmd.notify import BackgroundSender, Notifier
from alarmd.rules import AlarmConfig
from alarmd.sdnotify import SystemdNotifier
from alarmd.signals import install_signals
from alarmd.statestore import AlarmStore, Change, Key
from alarmd.transition import Event
from downtime.store import DowntimeStore
from rexmon.errors import RexmonError
from rrdarchive.archive import Archive

log = logging.getLogger(__name__)

UTC = ZoneInfo("UTC")
SAVE_ATTEMPTS = 3
PRUNE_EVERY = 3600.0


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
        settings = config.settings
        self.store = store if store is not None else AlarmStore(engine)
        if leadership is None:
            lock_file = lock_file_for(settings, engine.url.render_as_string())
            leadership = leadership_for(engine, lock_file, settings.advisory_lock)
        self.leadership = leadership
        self.systemd = systemd if systemd is not None else SystemdNotifier({})
        self.sender = BackgroundSender(notifier, workers=settings.send_workers)
        self.dispatcher = Dispatcher(
            self.store, self.sender, settings.send_timeout, clock, settings.retry_delay
        )
        self.stopping = False
        self._reload_requested = False
        self._active = False
        self.cycle = Cycle(config.rules, settings, archive, downtimes, self._group)
        self._pruned_at: float | None = None

    # -- the loop -----------------------------------------------------------------------

    def run(self) -> None:
        """Tick every ``interval`` seconds until SIGTERM/SIGINT (or :meth:`stop`)."""
        restore = install_signals(self.stop, self.request_reload, lambda: self.stopping)
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
            restore()

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
            self.cycle.records = self.store.load()
            self.cycle.relist()
        result = self.cycle.run(now)
        changed, messages = self._save(result.advances, result.seen, now)
        return TickReport(
            now,
            active=True,
            pairs=len(result.advances),
            changed=changed,
            events=sum(len(a.events) for a in result.advances.values()),
            messages=len(messages),
            errors=result.errors,
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
            when = datetime.fromtimestamp(before, self.config.zone).strftime("%Y-%m-%d %H:%M %Z")
            log.info(
                "pruned %s older than %s", ", ".join(f"{n} {k}" for k, n in counts.items()), when
            )

    def _save(
        self, advances: dict[Key, Advance], seen: dict[Key, Seen], now: float
    ) -> tuple[int, list[Message]]:
        """Store changes and messages in one transaction; redo alarms changed meanwhile
        (an acknowledgement from the web) from their stored record."""
        records = self.cycle.records
        for _ in range(SAVE_ATTEMPTS):
            changes = [
                Change(a.previous, a.version, a.record)
                for a in advances.values()
                if a.version is None or a.record != a.previous
            ]
            messages = self._group(e for a in advances.values() for e in a.events)
            suppressed = [row for a in advances.values() for row in a.suppressed]
            moved = self.store.save(changes, messages, suppressed, now)
            if not moved:
                for change in changes:
                    key = (change.record.rule, change.record.metric)
                    records[key] = (change.record, (change.version or 0) + 1)
                return len(changes), messages
            fresh = self.store.load()
            for key in moved:
                if key in fresh:
                    records[key] = fresh[key]
                else:
                    records.pop(key, None)
                advances[key] = self.cycle.advance(key, seen[key], now)
        raise RuntimeError(f"alarm records kept changing during {SAVE_ATTEMPTS} attempts")

    def _group(self, events: Iterable[Event]) -> list[Message]:
        return group(events, self.config.base_url, self.config.zone)

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
        self.cycle.use_rules(rules)
        names = [rule.name for rule in rules.rules]
        forgotten = self.store.forget_rules(names)
        log.info("reloaded %d rules (%d alarms of removed rules forgotten)", len(names), forgotten)
        self.systemd.ready(f"evaluating {len(names)} rules")
