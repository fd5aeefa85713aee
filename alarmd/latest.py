"""Reading the metrics whose rules test only the last value by their files' last updates,
in bulk (:meth:`Archive.last_updates`, rrdcached flushed in one batch per chunk), instead
of a fetch per metric.

A rule qualifies when none of its conditions has a window function: its ``for`` duration
and no-data timeout need only the alarm's record and the update's time. A file
qualifies when it is a GAUGE, where the value as fed is what the newest point holds
(a COUNTER feeds totals, whose rate only a fetch gives); a value outside the file's
bounds or fed unknown is stored unknown, so such a metric is fetched as before. So is
one whose update may have come after a gap longer than the heartbeat (see
:meth:`Latest.read`). With updates off the step boundaries the value read is the one
fed last, not the average of the step it falls in.
"""

from __future__ import annotations

import logging

from alarmd.evaluate import Point
from alarmd.rules import Rule
from rexmon.errors import RexmonError
from rrdarchive.archive import Archive

log = logging.getLogger(__name__)

Shape = tuple[int, int, float | None, float | None]  # step, heartbeat, min, max
LATEST_CHUNK = 1000  # metrics per last-update read (one rrdcached BATCH each)


class Latest:
    """The last-update reader of one cycle: remembers each file's shape and last known
    update between passes (a new one is made when the rules change)."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self._last_onlies: dict[str, bool] = {}
        self._shapes: dict[str, Shape | None] = {}
        self._known: dict[str, int] = {}  # metric -> its last update seen stored as known
        self._unvetted: dict[str, tuple[int, int]] = {}  # this pass: (last update, step)

    def read(self, pairing: dict[str, list[Rule]]) -> dict[str, tuple[list[Point], int]]:
        """(points, step) of the metrics whose rules need only the last value, from their
        last updates; those that need a fetch after all are left out.

        rrdtool stores an update as unknown when it comes more than the heartbeat after the
        one before, and the last update does not say when that was: a last update is used
        only when one seen known (:attr:`_known`) lies within the heartbeat before it (then
        every update in between was too). Otherwise the metric is fetched, and the fetch
        says whether the update is known (:meth:`vet`)."""
        wanted = []
        for metric, rules in pairing.items():
            on_samples = [rule for rule in rules if not rule.check]
            if on_samples and all(map(self._last_only, on_samples)):
                shape = self._shape(metric)
                if shape is not None:
                    wanted.append((metric, shape))
        found: dict[str, tuple[list[Point], int]] = {}
        self._unvetted = {}
        for start in range(0, len(wanted), LATEST_CHUNK):
            chunk = wanted[start : start + LATEST_CHUNK]
            try:
                answers = self.archive.last_updates([metric for metric, _ in chunk])
            except RexmonError as exc:  # rrdcached unreachable: each fetch will say so
                log.warning("cannot read the last updates: %s", exc)
                continue
            for (metric, (step, heartbeat, low, high)), answer in zip(chunk, answers, strict=True):
                if not isinstance(answer, tuple):
                    continue  # the fetch reports it
                at, value = answer
                known = self._known.get(metric)
                if known is None or not 0 <= at - known <= heartbeat:
                    self._known.pop(metric, None)
                    self._unvetted[metric] = (at, step)
                    continue
                self._known[metric] = at
                if value is None or (low is not None and value < low):
                    continue  # fed unknown, or stored as unknown: the fetch finds the last
                if high is None or value <= high:
                    found[metric] = ([(float(at), value)], step)
        return found

    def vet(self, metric: str, points: list[Point]) -> None:
        """After a fetch of a metric read by its last update: whether that update is
        known (the newest known point is the one it fed)."""
        unvetted = self._unvetted.get(metric)
        if unvetted is None:
            return
        at, step = unvetted
        newest = next((t for t, v in reversed(points) if v is not None), None)
        if newest is not None and newest >= at - step:
            self._known[metric] = at

    def _last_only(self, rule: Rule) -> bool:
        """Whether ``rule`` tests the last value alone (plugin thresholds: fetched)."""
        found = self._last_onlies.get(rule.name)
        if found is None:
            functions = {c.function.name for _, fire, clear in rule.levels() for c in (fire, clear)}
            found = self._last_onlies[rule.name] = functions == {"last"} and not rule.from_plugin
        return found

    def _shape(self, metric: str) -> Shape | None:
        """(step, heartbeat, min, max) of a GAUGE file, None for other types or when unreadable
        (read once per file: they do not change)."""
        if metric in self._shapes:
            return self._shapes[metric]
        try:
            info = self.archive.info(metric)
        except RexmonError:
            return None  # the fetch reports it
        shape = None
        if info["type"] == "GAUGE":
            shape = (info["step"], info["heartbeat"], info["min"], info["max"])
        self._shapes[metric] = shape
        return shape
