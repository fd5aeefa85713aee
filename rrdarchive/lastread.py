"""The last update (time, value as fed) of many files in one go, for readers that need
only the newest value (alarmd's rules without a window): ``rrdtool lastupdate`` reads the
file's header alone, where a fetch also reads and consolidates rows.

With rrdcached the files are FLUSHed first, all in one BATCH (one round trip; a file with
nothing cached costs the daemon nothing), so values it acknowledged but has not written
yet are seen; a file it cannot flush is reported, not read stale. The binding gives the
time as a naive local ``datetime``, which is an hour off in the repeated hour when the
clocks go back; it is read in UTC, where every time is unique.
"""

from __future__ import annotations

import calendar
from collections.abc import Sequence
from pathlib import Path

from rrdarchive.errors import ArchiveError
from rrdarchive.rrd import Rrd
from rrdarchive.zone import local_zone

LastUpdate = tuple[int, float | None]


def last_updates(rrd: Rrd, paths: Sequence[Path]) -> list[LastUpdate | ArchiveError]:
    """Per path, its last update (value None: fed as unknown), or why it cannot be read."""
    failed: dict[int, str] = {}
    if rrd.client is not None and paths:
        failed, _ = rrd.client.flush_many(paths)
    found: list[LastUpdate | ArchiveError] = []
    with local_zone("UTC"):
        for number, path in enumerate(paths):
            if number in failed:
                found.append(ArchiveError(str(path), "rrdcached FLUSH", failed[number]))
                continue
            try:
                answer = rrd.call("lastupdate", path, [], flush=False)
            except ArchiveError as exc:
                found.append(exc)
                continue
            value = answer["ds"].get("value")
            found.append((calendar.timegm(answer["date"].timetuple()), _finite(value)))
    return found


def _finite(value: object) -> float | None:
    if not isinstance(value, int | float):
        return None
    number = float(value)
    return number if number - number == 0 else None  # nan and inf: unknown
