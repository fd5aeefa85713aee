"""Keeping the write-ahead log and rrdcached in step: replay, recovery and trimming.

rrdcached may lose what it acknowledged when it dies; :class:`LogKeeper` makes sure that
every sample in this process's log reaches its RRD file before the log is dropped:

- before the first write of a process and whenever the writers' connection to rrdcached
  is new (the daemon may have restarted), it replays every segment in the directory
  before anything newer is sent, because an RRD takes no sample older than its last
  update: this process's, the dead ones' (taken over, then dropped) and the live ones'
  (read only). Dead segments are looked for under the replay lock, so a segment another
  process is replaying is never mistaken for a live one and skipped (issue 11: two new
  workers started together; one took the dead segments, the other saw them locked and
  wrote newer samples first, and the replay then counted the older ones as stored);
- a replay that fails while rrdcached still answers is the content's fault (a line the
  daemon refuses, a sample it chokes on): the metrics at fault are found by halving, their
  samples set aside under ``damaged/`` and logged, and the rest is replayed; damaged
  bytes of a segment are kept there too. A failed replay never keeps the archive shut;
- samples reach the log after rrdcached took them, so a write checks the daemon is still
  the one that took them once the log holds them, and replays the log again if not
  (see :meth:`LogKeeper.log`);
- a background thread FLUSHes the files of closed segments, over a connection of its own
  so that writers are not held up, and drops a segment only if the connection its samples
  went over still answers afterwards: a restarted daemon breaks every connection, so an
  unbroken one proves that the daemon that took the samples is the one that wrote them.
  Otherwise the segment is replayed first. Before dropping it, each file's last update is
  read: rrdcached answers a FLUSH with success even when it could not write a damaged
  file, and drops the values. The samples of such files are kept in a held segment, which
  the next process to start replays (see ``WriteAheadLog.hold``);
- a file that rrdcached was killed in the middle of updating is repaired before the replay
  sends it anything (see ``torn``): the replay would otherwise apply that update twice.

Replaying goes through the archive's own write path (``Writer.replay``), where a sample at or
before the file's last update counts as stored, so replays are idempotent. For the same
reason a replay sends every segment in the directory -- this process's, the dead ones'
and, read only, those of live processes -- merged and in time order, and only one
process replays at a time (``flock`` on ``replay.lock``): several writers interleave
samples of one metric, and a segment replayed alone after a later one would have its
samples counted as stored when the daemon that took them lost them.
"""

from __future__ import annotations

import fcntl
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from rexmon.metric import metric_path
from rexmon.sample import Sample
from rrdarchive.config import ArchiveConfig
from rrdarchive.errors import ArchiveError, Cause, read_failure
from rrdarchive.rrd import Rrd
from rrdarchive.rrdcached import RrdcachedClient
from rrdarchive.torn import repair_torn
from rrdarchive.wal import Segment, WriteAheadLog, note_latest
from rrdarchive.walformat import DAMAGED, keep_damage, read_segment
from rrdarchive.writer import Writer

FLUSH_CHUNK = 200
REPLAY_LOCK = "replay.lock"
log = logging.getLogger(__name__)


