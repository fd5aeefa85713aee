"""The alarm daemon: ``Daemon(config, archive, downtimes, notifier, clock, sleep)``.

:meth:`Daemon.run` loops over :meth:`Daemon.tick` every ``interval`` seconds; SIGTERM
(or SIGINT) ends the loop after the current cycle; SIGHUP reloads the rules, keeping
every alarm's state. One tick:

1. collect the sends that finished since the last tick;
2. stand by unless this process is the active daemon (:mod:`alarmd.leader`);
3. evaluate and advance every alarm (one pass of :class:`alarmd.cycle.Cycle`);
4. store the changed records, their transitions and the messages (as pending outbox
   rows) in ONE transaction, before anything is sent;
5. hand the due messages to :mod:`alarmd.dispatch` (never waiting), prune the history
   older than ``keep`` once an hour, leave the heartbeat (:mod:`alarmd.heartbeat`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from alarmd.config import DaemonConfig
from alarmd.cycle import Cycle, Pass
from alarmd.dispatch import Dispatcher
from alarmd.heartbeat import TickReport, publish
from alarmd.leader import Leadership, leadership_for
from alarmd.message import Message
from alarmd.notify import Notifier
from alarmd.sdnotify import SystemdNotifier
from alarmd.signals import install_signals
from alarmd.statestore import AlarmStore
from downtime.store import DowntimeStore
from rexmon.collector import collector_paused
from rexmon.errors import RexmonError
from rrdarchive.archive import Archive

log = logging.getLogger(__name__)

SAVE_ATTEMPTS = 3
PRUNE_EVERY = 3600.0


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
        self.notifier = notifier
        self.clock = clock
        self._wake = threading.Event()
        self.sleep = sleep if sleep is not None else self._wake.wait
        engine, settings = downtimes.engine, config.settings
        self.store = store if store is not None else AlarmStore(engine)
        self.leadership = leadership if leadership is not None else leadership_for(engine, settings)
        self.systemd = systemd if systemd is not None else SystemdNotifier({})
        self.dispatcher = Dispatcher(self.store, notifier, settings, clock)
        self.stopping = False
        self._reload_requested = False
        self._active = False
        self.cycle = Cycle(config, archive, downtimes, self.store.checks)
        self._pruned_at: float | None = None

    def run(self) -> None:
        """Tick every ``interval`` seconds until SIGTERM/SIGINT (or :meth:`stop`)."""
        restore = install_signals(self.stop, self.request_reload, lambda: self.stopping)
        self.systemd.ready(f"evaluating {len(self.config.rules.rules)} rules")
        try:
            while not self.stopping:
                until = self.clock() + self.config.settings.interval
                status = self._safe_tick()
                self.systemd.ping(status)
                self._wake.clear()  # before the pause looks at the requests: none is lost
                self.systemd.pause(until, status, self.clock, self.sleep, self._woken)
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
        self.dispatcher.close(self.config.settings.send_timeout if timeout is None else timeout)
        self.leadership.release()

    def _safe_tick(self) -> str:
        try:
            return self.tick().status(self.dispatcher.in_flight)
        except Exception:  # the loop's edge: log, carry on next interval
            log.exception("alarm cycle failed")
            return "last cycle failed, see the log"

    def _woken(self) -> bool:
        return self.stopping or self._reload_requested

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
        with collector_paused():
            report = self.evaluate(now)
        dispatched = self.dispatcher.dispatch(now)
        self.prune(now)
        report = replace(report, dispatched=dispatched, seconds=time.perf_counter() - started)
        try:
            publish(self.store.engine, report)  # for the web's /metrics
        except SQLAlchemyError as exc:  # an edge: only the figures wait for the next cycle
            log.warning("cannot store the heartbeat, trying again next cycle: %s", exc)
        return report

    def evaluate(self, now: float) -> TickReport:
        """Steps 3 to 5 of a tick: evaluate every alarm and store the result (no sending)."""
        if not self._active:
            log.info("this alarmd is the active one: loading the alarm state")
            self._active = True
            self.store.forget_rules(rule.name for rule in self.config.rules.rules)
            self.cycle.restart(self.store.load())
        result = self.cycle.run(now)
        changed, messages = self._save(result, now)
        pairs, events = result.pairs, len(result.events())
        return TickReport(now, True, pairs, changed, events, len(messages), errors=result.errors)

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
            pruned = ", ".join(f"{n} {k}" for k, n in counts.items())
            when = datetime.fromtimestamp(before, self.config.zone).strftime("%Y-%m-%d %H:%M %Z")
            log.info("pruned %s older than %s", pruned, when)

    def _save(self, result: Pass, now: float) -> tuple[int, list[Message]]:
        """Store changes and messages in one transaction; redo alarms changed meanwhile
        (an acknowledgement from the web) from their stored record."""
        for _ in range(SAVE_ATTEMPTS):
            changes = result.changes()
            messages = self.config.group(result.events())
            moved = self.store.save(changes, messages, result.suppressed(), now)
            if not moved:
                self.cycle.stored(changes)
                return len(changes), messages
            self.cycle.redo(result, moved, self.store.load(), now)
        raise RuntimeError(f"alarm records kept changing during {SAVE_ATTEMPTS} attempts")

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
        self.cycle.use(self.config)
        names = [rule.name for rule in rules.rules]
        forgotten = self.store.forget_rules(names)
        log.info("reloaded %d rules (%d alarms of removed rules forgotten)", len(names), forgotten)
        self.systemd.ready(f"evaluating {len(names)} rules")
