"""The RRD files the writer knows of: which exist, their data source type, making new ones.

A file seen once is remembered, as is its type when a value had to be checked against it,
so the common write costs no system call. Files are created on a metric's first sample,
under a temporary name and then linked in: another process that creates the same file
first wins, and nobody ever sees a half-written RRD.
"""

from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

from rexmon.metric import metric_path
from rrdarchive.errors import ArchiveError, read_failure
from rrdarchive.plan import Group
from rrdarchive.rrd import Rrd
from rrdarchive.verdict import Verdict, rejected, retry_later

LOW_SPACE = 64 * 1024 * 1024  # below this, a create that failed without a reason = disk full


class RrdFiles:
    """Existence and types of the files under ``root``, and their creation."""

    def __init__(self, root: Path, rrd: Rrd) -> None:
        self._root = root
        self._rrd = rrd
        self._known: set[str] = set()  # metrics whose file exists
        self._types: dict[str, str] = {}  # metric -> DS type, when it had to be known

    def exists(self, metric: str) -> bool:
        """Whether ``metric`` has a file (raises InvalidMetricName for a bad id)."""
        if metric in self._known:
            return True
        if metric_path(self._root, metric).exists():
            self._known.add(metric)
            return True
        return False

    def forget(self, metric: str) -> None:
        """The file of ``metric`` was found missing after all (moved away, say)."""
        self._known.discard(metric)

    def ds_type(self, group: Group) -> str:
        """The DS type of the file of ``group``, read once (raises ArchiveError)."""
        ds_type = self._types.get(group.metric)
        if ds_type is None:
            ds_type = self._types[group.metric] = self._rrd.ds_type(group.path)
        return ds_type

    def create_missing(self, groups: list[Group]) -> tuple[dict[int, Verdict], dict[str, int]]:
        """Create the files ``groups`` need: the verdicts (by batch position) of samples
        whose file could not be created, which are dropped from their group, and the
        start time of each file created here (its last update)."""
        refused: dict[int, Verdict] = {}
        created: dict[str, int] = {}
        for group in groups:
            if group.metric in self._known:
                continue
            if not group.path.exists():
                try:
                    start = self._create(group)
                except (ArchiveError, OSError) as exc:
                    verdict = _create_failure(group.path, exc)
                    for indexes in group.indexes:
                        for index in indexes:
                            refused[index] = verdict
                    group.drop_first(len(group.times))
                    continue
                if start is not None:
                    created[group.metric] = start
            self._known.add(group.metric)
        return refused, created

    def check_types(self, groups: list[Group]) -> dict[int, Verdict]:
        """COUNTER, DERIVE and ABSOLUTE take integers only (rrdcached would take anything and
        lose it when writing): the verdicts of other values, dropped before sending."""
        refused: dict[int, Verdict] = {}
        for group in groups:
            ds_type = self._types.get(group.metric)
            if ds_type == "GAUGE" or all(
                v is None or (v >= 0 and float(v).is_integer()) for v in group.values
            ):
                continue
            if ds_type is None:
                try:
                    ds_type = self.ds_type(group)
                except ArchiveError:
                    continue  # the update will fail and say why
            if ds_type == "GAUGE":
                continue
            signed = ds_type == "DERIVE"
            keep = []
            for position, value in enumerate(group.values):
                if value is None or (float(value).is_integer() and (signed or value >= 0)):
                    keep.append(position)
                    continue
                need = "an integer" if signed else "an integer >= 0"
                verdict = rejected(f"value {value!r} refused: a {ds_type} RRD needs {need}")
                for index in group.indexes[position]:
                    refused[index] = verdict
            group.keep(keep)
        return refused

    def _create(self, group: Group) -> int | None:
        """Create the file; its start (the last update), None if another process won."""
        schema = group.schema
        # the step boundary just before the first sample, so that its interval is known
        start = (group.times[0] - 1) // schema.step * schema.step
        group.path.parent.mkdir(parents=True, exist_ok=True)
        unique = f"{os.getpid()}.{threading.get_ident()}"
        temporary = group.path.with_name(f".{group.path.name}.{unique}")
        ds_type = schema.ds_type(group.hint)
        args = ["--start", str(start), *schema.create_args(ds_type, group.bounds)]
        self._rrd.call("create", temporary, args)
        try:
            os.link(temporary, group.path)
            self._types[group.metric] = ds_type.value
            return start
        except FileExistsError:
            return None
        finally:
            temporary.unlink()


def _create_failure(path: Path, exc: ArchiveError | OSError) -> Verdict:
    """The verdict for a failed create: rrdtool gives no reason when the disk is full, so
    look; a full disk or a busy file is passing."""
    prefix = "cannot create the RRD: "
    if isinstance(exc, OSError):
        message = prefix + str(exc)
        return retry_later(message) if exc.errno == errno.ENOSPC else rejected(message)
    if exc.message.strip():
        passing = read_failure(exc.message).cause.passing
        return (retry_later if passing else rejected)(prefix + str(exc))
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return rejected(f"{prefix}{path}: rrdtool gave no reason")
    free = stats.f_bavail * stats.f_frsize
    if free < LOW_SPACE or stats.f_favail == 0:
        return retry_later(
            f"{prefix}No space left on the archive's disk ({free} bytes free under {path.parent})"
        )
    return rejected(f"{prefix}{path}: rrdtool gave no reason ({free} bytes free)")
