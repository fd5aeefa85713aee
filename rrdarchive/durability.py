"""Keeping the write-ahead log and rrdcached in step: replay, recovery and trimming.

rrdcached may lose what it acknowledged when it dies; :class:`LogKeeper` makes sure that
every sample in this process's log reaches its RRD file before the log is dropped:

- on start, it takes over the segments of dead processes, replays them and drops them;
- when the writers' connection to rrdcached is new (the daemon may have restarted), it
  replays the log before anything newer is sent, because an RRD takes no sample older
  than its last update;
- a background thread FLUSHes the files of closed segments, over a connection of its own
  so that writers are not held up, and drops a segment only if the connection its samples
  went over still answers afterwards: a restarted daemon breaks every connection, so an
  unbroken one proves that the daemon that took the samples is the one that wrote them.
  Otherwise the segment is replayed first. Before dropping it, each file's last update is
  read: rrdcached answers a FLUSH with success even when it could not write a damaged
  file, and drops the values. The samples of such files are kept in a held segment, which
  the next process to start replays (see ``WriteAheadLog.hold``).

Replaying goes through the archive's own write path (``replay``), where a sample at or
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
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from rexmon.metric import metric_path
from rexmon.sample import Sample
from rrdarchive.config import ArchiveConfig
from rrdarchive.errors import ArchiveError
from rrdarchive.rrdcached import RrdcachedClient
from rrdarchive.wal import Segment, WriteAheadLog, note_latest, read_segment

FLUSH_CHUNK = 200
REPLAY_LOCK = "replay.lock"
log = logging.getLogger(__name__)


class LogKeeper:
    """The write-ahead log of one process, and what it takes to drop it safely."""

    def __init__(
        self,
        config: ArchiveConfig,
        client: RrdcachedClient,
        replay: Callable[[Sequence[Sample]], None],
        last_update: Callable[[Path], int | None],
    ) -> None:
        assert config.rrdcached is not None
        self._root = config.root
        self._client = client  # the writers' connection
        self._flusher = RrdcachedClient(config.rrdcached, config.root)
        self._replay = replay
        self._last_update = last_update  # of a file on disk; None if it has none
        self._wal = WriteAheadLog(
            config.wal_dir,
            segment_bytes=config.wal_segment_bytes,
            segment_seconds=config.wal_segment_seconds,
        )
        self._interval = max(1.0, min(30.0, config.wal_segment_seconds / 4))
        self._lock = threading.RLock()
        self._recovered_epoch = 0  # the connection for which the log was last replayed
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Replay what dead processes left, then start trimming in the background."""
        orphans = self._wal.orphans()
        try:
            if orphans:
                log.warning("replaying %d log segment(s) of dead processes", len(orphans))
                self._settle(orphans, replay_first=True)
        finally:
            for segment in orphans:
                if segment.path.exists():
                    self._wal.release(segment)
        self._thread = threading.Thread(target=self._trim_loop, daemon=True)
        self._thread.start()

    def log(self, samples: Sequence[Sample], epoch: int) -> None:
        """Append samples rrdcached accepted on connection ``epoch``; durable on return."""
        self._wal.append(samples, epoch)

    def recover_if_reconnected(self) -> None:
        """Before a write: if the writers' connection is new, replay this process's log."""
        epoch = self._client.ping()
        if epoch == self._recovered_epoch:
            return
        with self._lock:
            if epoch != self._recovered_epoch:
                self._trim(rotate=True)
                self._recovered_epoch = epoch

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
        """Held while replaying: one process at a time, see the module's docstring."""
        path = self._wal.directory / REPLAY_LOCK
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
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
                if "No such file" not in message:
                    raise ArchiveError(str(chunk[index]), "rrdcached FLUSH", message)

    def _hold_unwritten(self, segments: list[Segment], latest: dict[str, int]) -> None:
        """Keep the samples of files that are behind ``latest`` after a FLUSH."""
        behind = set()
        for metric, stamp in latest.items():
            last = self._last_update(metric_path(self._root, metric))
            if last is not None and last < stamp:
                behind.add(metric)
        if not behind:
            return
        kept = [s for g in segments for s in read_segment(g.path) if s.metric in behind]
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

    def _settle(self, segments: list[Segment], *, replay_first: bool) -> None:
        """Make sure rrdcached has written every sample of ``segments`` to disk, then drop
        them; replay them first if their connection may not be the current one."""
        sent_on = set().union(*(segment.epochs for segment in segments))
        replay = replay_first or sent_on != {self._client.epoch}
        while True:
            if replay:
                settling = {segment.path for segment in segments}
                with self._replaying():
                    samples = [s for path in settling for s in read_segment(path)]
                    others = [
                        s
                        for path in self._wal.segment_paths()
                        if path not in settling
                        for s in read_segment(path, live=True)
                    ]
                    self._replay(samples + others)
                latest: dict[str, int] = {}
                note_latest(latest, samples)
                epochs = {self._client.epoch}
            else:
                latest = {}
                for segment in segments:
                    for metric, stamp in segment.latest.items():
                        latest[metric] = max(stamp, latest.get(metric, 0))
                epochs = set(sent_on)
            self._flush(sorted(latest))
            epochs.add(self._client.ping())
            if len(epochs) == 1:
                self._hold_unwritten(segments, latest)
                for segment in segments:
                    self._wal.discard(segment)
                return
            replay = True  # rrdcached may have restarted in between: send everything again
