"""The write engine: one verdict per sample, in rounds until every sample is decided.

A write plans the batch (``plan``: refusals, then one time-sorted group per metric), drops
what each file already holds (``settle``), creates the missing files and checks values
against their type (``files``), then sends one update per file -- through rrdcached
(:class:`RrdcachedClient`, which checks every reply) or the rrdtool binding -- and learns
from each refusal: a file that moved on, vanished or was locked by another writer gets
another round, up to ``MAX_ROUNDS`` and ``LOCK_PATIENCE`` seconds.

With rrdcached a write is given a :class:`Journal` (the write-ahead log's keeper): it is
told before each send, so that it replays the log when the connection is new, and every
sample accepted is logged in it, fsynced, before :meth:`Writer.write` returns. The keeper
replays through :meth:`Writer.replay`, which counts a sample at or before a file's last
update as stored.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from rexmon.metric import metric_path
from rexmon.sample import Sample
from rrdarchive.config import ArchiveConfig
from rrdarchive.errors import ArchiveError, Cause, Failure, read_failure
from rrdarchive.files import RrdFiles
from rrdarchive.held import HeldValues
from rrdarchive.plan import UNKNOWN, Group, Target, plan, settle
from rrdarchive.rrd import Rrd
from rrdarchive.verdict import STORED, Verdict, rejected, retry_later

log = logging.getLogger(__name__)

LOCK_PATIENCE = 5.0
MAX_ROUNDS = 8
MAX_TARGETS = 1_000_000  # metrics whose path and schema are remembered
GAVE_UP = retry_later("not stored: other writers kept changing the file; send it again")
_REFUSED_TIME = re.compile(r"using time (\d+)")


class Journal(Protocol):
    """Where the samples a write got accepted through rrdcached are made durable."""

    def recover_if_reconnected(self) -> None: ...

    def log(self, samples: Sequence[Sample], epoch: int) -> None: ...


@dataclass
class _Progress:
    """One write under way: a verdict per sample, and the samples stored so far (one batch
    position per stored time), to be logged."""

    verdicts: list[Verdict]
    written: list[int] = field(default_factory=list)

    def decide(self, verdicts: dict[int, Verdict]) -> None:
        for index, verdict in verdicts.items():
            self.verdicts[index] = verdict

    def stored(self, group: Group, position: int) -> None:
        indexes = group.indexes[position]
        self.written.append(indexes[0])
        for index in indexes:
            self.verdicts[index] = STORED


class Writer:
    """Writes batches of samples into the archive described by ``config``."""

    def __init__(self, config: ArchiveConfig, rrd: Rrd, clock: Callable[[], float]) -> None:
        self.config = config
        self.rrd = rrd
        self.files = RrdFiles(config.root, rrd)
        self._client = rrd.client
        self._clock = clock
        self._held = HeldValues(rrd, self.files)
        self._last: dict[str, tuple[int, object]] = {}  # metric -> last update (time, value)
        self._targets: dict[str, Target] = {}
        self._epoch = 0  # the rrdcached connection the cached last updates came from

    def write(self, samples: Sequence[Sample], journal: Journal | None = None) -> list[Verdict]:
        """Store ``samples``: one verdict per sample (see ``Archive.write``)."""
        return self._write(samples, journal, replay=False)

    def replay(self, samples: Sequence[Sample]) -> None:
        """Write samples of the log again; those refused are logged."""
        verdicts = self._write(samples, None, replay=True)
        refused = [(s, v) for s, v in zip(samples, verdicts, strict=True) if not v.stored]
        for sample, verdict in refused[:20]:
            log.error("replay: %s at %s not stored: %s", sample.metric, sample.time, verdict)

    def _write(
        self, samples: Sequence[Sample], journal: Journal | None, *, replay: bool
    ) -> list[Verdict]:
        if replay:  # rrdcached, not our memory, says what it has: it may have lost some
            for sample in samples:
                self._last.pop(sample.metric, None)
        planned = plan(
            samples,
            self._clock(),
            target_for=self._target_for,
            max_future=self.config.max_future,
            replay=replay,
        )
        groups = planned.groups
        progress = _Progress([GAVE_UP] * len(samples))  # STORED only once stored
        progress.decide(planned.refused)
        deadline = time.monotonic() + LOCK_PATIENCE
        for round_number in range(MAX_ROUNDS):
            last = self._last
            for group in groups:
                known = last.get(group.metric)
                if known is None and self._client is not None and len(group.times) > 1:
                    # a group may take several lines, and rrdcached applies the lines after
                    # a refused one: start past what it holds, so that none is refused
                    known = self.rrd.stored_last(group.path)
                    if known is not None:
                        last[group.metric] = known
                if known is not None and group.times[0] <= known[0]:  # sent again?
                    held = {} if replay else self._held.at(group, known)
                    progress.decide(settle(group, known[0], held, replay))
            groups = [group for group in groups if group.times]
            if not groups:
                break
            refused, created = self.files.create_missing(groups)
            progress.decide(refused)
            for metric, start in created.items():
                last[metric] = (start, UNKNOWN)
            progress.decide(self.files.check_types(groups))
            groups = [group for group in groups if group.times]
            written_before = len(progress.written)
            failures, applied, epoch = self._send(groups, journal)
            if epoch != self._epoch:  # a new connection: rrdcached may have lost updates
                self._epoch = epoch
                last.clear()
            failed: list[Group] = []
            verdicts, written = progress.verdicts, progress.written
            for group in groups:  # one pass: this runs for every sample
                if failures and group.metric in failures:
                    done = applied.get(group.metric)
                    if done:  # lines before (and after) the refused one were stored
                        self._apply_part(group, done, progress)
                    failed.append(group)
                    continue
                last[group.metric] = (group.times[-1], group.values[-1])
                if len(group.times) > 1:
                    self._held.remember(group)
                for indexes in group.indexes:  # progress.stored, inline
                    written.append(indexes[0])
                    for index in indexes:
                        verdicts[index] = STORED
            final = round_number == MAX_ROUNDS - 1 or time.monotonic() > deadline
            groups = self._after_failure(failed, failures, final, progress)
            if journal is not None and len(written) > written_before:
                journal.log([samples[index] for index in written[written_before:]], epoch)
            if any(failures[group.metric].cause is Cause.LOCKED for group in groups):
                time.sleep(min(0.5, 0.01 * 2**round_number))  # another process is writing
        return progress.verdicts

    def _after_failure(
        self, groups: list[Group], failures: dict[str, Failure], final: bool, progress: _Progress
    ) -> list[Group]:
        """Learn from each refused update; return the groups worth another round."""
        retry = []
        for group in groups:
            failure = failures[group.metric]
            cause = failure.cause
            if cause is Cause.BEHIND and not final:
                known = self._last.get(group.metric)
                if known is None or known[0] < failure.last_update:  # later lines may have gone on
                    stored = self._stored_value(group, failure.last_update)
                    self._last[group.metric] = (failure.last_update, stored)
                retry.append(group)
            elif cause is Cause.MISSING and not final:
                self.files.forget(group.metric)
                self._last.pop(group.metric, None)
                retry.append(group)
            elif cause is Cause.LOCKED and not final:
                retry.append(group)
            else:
                verdict = (retry_later if cause.passing else rejected)(
                    f"not stored: {failure.message}"
                )
                if self._client is not None:  # the refused value is known exactly: the first
                    progress.decide(dict.fromkeys(group.indexes[0], verdict))
                    group.drop_first(1)
                else:
                    self._settle_failure(group, verdict, progress)
                if group.times and not final:
                    retry.append(group)
                for indexes in group.indexes if final else ():
                    progress.decide(dict.fromkeys(indexes, verdict))
        return retry

    def _stored_value(self, group: Group, last_time: int) -> object:
        """The value stored at ``last_time``, read only when a sample may repeat it."""
        if last_time not in group.times:
            return UNKNOWN
        stored = self.rrd.stored_last(group.path)
        return stored[1] if stored is not None and stored[0] == last_time else UNKNOWN

    def _settle_failure(self, group: Group, verdict: Verdict, progress: _Progress) -> None:
        """rrdtool and rrdcached apply the values before the one they refuse: those count as
        stored, the refused one gets ``verdict``, the rest may go again."""
        stored = self.rrd.stored_last(group.path)
        done = 0
        if stored is not None:
            self._last[group.metric] = stored
            while done < len(group.times) and group.times[done] <= stored[0]:
                progress.stored(group, done)
                done += 1
        if done < len(group.times):
            progress.decide(dict.fromkeys(group.indexes[done], verdict))
        group.drop_first(done + 1)

    def _send(
        self, groups: list[Group], journal: Journal | None
    ) -> tuple[dict[str, Failure], dict[str, list[int]], int]:
        """One update per metric: the failures by metric, the positions of a refused group
        that were stored all the same (rrdcached: several lines for one file), and
        rrdcached's connection epoch."""
        failures: dict[str, Failure] = {}
        applied: dict[str, list[int]] = {}
        if self._client is not None:
            if journal is not None:
                journal.recover_if_reconnected()
            refused, epoch = self._client.update((g.path, g.update_args()) for g in groups)
            for number, lines in refused.items():
                group = groups[number]
                failures[group.metric] = read_failure(lines[0][2])
                stored = [True] * len(group.times)
                for start, end, message in lines:
                    for position in range(_refused_at(group, start, end, message), end):
                        stored[position] = False
                applied[group.metric] = [p for p, done in enumerate(stored) if done]
            return failures, applied, epoch
        for group in groups:
            try:
                self.rrd.call("update", group.path, group.update_args())
            except ArchiveError as exc:
                failures[group.metric] = read_failure(exc.message)
        return failures, applied, 0

    def _apply_part(self, group: Group, positions: list[int], progress: _Progress) -> None:
        """Count the stored ``positions`` of a refused group and keep the rest in it."""
        done = set(positions)
        for position in positions:
            progress.stored(group, position)
        last = positions[-1]
        known = self._last.get(group.metric)
        if known is None or known[0] < group.times[last]:
            self._last[group.metric] = (group.times[last], group.values[last])
        group.keep([p for p in range(len(group.times)) if p not in done])

    def _target_for(self, metric: str) -> Target:
        """Path, schema and age limit of a metric, worked out once (raises for a bad id)."""
        target = self._targets.get(metric)
        if target is None:
            schema = self.config.schemas.schema_for(metric)
            path = metric_path(self.config.root, metric)
            target = Target(metric, path, schema, self.config.max_age_for(schema))
            if len(self._targets) < MAX_TARGETS:
                self._targets[metric] = target
        return target


def _refused_at(group: Group, start: int, end: int, message: str) -> int:
    """The position of the value rrdcached refused on the line ``start:end``: the one its
    message names, else the first (the whole line was refused)."""
    named = _REFUSED_TIME.search(message)
    if named is not None:
        refused = int(named.group(1))
        for position in range(start, end):
            if group.times[position] == refused:
                return position
    return start
