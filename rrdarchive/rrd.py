"""The one way to rrdtool: every binding call of the archive, reads and writes, goes here.

:meth:`Rrd.call` builds the arguments from validated values, adds ``--daemon`` for reads
when rrdcached is configured (after flushing the files through our own client, which
checks the reply, unlike the binding) and turns ``rrdtool.OperationalError`` into
``ArchiveError``. The argument checks shared by readers and the writer live here too.
"""

from __future__ import annotations

import ctypes
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import rrdtool

from rrdarchive.errors import ArchiveError, Cause, read_failure
from rrdarchive.rrdcached import RrdcachedClient
from rrdarchive.schemas import CONSOLIDATIONS

MIN_TIME = 100_000_000  # rrdtool reads shorter numbers as dates ("month 999")
_COMMANDS: dict[str, Callable[..., Any]] = {
    "create": rrdtool.create,
    "update": rrdtool.update,
    "info": rrdtool.info,
    "last": rrdtool.last,
    "lastupdate": rrdtool.lastupdate,
    "fetch": rrdtool.fetch,
    "xport": rrdtool.xport,
    "graphv": rrdtool.graphv,
}
_READS = frozenset({"info", "last", "lastupdate", "fetch", "xport", "graphv"})


class Rrd:
    """rrdtool on the archive under ``root``; through rrdcached when ``client`` is given."""

    def __init__(self, root: Path, client: RrdcachedClient | None) -> None:
        self.root = root
        self.client = client  # for updates and reads
        # librrd draws with pango/cairo, which corrupt memory (and crash the process)
        # when two threads draw at once: one graph at a time per process
        self._drawing = threading.Lock()

    def call(
        self,
        command: str,
        path: Path | None,
        args: Sequence[str],
        *,
        flush: bool = True,
        flush_paths: Sequence[Path] = (),
    ) -> Any:
        """Call the rrdtool binding: ``command`` on ``path`` with validated ``args``.

        For reads with rrdcached configured, the files are first FLUSHed through our client
        (which fails loudly, unlike the binding) and ``--daemon`` is added over a unix
        socket (over TCP the daemon wants relative names, and the flush already made the
        local file current).
        """
        function = _COMMANDS[command]
        argv: list[str] = []
        client = self.client
        if command in _READS and client is not None and flush:
            targets = [path] if path is not None else list(flush_paths)
            for target in targets:
                client.flush(target)
            if client.address.startswith("unix:"):
                argv += ["--daemon", client.address]
        if path is not None:
            argv.append(str(path))
        argv.extend(args)
        try:
            if command == "graphv":
                with self._drawing:
                    return function(*argv)
            result = function(*argv)
        except rrdtool.OperationalError as exc:
            raise ArchiveError(str(path or self.root), command, str(exc)) from None
        if command == "xport":
            drop_leaked_references(result)
        return result

    def last_update(self, path: Path) -> tuple[int, float | None]:
        """The last update (time, value as fed): the last one rrdcached holds, else the
        file's. Asking rrdcached (PENDING) spares it writing the file, as a FLUSH would."""
        if self.client is not None:
            pending = self.client.pending(path)
            if pending:
                stamp, _, value = pending[-1].partition(":")
                return int(float(stamp)), None if value == "U" else float(value)
        info = self.call("info", path, [], flush=False)
        text = info.get("ds[value].last_ds", "U")
        return int(info["last_update"]), None if text == "U" else float(text)

    def stored_last(self, path: Path) -> tuple[int, float | None] | None:
        """:meth:`last_update`, or None when it cannot be read."""
        try:
            return self.last_update(path)
        except (ArchiveError, ValueError):
            return None

    def file_last_update(self, path: Path) -> int | None:
        """The last update written in the file itself (0 if it cannot be read: damaged),
        None if there is no file."""
        try:
            return int(self.call("last", path, [], flush=False))
        except ArchiveError as exc:
            return None if read_failure(exc.message).cause is Cause.MISSING else 0

    def ds_type(self, path: Path) -> str:
        """The data source type of a file (GAUGE, COUNTER, ...), read from the file."""
        info = self.call("info", path, [], flush=False)
        return str(info["ds[value].type"])


def drop_leaked_references(answer: dict[str, Any]) -> None:
    """Give back the references python-rrdtool's ``xport`` keeps (0.1.16: ``PyDict_SetItem``
    of new keys and values without ``Py_DECREF``; rrdtool-1.x issue #1381): every answer,
    all its rows, lived as long as the process -- a Graphite render of 100 series x 1 day
    kept 5 MB of every worker. A reference is dropped only where the count shows it is one
    too many (fresh objects that only the answer holds), so a fixed binding is left alone."""
    if isinstance(answer.get("meta"), dict):  # no name for it here: it would count
        _drop_extra(answer["meta"])
    _drop_extra(answer)


def _drop_extra(mapping: dict[str, Any]) -> None:
    for key in list(mapping):  # each key: the dict, the list, `key`, getrefcount's argument
        value = mapping[key]  # each value: the dict, `value`, getrefcount's argument
        if sys.getrefcount(value) == 4:
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(value))
        if sys.getrefcount(key) == 5:
            ctypes.pythonapi.Py_DecRef(ctypes.py_object(key))


def time_range(start: int, end: int) -> list[str]:
    """``--start``/``--end`` for UNIX times ``start`` < ``end``."""
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, int) or value < MIN_TIME:
            raise ValueError(f"{name} must be a UNIX time in seconds, got {value!r}")
    if start >= end:
        raise ValueError(f"start {start} must be before end {end}")
    return ["--start", str(start), "--end", str(end)]


def finite(value: Any) -> float | None:
    """A value rrdtool returned, None for unknown (None, NaN or infinite)."""
    if value is None:
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def consolidation(cf: str) -> str:
    if cf not in CONSOLIDATIONS:
        raise ValueError(f"consolidation must be one of {', '.join(CONSOLIDATIONS)}, got {cf!r}")
    return cf


def positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def plain_text(text: str) -> str:
    """An option value: one line of printable text."""
    return "".join(ch if ch.isprintable() else " " for ch in str(text))[:200]


def summarize_info(raw: dict[str, Any]) -> dict[str, Any]:
    """Step, DS type, heartbeat, bounds, archives and last update from ``rrdtool info``."""
    step = int(raw["step"])
    rras = []
    for number in _indexes(raw, "rra"):
        per_row = int(raw[f"rra[{number}].pdp_per_row"])
        rows = int(raw[f"rra[{number}].rows"])
        rras.append(
            {
                "cf": raw[f"rra[{number}].cf"],
                "resolution": step * per_row,
                "rows": rows,
                "keep": step * per_row * rows,
                "xff": float(raw[f"rra[{number}].xff"]),
            }
        )
    return {
        "step": step,
        "type": raw["ds[value].type"],
        "heartbeat": int(raw["ds[value].minimal_heartbeat"]),
        "min": finite(raw.get("ds[value].min")),
        "max": finite(raw.get("ds[value].max")),
        "last_update": int(raw["last_update"]),
        "rras": rras,
    }


def _indexes(raw: dict[str, Any], prefix: str) -> Iterator[int]:
    number = 0
    while f"{prefix}[{number}].cf" in raw:
        yield number
        number += 1
