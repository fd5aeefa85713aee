"""An in-memory index of the downtimes of one time range, for many metric lookups.

alarmd builds one per cycle (``store.index(now, now + 1)``) and asks it about every
metric; the web app builds one per graph page (``store.index(start, end)``). Scopes are
bucketed by their literal prefix (the text before the first wildcard), and a lookup
fetches only the buckets whose prefix the metric starts with (one dictionary lookup per
distinct prefix length), so it tests a handful of globs, not all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from downtime.model import Downtime, Window
from downtime.recurrence import windows
from rexmon.metric import glob_matcher


@dataclass(frozen=True)
class _Entry:
    glob: str
    downtime: Downtime
    windows: tuple[Window, ...]


class DowntimeIndex:
    """Which downtimes of ``[start, end)`` apply to which metrics, and when."""

    def __init__(self, downtimes: Iterable[Downtime], start: int, end: int) -> None:
        self.start = start
        self.end = end
        self._buckets: dict[str, list[_Entry]] = {}
        self._matchers: dict[str, Callable[[str], bool]] = {}  # compiled when first needed
        for downtime in downtimes:
            found = tuple(windows(downtime, start, end))
            if not found and not _armed(downtime, start, end):
                continue
            for glob in downtime.scopes:
                entry = _Entry(glob, downtime, found)
                self._buckets.setdefault(_literal_prefix(glob), []).append(entry)
        self._lengths = sorted({len(prefix) for prefix in self._buckets})

    def _matches(self, entry: _Entry, metric: str) -> bool:
        matcher = self._matchers.get(entry.glob)
        if matcher is None:
            matcher = self._matchers[entry.glob] = glob_matcher(entry.glob)
        return matcher(metric)

    def _entries(self, metric: str) -> Iterable[_Entry]:
        for length in self._lengths:
            if length > len(metric):
                break
            yield from self._buckets.get(metric[:length], ())

    def covering(self, metric: str, at: int) -> list[Downtime]:
        """The downtimes in effect for ``metric`` at ``at`` (each once, by id)."""
        found: dict[int, Downtime] = {}
        for entry in self._entries(metric):
            if entry.downtime.id in found:
                continue
            if any(w.start <= at < w.end for w in entry.windows) and self._matches(entry, metric):
                found[entry.downtime.id] = entry.downtime
        return sorted(found.values(), key=lambda downtime: downtime.id)

    def covering_many(self, metrics: Iterable[str], at: int) -> dict[str, list[Downtime]]:
        """``covering`` for many metrics; metrics without a downtime are left out."""
        result = {}
        for metric in metrics:
            found = self.covering(metric, at)
            if found:
                result[metric] = found
        return result

    def armed_flexible(self, metric: str, at: int) -> list[Downtime]:
        """Flexible downtimes not yet triggered whose window holds ``at``: alarmd calls
        ``store.trigger_flexible(id, at)`` on them when a problem appears."""
        found: dict[int, Downtime] = {}
        for entry in self._entries(metric):
            downtime = entry.downtime
            if downtime.id in found or not _armed(downtime, at, at + 1):
                continue
            if self._matches(entry, metric):
                found[downtime.id] = downtime
        return sorted(found.values(), key=lambda downtime: downtime.id)

    def overlapping(self, metrics: Iterable[str], start: int, end: int) -> list[Window]:
        """The windows intersecting ``[start, end)`` of downtimes covering any of
        ``metrics`` (within this index's range), ordered by start."""
        found: dict[tuple[int, int], Window] = {}
        for metric in metrics:
            for entry in self._entries(metric):
                hits = [
                    w
                    for w in entry.windows
                    if w.start < end and w.end > start and (w.downtime.id, w.start) not in found
                ]
                if hits and self._matches(entry, metric):
                    for window in hits:
                        found[(window.downtime.id, window.start)] = window
        return sorted(found.values(), key=lambda w: (w.start, w.downtime.id))


def _armed(downtime: Downtime, start: int, end: int) -> bool:
    """A flexible downtime still waiting for a problem inside ``[start, end)``."""
    if not downtime.flexible or downtime.triggered is not None or downtime.cancelled is not None:
        return False
    last = downtime.end if downtime.ended is None else min(downtime.end, downtime.ended)
    return downtime.start < end and last > start


def _literal_prefix(glob: str) -> str:
    cut = min((i for i in (glob.find(c) for c in "*?[") if i >= 0), default=len(glob))
    return glob[:cut]
