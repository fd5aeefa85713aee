"""Repairing RRD files that a killed rrdcached left half updated.

librrd updates a file in place through mmap and writes the file's last update time last
(src/rrd_update.c: ``update_pdp_prep``, ``update_all_cdp_prep``, ``write_to_rras``, then
``live_head->last_up``). A SIGKILL of rrdcached in between leaves a torn file: the sample's
value is in it (the last input ``last_ds``, the consolidation state, the new rows) but its
time is not. The replay would apply the sample a second time, and every older row of the
metric would from then on be labelled one step early (the fault harness lost 5,024 samples
of one metric so).

Before a replay sends anything, :func:`repair_torn` reads the header of each file the log
names. A file is torn at the log's first sample after the file's last update when its
``last_ds`` is that sample's value and not the value the log holds for the last update
itself. It is repaired in place, under the lock librrd takes for updates: the last update
becomes the torn sample's time, and each archive that had rows due by then and did not get
them gets them from the consolidation state librrd had already computed (``cdp_prep``'s
primary and secondary values) -- a row counted but not written (still unknown) is filled.

What cannot be told apart is left alone: a sample whose value equals the one before it,
a file whose last update the log no longer holds, and a kill inside the consolidation
step itself (before any row), which is microseconds against the row writes' page faults.
"""

from __future__ import annotations

import fcntl
import logging
import math
import os
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from rexmon.metric import metric_path
from rexmon.sample import Sample
from rrdarchive.plan import format_value

log = logging.getLogger(__name__)

# librrd's on-disk structures on LP64 (rrd_format.h); checked against the file's size
_STAT = struct.Struct("=4s5s7xd3Q80x")  # cookie, version, float cookie, ds, rra, step
_DS_DEF, _RRA_DEF = 120, 120
_RRA_DEF_HEAD = struct.Struct("=20s4x2Q")  # cf name, rows, pdp per row
_LIVE_HEAD = struct.Struct("=2q")  # last update, its microseconds
_PDP_PREP, _CDP_PREP, _RRA_PTR = 112, 80, 8
_LAST_DS_LEN = 30
_PRIMARY, _SECONDARY = 8, 9  # cdp_prep scratch slots of the rows a step writes
_FLOAT_COOKIE = 8.642135e130
_VALUE = struct.Struct("=d")
_ROW = _VALUE.size  # one data source per file


@dataclass
class Archive:
    """One round robin archive of a file: where its rows and state are."""

    rows: int
    per_row: int
    data: int  # offset of its first row
    pointer: int  # offset of its current row number
    cdp: int  # offset of its consolidation state


@dataclass
class Header:
    """What a repair needs of a single data source file's header."""

    step: int
    last_update: int
    last_ds: str
    archives: list[Archive]
    live_head: int  # offset of the last update time


def read_header(fd: int, size: int) -> Header | None:
    """The header of the open file ``fd`` of ``size`` bytes; None unless it is a single data
    source file in the layout this module knows (anything else is left alone)."""
    head = os.pread(fd, _STAT.size, 0)
    if len(head) < _STAT.size:
        return None
    cookie, version, float_cookie, ds_count, rra_count, step = _STAT.unpack(head)
    if cookie != b"RRD\0" or version[:4] not in (b"0003", b"0004") or ds_count != 1:
        return None
    if not math.isclose(float_cookie, _FLOAT_COOKIE, rel_tol=1e-9) or not 0 < rra_count < 1000:
        return None
    rra_defs = _STAT.size + _DS_DEF
    live_head = rra_defs + _RRA_DEF * rra_count
    pdp_prep = live_head + _LIVE_HEAD.size
    cdp_prep = pdp_prep + _PDP_PREP
    pointers = cdp_prep + _CDP_PREP * rra_count
    data = pointers + _RRA_PTR * rra_count
    raw = os.pread(fd, data, 0)
    archives = []
    for number in range(rra_count):
        _, rows, per_row = _RRA_DEF_HEAD.unpack_from(raw, rra_defs + _RRA_DEF * number)
        pointer, state = pointers + _RRA_PTR * number, cdp_prep + _CDP_PREP * number
        archives.append(Archive(rows, per_row, data, pointer, state))
        data += rows * _ROW
    if data != size or any(a.rows < 1 or a.per_row < 1 for a in archives):
        return None  # not the layout assumed: never write into it
    last_update, _ = _LIVE_HEAD.unpack_from(raw, live_head)
    last_ds = raw[pdp_prep : pdp_prep + _LAST_DS_LEN].split(b"\0", 1)[0].decode("ascii", "replace")
    return Header(step, last_update, last_ds, archives, live_head)


