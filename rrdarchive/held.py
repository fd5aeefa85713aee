"""What a file holds at given times, as far as it can be told exactly.

A sample at or before a file's last update is either the batch sent again after a lost
answer (stored already: accepted) or a conflict; telling them apart takes the value the
file holds at that time (see ``plan.settle``). :class:`HeldValues` finds it in the last
update, in what this process accepted recently, in what rrdcached holds (PENDING), and for
a GAUGE at step boundaries in the file's finest tier. A time left out cannot be checked.
"""

from __future__ import annotations

from rrdarchive.errors import ArchiveError
from rrdarchive.files import RrdFiles
from rrdarchive.plan import Group
from rrdarchive.rrd import Rrd, finite, time_range

MAX_RECENT = 4096  # accepted (time, value) pairs remembered per metric, to check a re-send
MAX_RECENT_METRICS = 10_000


class HeldValues:
    """The values of recent writes, and the ways to find out what a file holds."""

    def __init__(self, rrd: Rrd, files: RrdFiles) -> None:
        self._rrd = rrd
        self._files = files
        # metric -> the (times, values) of its last batch of several samples, accepted here
        self._recent: dict[str, tuple[list[int], list[float | None]]] = {}

    def remember(self, group: Group) -> None:
        """Keep the samples of ``group``, just stored, to check a re-send of them."""
        recent = self._recent
        if group.metric not in recent and len(recent) >= MAX_RECENT_METRICS:
            del recent[next(iter(recent))]  # the oldest
        recent[group.metric] = (group.times[-MAX_RECENT:], group.values[-MAX_RECENT:])

    def at(self, group: Group, known: tuple[int, object]) -> dict[int, float | None]:
        """What the file holds at the times of ``group`` up to its last update ``known``."""
        last_time, last_value = known
        wanted = {t for t in group.times if t <= last_time}
        held: dict[int, float | None] = {}
        if (last_value is None or isinstance(last_value, float)) and last_time in wanted:
            held[last_time] = last_value
        recent = self._recent.get(group.metric)
        if recent is not None:
            for time_, value in zip(*recent, strict=True):
                if time_ in wanted:
                    held[time_] = value
        missing = wanted - held.keys()
        client = self._rrd.client
        if missing and client is not None:
            try:
                lines = client.pending(group.path)
            except ArchiveError:
                lines = []
            for line in lines:
                stamp, _, text = line.partition(":")
                time_ = int(float(stamp))
                if time_ in missing:
                    held[time_] = None if text == "U" else float(text)
            missing -= held.keys()
        if missing:
            held.update(self._finest(group, missing))
        return held

    def _finest(self, group: Group, times: set[int]) -> dict[int, float | None]:
        """Known values of the finest AVERAGE tier at those of ``times`` on its step
        boundaries, for a GAUGE with a one-step tier: there a point is the value fed at its
        time when the samples come once a step, on the boundary (else it differs, and the
        sample is refused as a conflict although stored: never the other way round)."""
        step = group.schema.step
        aligned = sorted(t for t in times if t % step == 0)
        if not aligned:
            return {}
        try:
            if self._files.ds_type(group) != "GAUGE":
                return {}
            span = time_range(aligned[0] - step, aligned[-1])
            args = ["AVERAGE", *span, "--resolution", str(step)]
            (first, _, got), _, rows = self._rrd.call("fetch", group.path, args)
        except (ArchiveError, ValueError):
            return {}
        if got != step:  # only a coarser tier covers those times
            return {}
        found: dict[int, float | None] = {}
        for time_ in aligned:
            row = (time_ - first) // step - 1
            if 0 <= row < len(rows):
                value = finite(rows[row][0])
                if value is not None:  # unknown there: cannot tell what was fed
                    found[time_] = value
        return found