class LogKeeper:
    """The write-ahead log of one process, and what it takes to drop it safely.

    It is handed to each write of ``writer`` as its :class:`Journal`, and replays the log
    through it."""

    def __init__(self, config: ArchiveConfig, rrd: Rrd, writer: Writer) -> None:
        assert config.rrdcached is not None and rrd.client is not None
        self._root = config.root
        self._rrd = rrd
        self._client = rrd.client  # the writers' connection
        self._flusher = RrdcachedClient(config.rrdcached, config.root)
        self._writer = writer
        self._wal = WriteAheadLog(
            config.wal_dir,
            segment_bytes=config.wal_segment_bytes,
            segment_seconds=config.wal_segment_seconds,
        )
        self._interval = max(1.0, min(30.0, config.wal_segment_seconds / 4))
        self._lock = threading.RLock()
        self._recovered_epoch = 0  # the connection for which the log was last replayed
        self._replay_held = False  # this process holds the replay lock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Replay what dead processes left (and the rest of the log), then start trimming
        in the background. If rrdcached cannot be reached now, the archive opens anyway
        (reads of files work) and the replay happens before the first write."""
        try:
            self._recover()
        except ArchiveError as exc:
            log.error("log not replayed at open, will be before the first write: %s", exc)
        self._thread = threading.Thread(target=self._trim_loop, daemon=True)
        self._thread.start()

    def log(self, samples: Sequence[Sample], epoch: int) -> None:
        """Append samples rrdcached accepted on connection ``epoch``; durable on return.

        The daemon that took them may have died before the log held them, and another
        process may have replayed the log since, without them, and gone on writing: they
        would then be lost behind the client's next sample. A PING on the same connection
        after the fsync proves the daemon outlived it (any later replay reads them);
        otherwise the whole log is sent again before the samples are acknowledged."""
        self._wal.append(samples, epoch)
        if self._client.ping() != epoch:
            self._recover(always=True)

    @property
    def syncs(self) -> int:
        """fsyncs of the log so far: fewer than appends when writers share them."""
        return self._wal.syncs

    def recover_if_reconnected(self) -> None:
        """Before a write: if the writers' connection is new, replay the whole log."""
        if self._client.ping() != self._recovered_epoch:
            self._recover()

    def _recover(self, *, always: bool = False) -> None:
        """Replay the log unless it was already on this connection (or ``always``)."""
        with self._lock:
            epoch = self._client.ping()
            if epoch == self._recovered_epoch and not always:
                return
            began = time.monotonic()
            own = self._wal.closed_segments(rotate=True)
            with self._replaying():
                orphans = self._wal.orphans()  # under the lock: what is locked is alive
                try:
                    report = self._settle(own + orphans, replay_first=True)
                finally:
                    for segment in orphans:
                        if segment.path.exists():
                            self._wal.release(segment)
            self._recovered_epoch = epoch
            level = logging.WARNING if report.aside or report.damaged or orphans else logging.INFO
            log.log(
                level,
                "replay: %d segment(s) (%d of dead processes), %d sample(s) in %.2f s;"
                " set aside: %d sample(s) of %d metric(s), %d damaged range(s)%s",
                report.segments,
                len(orphans),
                report.samples,
                time.monotonic() - began,
                report.aside,
                report.aside_metrics,
                report.damaged,
                f" under {self._wal.directory / DAMAGED}" if report.aside or report.damaged else "",
            )

    def close(self) -> None:
        """Flush and drop the whole log if rrdcached allows, else keep it for the next start."""
        if self._thread is not None:
            self._stop.set()
            self._thread.join()
            self._thread = None
            try:
                self._trim(rotate=True)
            except ArchiveError as exc:
                log.error("write-ahead log kept for the next start: %s", exc)
        self._wal.close()
        self._flusher.close()

    @contextmanager
    def _replaying(self) -> Iterator[None]:
        """Held while replaying: one process at a time, see the module's docstring.
        Re-entrant within this process (callers hold ``self._lock``)."""
        if self._replay_held:
            yield
            return
        path = self._wal.directory / REPLAY_LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            self._replay_held = True
            yield
        finally:
            self._replay_held = False
            os.close(fd)

    def _trim(self, *, rotate: bool) -> None:
        with self._lock:
            closed = self._wal.closed_segments(rotate=rotate)
            if closed:
                self._settle(closed, replay_first=False)

    def _flush(self, metrics: list[str]) -> None:
        paths = [metric_path(self._root, m) for m in metrics]
        for offset in range(0, len(paths), FLUSH_CHUNK):
            chunk = paths[offset : offset + FLUSH_CHUNK]
            errors, _ = self._flusher.flush_many(chunk)
            for index, message in errors.items():
                if read_failure(message).cause is not Cause.MISSING:
                    raise ArchiveError(str(chunk[index]), "rrdcached FLUSH", message)

    def _hold_unwritten(self, segments: list[Segment], latest: dict[str, int]) -> None:
        """Keep the samples of files that are behind ``latest`` after a FLUSH."""
        behind = set()
        for metric, stamp in latest.items():
            last = self._rrd.file_last_update(metric_path(self._root, metric))
            if last is not None and last < stamp:
                behind.add(metric)
        if not behind:
            return
        kept = [s for g in segments for s in read_segment(g.path).samples if s.metric in behind]
        held = self._wal.hold(kept)
        log.error(
            "rrdcached did not write %d acknowledged sample(s) of %d file(s), e.g. %s: kept"
            " in %s and replayed when the archive is next opened; repair or move away the"
            " damaged file(s)",
            len(kept),
            len(behind),
            metric_path(self._root, min(behind)),
            held,
        )

    def _trim_loop(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._trim(rotate=False)
            except ArchiveError as exc:
                log.error("write-ahead log not trimmed, will retry: %s", exc)

    def _settle(self, segments: list[Segment], *, replay_first: bool) -> Replayed:
        """Make sure rrdcached has written every sample of ``segments`` to disk, then drop
        them; replay them first if their connection may not be the current one."""
        sent_on = set().union(*(segment.epochs for segment in segments))
        replay = replay_first or sent_on != {self._client.epoch}
        report = Replayed(len(segments))
        aside: set[str] = set()
        while True:
            if replay:
                settling = {segment.path for segment in segments}
                with self._replaying():
                    epochs = {self._client.ping()}
                    readings = {path: read_segment(path) for path in settling}
                    samples = [s for reading in readings.values() for s in reading.samples]
                    others = [
                        s
                        for path in self._wal.segment_paths()
                        if path not in settling
                        for s in read_segment(path, live=True).samples
                    ]
                    repair_torn(self._root, samples + others)  # before anything is sent
                    aside |= self._replay_contained(samples + others, aside)
                    epochs.add(self._client.epoch)
                    report.segments = len(settling | set(self._wal.segment_paths()))
                    report.samples = len(samples) + len(others)
                latest: dict[str, int] = {}
                note_latest(latest, (s for s in samples if s.metric not in aside))
            else:
                readings = {}
                latest = {}
                for segment in segments:
                    for metric, stamp in segment.latest.items():
                        latest[metric] = max(stamp, latest.get(metric, 0))
                epochs = set(sent_on)
            self._flush(sorted(latest))
            epochs.add(self._client.ping())
            if len(epochs) == 1:
                self._hold_unwritten(segments, latest)
                kept = [s for r in readings.values() for s in r.samples if s.metric in aside]
                if kept:
                    where = self._wal.set_aside(kept)
                    log.error(
                        "replay: %d sample(s) of %d metric(s), e.g. %s, could not be replayed:"
                        " set aside in %s",
                        len(kept),
                        len(aside),
                        min(aside),
                        where,
                    )
                for path, reading in readings.items():
                    if reading.damaged:
                        keep_damage(self._wal.directory, path, reading.damaged)
                report.aside, report.aside_metrics = len(kept), len({s.metric for s in kept})
                report.damaged = sum(len(r.damaged) for r in readings.values())
                for segment in segments:
                    self._wal.discard(segment)
                return report
            replay = True  # rrdcached may have restarted in between: send everything again

    def _replay_contained(self, samples: list[Sample], aside: set[str]) -> set[str]:
        """Replay ``samples`` but those of ``aside``; the metrics whose replay fails while
        rrdcached still answers (found by halving), which are left out. Raises ArchiveError
        when rrdcached does not answer: then nothing can be replayed now."""
        by_metric: dict[str, list[Sample]] = {}
        for sample in samples:
            if sample.metric not in aside:
                by_metric.setdefault(sample.metric, []).append(sample)
        failed: set[str] = set()
        pending = [sorted(by_metric)]
        while pending:
            metrics = pending.pop()
            try:
                self._writer.replay([s for m in metrics for s in by_metric[m]])
                continue
            except Exception as exc:  # any cause: contained, logged, set aside
                self._client.ping()  # raises if rrdcached is gone: not the content's fault
                if len(metrics) == 1:
                    log.error("replay of %s failed: %s", metrics[0], exc)
                    failed.add(metrics[0])
                    continue
            half = len(metrics) // 2
            pending += [metrics[:half], metrics[half:]]
        return failed


@dataclass
class Replayed:
    """What one replay did, for its log line."""

    segments: int
    samples: int = 0
    aside: int = 0
    aside_metrics: int = 0
    damaged: int = 0