def torn_at(header: Header, samples: Sequence[Sample]) -> Sample | None:
    """The sample (of the time-sorted ``samples`` of the file's metric) whose update was cut
    short, or None if the file shows none."""
    at_last = [s for s in samples if s.time == header.last_update]
    after = next((s for s in samples if s.time > header.last_update), None)
    if not at_last or after is None:
        return None
    if any(format_value(s.value) == header.last_ds for s in at_last):
        return None  # the file holds what the log says it got last
    return after if format_value(after.value) == header.last_ds else None


def repair(path: Path, samples: Sequence[Sample]) -> Sample | None:
    """Repair ``path`` if it is torn at one of ``samples`` (its metric's, sorted by time);
    the sample it was torn at, else None. The header is read without a lock first (most
    files are whole); a torn one is re-read under librrd's update lock before it is
    written, and skipped while librrd holds that lock (it is being written: not torn)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        header = read_header(fd, os.fstat(fd).st_size)
    finally:
        os.close(fd)
    if header is None or torn_at(header, samples) is None:
        return None
    fd = os.open(path, os.O_RDWR)
    try:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return None
        header = read_header(fd, os.fstat(fd).st_size)
        torn = None if header is None else torn_at(header, samples)
        if header is None or torn is None:
            return None
        for archive in header.archives:
            _complete_rows(fd, header, archive, torn.time)
        os.pwrite(fd, _LIVE_HEAD.pack(torn.time, 0), header.live_head)
        os.fsync(fd)
        return torn
    finally:
        os.close(fd)  # drops the lock


def _complete_rows(fd: int, header: Header, archive: Archive, until: int) -> None:
    """Give ``archive`` the rows an update from the last update to ``until`` writes, the
    ones it did not get (see the module's docstring)."""
    due = _rows_due(header.step, archive, header.last_update, until)
    if not due:
        return
    state = os.pread(fd, _CDP_PREP, archive.cdp)
    primary = state[_PRIMARY * 8 : _PRIMARY * 8 + 8]
    secondary = state[_SECONDARY * 8 : _SECONDARY * 8 + 8]
    expected = [primary] + [secondary] * (due - 1)
    (current,) = struct.unpack("=Q", os.pread(fd, _RRA_PTR, archive.pointer))
    newest = [_read_row(fd, archive, current - back) for back in range(due + 1)]  # newest first
    written, fill = _written(expected, newest)
    missing = expected[written:]
    if fill:  # counted but not written: fill it in place
        _write_row(fd, archive, current, missing.pop(0))
    for row in missing:
        current = (current + 1) % archive.rows
        _write_row(fd, archive, current, row)
    os.pwrite(fd, struct.pack("=Q", current), archive.pointer)


def _rows_due(step: int, archive: Archive, last: int, until: int) -> int:
    """How many rows librrd writes to ``archive`` for an update from ``last`` to ``until``
    (rrd_update.c: ``update_all_cdp_prep``)."""
    elapsed = until // step - last // step
    offset = archive.per_row - (last // step) % archive.per_row
    if offset > elapsed:
        return 0
    return min((elapsed - offset) // archive.per_row + 1, archive.rows)


def _written(expected: list[bytes], newest: list[bytes]) -> tuple[int, bool]:
    """How many of the ``expected`` rows (oldest first) the archive already has (its
    ``newest`` rows, newest first), and whether the row after them was counted but not
    written: its slot still holds what it held before (unknown in a file not yet full)."""
    due = len(expected)
    if newest[:due][::-1] == expected:
        return due, False
    unknown = math.isnan(_VALUE.unpack(newest[0])[0])
    for written in range(due - 1, -1, -1):
        counted = newest[1 : written + 1][::-1] == expected[:written]
        if counted and unknown and not math.isnan(_VALUE.unpack(expected[written])[0]):
            return written, True
        if written and newest[:written][::-1] == expected[:written]:
            return written, False
    return 0, False


def _read_row(fd: int, archive: Archive, row: int) -> bytes:
    return os.pread(fd, _ROW, archive.data + (row % archive.rows) * _ROW)


def _write_row(fd: int, archive: Archive, row: int, value: bytes) -> None:
    os.pwrite(fd, value, archive.data + row * _ROW)


def repair_torn(root: Path, samples: Iterable[Sample]) -> list[tuple[str, int]]:
    """Repair every file of ``samples`` (the log about to be replayed) that a killed
    rrdcached left torn; the (metric, time) of each repair, also logged."""
    by_metric: dict[str, list[Sample]] = {}
    for sample in samples:
        by_metric.setdefault(sample.metric, []).append(sample)
    repaired = []
    for metric, group in by_metric.items():
        group.sort(key=lambda s: s.time)
        torn = repair(metric_path(root, metric), group)
        if torn is not None:
            log.warning(
                "%s: a killed rrdcached left its update at %s half done; repaired (last"
                " update set to it, the rows it was writing completed)",
                metric_path(root, metric),
                torn.time,
            )
            repaired.append((metric, torn.time))
    return repaired
