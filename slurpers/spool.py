"""The spool: batches the server did not take wait here, one file each, oldest sent first.

Layout: ``<dir>/<instance>/<time_ns>-<count>.json.gz`` (the gzip JSON body as it is sent),
``<dir>/<instance>/refused/`` for batches the server answered 400 to (kept for a person
to look at, never resent), and ``<dir>/<instance>.lock`` (flock: one run at a time).
Check results wait the same way in ``<dir>/<instance>/checks/`` (:class:`CheckSpool`,
its own limits, under the instance's lock).
Writes are atomic: temp file, fsync, rename, fsync of the directory. A file is deleted
only after the server acknowledged it. ``trim`` drops what is older than ``max_age`` and
then the oldest until the total is under ``max_bytes``, and says how much it dropped.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from rexmon.checkresult import CheckResult, check_from_json
from rexmon.sample import Sample, sample_from_json
from slurpers.errors import SpoolBusy

T = TypeVar("T")

STALE_TEMP_NS = 3600 * 1_000_000_000
_NAME = re.compile(r"(\d{19,20})-(\d+)\.json\.gz\Z")


@dataclass(frozen=True)
class SpooledBatch:
    path: Path
    created_ns: int
    count: int
    size: int


@dataclass(frozen=True)
class Dropped:
    batches: int = 0
    samples: int = 0
    reason: str = ""


@dataclass(frozen=True)
class Codec(Generic[T]):
    """How a batch of one kind is a request body: ``{key: [item.to_json(), ...]}``."""

    key: str
    to_json: Callable[[T], dict[str, Any]]
    from_json: Callable[[object], T]

    def encode(self, items: list[T]) -> bytes:
        """The gzip JSON request body of a batch (also its spool file content)."""
        body = json.dumps({self.key: [self.to_json(i) for i in items]}, separators=(",", ":"))
        return gzip.compress(body.encode(), mtime=0)

    def decode(self, data: bytes) -> list[T]:
        document = json.loads(gzip.decompress(data))
        return [self.from_json(item) for item in document[self.key]]


SAMPLES: Codec[Sample] = Codec("samples", Sample.to_json, sample_from_json)
CHECKS: Codec[CheckResult] = Codec("checks", CheckResult.to_json, check_from_json)


def encode_batch(samples: list[Sample]) -> bytes:
    return SAMPLES.encode(samples)


def decode_batch(data: bytes) -> list[Sample]:
    return SAMPLES.decode(data)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BatchSpool(Generic[T]):
    """The spooled batches of one kind (``codec``) of one instance, in ``directory``."""

    def __init__(
        self,
        root: Path,
        instance: str,
        max_bytes: int,
        max_age: int,
        clock: Callable[[], float],
        codec: Codec[T],
        directory: Path,
    ) -> None:
        self.root = root
        self.codec = codec
        self.dir = directory
        self.refused_dir = self.dir / "refused"
        self.lock_path = root / f"{instance}.lock"
        self.max_bytes = max_bytes
        self.max_age = max_age
        self.clock = clock

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the instance lock for a run; raise :class:`SpoolBusy` if another run has it."""
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o640)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise SpoolBusy(f"another run holds {self.lock_path}") from None
            yield
        finally:
            os.close(fd)

    def _write(self, directory: Path, name: str, data: bytes) -> Path:
        directory.mkdir(parents=True, exist_ok=True, mode=0o750)
        final = directory / name
        temp = directory / f".{name}.tmp"
        with open(temp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp, final)
        _fsync_dir(directory)
        return final

    def save(self, samples: list[T]) -> SpooledBatch:
        """Store a batch durably; file names sort oldest first."""
        stamp = int(self.clock() * 1e9)
        for batch in self.pending()[-1:]:
            stamp = max(stamp, batch.created_ns + 1)
        data = self.codec.encode(samples)
        path = self._write(self.dir, f"{stamp:020d}-{len(samples)}.json.gz", data)
        return SpooledBatch(path, stamp, len(samples), len(data))

    def pending(self) -> list[SpooledBatch]:
        """The spooled batches, oldest first."""
        if not self.dir.is_dir():
            return []
        batches = []
        for path in self.dir.iterdir():
            match = _NAME.match(path.name)
            if match and path.is_file():
                size = path.stat().st_size
                batches.append(SpooledBatch(path, int(match[1]), int(match[2]), size))
        return sorted(batches, key=lambda batch: batch.path.name)

    def load(self, batch: SpooledBatch) -> list[T]:
        return self.codec.decode(batch.path.read_bytes())

    def remove(self, batch: SpooledBatch) -> None:
        """Forget a batch the server acknowledged."""
        batch.path.unlink(missing_ok=True)
        _fsync_dir(self.dir)

    def replace(self, batch: SpooledBatch, samples: list[T]) -> None:
        """Keep only ``samples`` of a batch (the rest was acknowledged), in its place."""
        name = f"{batch.created_ns:020d}-{len(samples)}.json.gz"
        if name != batch.path.name:
            self._write(self.dir, name, self.codec.encode(samples))
            self.remove(batch)

    def refuse(self, batch: SpooledBatch) -> Path:
        """Move a batch the server refused as a whole to ``refused/``; it is not resent."""
        self.refused_dir.mkdir(parents=True, exist_ok=True, mode=0o750)
        target = self.refused_dir / batch.path.name
        os.replace(batch.path, target)
        _fsync_dir(self.refused_dir)
        _fsync_dir(self.dir)
        return target

    def trim(self) -> list[Dropped]:
        """Apply the age and size limits; returns what was dropped, for the log."""
        now_ns = int(self.clock() * 1e9)
        pending = self.pending()
        old = [b for b in pending if now_ns - b.created_ns > self.max_age * 1_000_000_000]
        kept = [b for b in pending if b not in old]
        total = sum(b.size for b in kept)
        big: list[SpooledBatch] = []
        while kept and total > self.max_bytes:
            batch = kept.pop(0)
            big.append(batch)
            total -= batch.size
        self._remove_stale_temp_files(now_ns)
        dropped = []
        for victims, reason in ((old, "older than max_age"), (big, "over max_size")):
            for batch in victims:
                batch.path.unlink(missing_ok=True)
            if victims:
                dropped.append(Dropped(len(victims), sum(b.count for b in victims), reason))
        return dropped

    def _remove_stale_temp_files(self, now_ns: int) -> None:
        """Temp files left by a crash mid-write (an hour old: no writer is still on them)."""
        for temp in self.dir.glob(".*.tmp"):
            if now_ns - temp.stat().st_mtime_ns > STALE_TEMP_NS:
                temp.unlink(missing_ok=True)


class Spool(BatchSpool[Sample]):
    """The sample spool of one instance: ``<root>/<instance>/``."""

    def __init__(
        self,
        root: Path,
        instance: str,
        max_bytes: int,
        max_age: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(root, instance, max_bytes, max_age, clock, SAMPLES, root / instance)


class CheckSpool(BatchSpool[CheckResult]):
    """The check-result spool of one instance: ``<root>/<instance>/checks/``; it uses the
    sample spool's lock (hold ``Spool.locked()`` around it)."""

    def __init__(
        self,
        root: Path,
        instance: str,
        max_bytes: int,
        max_age: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        directory = root / instance / "checks"
        super().__init__(root, instance, max_bytes, max_age, clock, CHECKS, directory)
