"""The write-ahead log that makes samples acknowledged through rrdcached durable.

rrdcached keeps updates in memory, so a killed daemon loses what it acknowledged (its
optional journal is unsynced, and must not be used with rexmon: see docs/archive.md).
Each process appends the samples it got accepted to its own segment file and fsyncs
before ``Archive.write`` returns. Writers in one process share fsyncs (group commit):
whoever syncs covers everything written so far.

A segment is rotated when it is big or old enough, or when the connection to rrdcached
changed (the daemon may have restarted and lost what the segment holds). A closed segment
is dropped once rrdcached has flushed every file it names — the log keeper does that, see
``durability``. Segments are held under ``flock`` while their process lives; a segment whose
lock can be taken belongs to a dead process and is replayed by the next one to start.
What a segment holds is written and read back by ``walformat``.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from rexmon.sample import Sample
from rrdarchive.errors import ArchiveError
from rrdarchive.walformat import DAMAGED, encode

SUFFIX = ".wal"


@dataclass(eq=False)
class Segment:
    """One segment file, open and locked by this process."""

    path: Path
    fd: int
    opened: float
    size: int = 0
    latest: dict[str, int] = field(default_factory=dict)  # metric -> its last time here
    epochs: set[int] = field(default_factory=set)


class WriteAheadLog:
    """Append-and-fsync log of accepted samples, one directory shared by many processes."""

    def __init__(
        self,
        directory: Path,
        *,
        segment_bytes: int,
        segment_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self.segment_seconds = segment_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._sync_lock = threading.Lock()
        self._active: Segment | None = None
        self._closed: list[Segment] = []
        self._written = 0
        self._synced = 0
        self._counter = 0
        self.syncs = 0  # fsyncs done, fewer than appends when writers share them
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(str(directory), "wal", f"cannot create: {exc.strerror}") from None

    # -- writing ------------------------------------------------------------------------

    def append(self, samples: Sequence[Sample], epoch: int) -> None:
        """Append ``samples`` (sent to rrdcached on connection ``epoch``) and make them durable."""
        if not samples:
            return
        data = encode(samples)
        with self._lock:
            active = self._active
            if active is None or self._due(active, epoch):
                active = self._rotate_locked()
            try:
                _write_all(active.fd, data)
            except OSError as exc:
                raise ArchiveError(str(active.path), "wal append", exc.strerror or "") from None
            active.size += len(data)
            note_latest(active.latest, samples)
            active.epochs.add(epoch)
            self._written += len(data)
            target = self._written
        self._sync_to(target)

    def _due(self, active: Segment, epoch: int) -> bool:
        return (
            active.size >= self.segment_bytes
            or self._clock() - active.opened >= self.segment_seconds
            or (bool(active.epochs) and epoch not in active.epochs)
        )

    def _sync_to(self, target: int) -> None:
        """Group commit: one fsync covers every append written before it started."""
        if self._synced >= target:
            return
        with self._sync_lock:
            if self._synced >= target:
                return
            with self._lock:
                upto = self._written
                active = self._active
            if active is not None:
                try:
                    os.fdatasync(active.fd)
                except OSError as exc:
                    raise ArchiveError(str(active.path), "wal fsync", exc.strerror or "") from None
            self._synced = upto
            self.syncs += 1

    def _rotate_locked(self) -> Segment:
        old = self._active
        if old is not None:
            os.fdatasync(old.fd)  # what follows lives in the new segment; sync this one now
            self._closed.append(old)
        self._counter += 1
        name = f"{os.getpid()}-{time.time_ns()}-{self._counter}{SUFFIX}"
        path = self.directory / name
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o640)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _sync_directory(self.directory)
        except OSError as exc:
            raise ArchiveError(str(path), "wal create", exc.strerror or "") from None
        self._active = Segment(path, fd, self._clock())
        return self._active

    # -- trimming -----------------------------------------------------------------------

    def closed_segments(self, *, rotate: bool = False) -> list[Segment]:
        """Segments no longer written to; ``rotate`` closes the active one too, and so
        does its age. The caller flushes their files and then :meth:`discard` s them."""
        with self._lock:
            active = self._active
            if active is not None and (
                rotate or self._clock() - active.opened >= self.segment_seconds
            ):
                os.fdatasync(active.fd)
                self._closed.append(active)
                self._active = None
            return list(self._closed)

    def discard(self, segment: Segment) -> None:
        """Delete a segment whose samples are all on disk in their RRD files."""
        with self._sync_lock, self._lock:
            if segment in self._closed:
                self._closed.remove(segment)
            try:
                segment.path.unlink()
            except FileNotFoundError:
                pass
            os.close(segment.fd)

    def orphans(self) -> list[Segment]:
        """Segments left by dead processes, now locked by this one (to replay, then discard)."""
        found: list[Segment] = []
        with self._lock:
            ours = {s.path for s in self._closed} | ({self._active.path} if self._active else set())
        for path in self.segment_paths():
            if path in ours:
                continue
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)  # a live process owns it
                continue
            if not path.exists():  # replayed and removed by another process meanwhile
                os.close(fd)
                continue
            found.append(Segment(path, fd, self._clock()))
        return found

    def segment_paths(self) -> list[Path]:
        """Every segment file in the directory: this process's, live and dead ones."""
        return sorted(self.directory.glob(f"*{SUFFIX}"))

    def hold(self, samples: Sequence[Sample]) -> Path:
        """Keep ``samples`` in a segment of their own that no process holds: the next one to
        start replays it, as it would a dead process's. Written under another name first,
        so that no replay reads it half written."""
        path = self.directory / f"held-{os.getpid()}-{time.time_ns()}{SUFFIX}"
        self._write_file(path, encode(samples), "wal hold")
        return path

    def set_aside(self, samples: Sequence[Sample]) -> Path:
        """Keep ``samples`` that could not be replayed under ``damaged/``, never replayed
        again on its own: an operator looks at them (and may feed them back)."""
        aside = self.directory / DAMAGED
        aside.mkdir(exist_ok=True)
        path = aside / f"unreplayed-{os.getpid()}-{time.time_ns()}{SUFFIX}"
        self._write_file(path, encode(samples), "wal set aside")
        return path

    def _write_file(self, path: Path, data: bytes, what: str) -> None:
        partial = path.with_name(path.name + ".partial")
        try:
            fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            try:
                _write_all(fd, data)
                os.fdatasync(fd)
            finally:
                os.close(fd)
            partial.rename(path)
            _sync_directory(path.parent)
        except OSError as exc:
            raise ArchiveError(str(path), what, exc.strerror or "") from None

    def release(self, segment: Segment) -> None:
        """Give up a segment without deleting it (its samples stay for a later replay)."""
        with self._sync_lock, self._lock:
            if segment in self._closed:
                self._closed.remove(segment)
            os.close(segment.fd)

    def close(self) -> None:
        """Close every segment file; what was not discarded stays for replay."""
        with self._sync_lock, self._lock:
            segments = self._closed + ([self._active] if self._active else [])
            for segment in segments:
                os.close(segment.fd)
            self._closed = []
            self._active = None


def note_latest(latest: dict[str, int], samples: Iterable[Sample]) -> None:
    """Record in ``latest`` the last time of each metric of ``samples``."""
    for sample in samples:
        if latest.get(sample.metric, 0) < sample.time:
            latest[sample.metric] = sample.time


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
