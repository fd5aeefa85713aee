"""The archive: one thin typed API over RRD files, written directly or through rrdcached.

``Archive(config)`` writes batches of samples (:meth:`write`, one verdict per sample) and
reads them back (:meth:`last`, :meth:`fetch`, :meth:`xport`, :meth:`graph`,
:meth:`info`, :meth:`list_metrics`). Every rrdtool binding call goes through
:meth:`Archive._rrd`, which builds the arguments from validated values, adds ``--daemon``
for reads when rrdcached is configured (after flushing the files through our own client,
which checks the reply) and turns ``rrdtool.OperationalError`` into ``ArchiveError``.

Updates through rrdcached are sent by :class:`RrdcachedClient`, never by the binding, and
every accepted sample is in the fsynced write-ahead log before :meth:`write` returns.
Create one ``Archive`` per process (after any fork) and share it between its threads.
"""

from __future__ import annotations

import logging
import math
import os
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import rrdtool

from rexmon.errors import RetryLater, verdict_for
from rexmon.metric import metric_path
from rexmon.sample import Sample
from rrdarchive.config import ArchiveConfig
from rrdarchive.durability import LogKeeper
from rrdarchive.errors import ArchiveError
from rrdarchive.graph import FORMATS, Band, HLine, VRule, escape_path, graph_elements
from rrdarchive.listing import list_children, list_metrics
from rrdarchive.plan import UNKNOWN, Group, Target, plan, settle
from rrdarchive.rrdcached import RrdcachedClient
from rrdarchive.schemas import CONSOLIDATIONS

log = logging.getLogger(__name__)

MIN_TIME = 100_000_000  # rrdtool reads shorter numbers as dates ("month 999")
LOCK_PATIENCE = 5.0
MAX_ROUNDS = 8
MAX_TARGETS = 1_000_000  # metrics whose path and schema are remembered
MAX_RECENT = 4096  # accepted (time, value) pairs remembered per metric, to check a re-send
MAX_RECENT_METRICS = 10_000
LOW_SPACE = 64 * 1024 * 1024  # below this, a create that failed without a reason = disk full
GAVE_UP = RetryLater("not stored: other writers kept changing the file; send it again")
_LAST_UPDATE = re.compile(r"last update time is (\d+)")
_REFUSED_TIME = re.compile(r"using time (\d+)")
_COMMANDS: dict[str, Callable[..., Any]] = {
    "create": rrdtool.create,
    "update": rrdtool.update,
    "info": rrdtool.info,
    "last": rrdtool.last,
    "fetch": rrdtool.fetch,
    "xport": rrdtool.xport,
    "graphv": rrdtool.graphv,
}
_FIRST = itemgetter(0)
_COMBINE = {"sum": "ADDNAN", "average": "ADDNAN", "max": "MAXNAN", "min": "MINNAN"}
_READS = frozenset({"info", "last", "fetch", "xport", "graphv"})


@dataclass(frozen=True)
class Series:
    """Values of one metric: ``values[i]`` is the point at ``start + i * step`` (the end of
    its interval, as ``rrdtool fetch`` prints it); None = unknown."""

    start: int
    step: int
    values: tuple[float | None, ...]

    @property
    def times(self) -> range:
        return range(self.start, self.start + self.step * len(self.values), self.step)


class Archive:
    """Reads and writes the RRD archive described by ``config``."""

    def __init__(self, config: ArchiveConfig, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        try:  # a new site's first start: the root is made here, not by the first sample
            config.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ArchiveError(str(config.root), "open", f"cannot create: {exc.strerror}") from None
        self._clock = clock
        self._last: dict[str, tuple[int, object]] = {}  # metric -> last update (time, value)
        self._known: set[str] = set()  # metrics whose file exists
        self._types: dict[str, str] = {}  # metric -> DS type, when it had to be known
        self._targets: dict[str, Target] = {}
        # metric -> the (times, values) of its last batch of several samples, accepted here
        self._recent: dict[str, tuple[list[int], list[float | None]]] = {}
        self._epoch = 0  # the rrdcached connection the cached last updates came from
        # librrd draws with pango/cairo, which corrupt memory (and crash the process)
        # when two threads draw at once: one graph at a time per process
        self._drawing = threading.Lock()
        self._client: RrdcachedClient | None = None  # for updates and reads
        self._keeper: LogKeeper | None = None
        if config.rrdcached is not None:
            self._client = RrdcachedClient(config.rrdcached, config.root)
            self._keeper = LogKeeper(config, self._client, self._replay, self._file_last_update)
            try:
                self._keeper.start()
            except BaseException:
                self._keeper.close()  # nothing to trim yet: just lets go of the files
                self._client.close()
                raise

    def close(self) -> None:
        """Flush what this process wrote through rrdcached and drop its log, disconnect.

        If rrdcached cannot flush now, the log stays on disk and the next process that
        opens the archive replays it; that is logged, not raised."""
        if self._keeper is not None:
            assert self._client is not None
            try:
                self._keeper.close()
            finally:
                self._client.close()
                self._keeper = None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing ------------------------------------------------------------------------

    def write(self, samples: Sequence[Sample]) -> list[str | None]:
        """Store ``samples``; per sample None (stored, durable) or the reason it was refused,
        a :class:`RetryLater` when the reason passes (disk full, a busy file).

        Raises ArchiveError when the archive cannot be written at all (rrdcached
        unreachable, the log not writable): then no sample of the batch is acknowledged.
        """
        return self._write(samples, replay=False)

    def _write(self, samples: Sequence[Sample], *, replay: bool) -> list[str | None]:
        verdicts: list[str | None] = [None] * len(samples)
        if replay:  # rrdcached, not our memory, says what it has: it may have lost some
            for sample in samples:
                self._last.pop(sample.metric, None)
        groups = plan(
            samples,
            self._clock(),
            target_for=self._target_for,
            max_future=self.config.max_future,
            verdicts=verdicts,
            replay=replay,
        )
        for group in groups:  # None only once stored
            for indexes in group.indexes:
                for index in indexes:
                    verdicts[index] = GAVE_UP
        deadline = time.monotonic() + LOCK_PATIENCE
        for round_number in range(MAX_ROUNDS):
            last = self._last
            for group in groups:
                known = last.get(group.metric)
                if known is None and self._client is not None and len(group.times) > 1:
                    # a group may take several lines, and rrdcached applies the lines after
                    # a refused one: start past what it holds, so that none is refused
                    known = self._stored_last(group.path)
                    if known is not None:
                        last[group.metric] = known
                if known is not None and group.times[0] <= known[0]:  # sent again?
                    held = {} if replay else self._held(group, known)
                    settle(group, known[0], held, verdicts, replay)
            groups = [group for group in groups if group.times]
            if not groups:
                break
            self._create_missing(groups, verdicts)
            self._check_types(groups, verdicts)
            groups = [group for group in groups if group.times]
            failures, applied, epoch = self._send(groups, replay)
            if epoch != self._epoch:  # a new connection: rrdcached may have lost updates
                self._epoch = epoch
                self._last.clear()
            failed: list[Group] = []
            written: list[int] = []
            for group in groups:  # one pass: this runs for every sample
                if failures and group.metric in failures:
                    done = applied.get(group.metric)
                    if done:  # lines before (and after) the refused one were stored
                        self._apply_part(group, done, verdicts, written)
                    failed.append(group)
                    continue
                last[group.metric] = (group.times[-1], group.values[-1])
                if len(group.times) > 1:
                    self._remember(group)
                for indexes in group.indexes:
                    written.append(indexes[0])
                    for index in indexes:
                        verdicts[index] = None
            groups = failed
            final = round_number == MAX_ROUNDS - 1 or time.monotonic() > deadline
            groups = self._after_failure(groups, failures, verdicts, final, written)
            if self._keeper is not None and not replay and written:
                self._keeper.log([samples[index] for index in written], epoch)
            if any("could not lock" in failures[group.metric] for group in groups):
                time.sleep(min(0.5, 0.01 * 2**round_number))  # another process is writing
        return verdicts

    def _after_failure(
        self,
        groups: list[Group],
        failures: dict[str, str],
        verdicts: list[str | None],
        final: bool,
        written: list[int],
    ) -> list[Group]:
        """Learn from each refused update; return the groups worth another round. Samples
        found stored after all are added to ``written``."""
        retry = []
        for group in groups:
            message = failures[group.metric]
            conflict = _LAST_UPDATE.search(message)
            if conflict and not final:
                last_time = int(conflict.group(1))
                known = self._last.get(group.metric)
                if known is None or known[0] < last_time:  # later lines may have gone on
                    self._last[group.metric] = (last_time, self._stored_value(group, last_time))
                retry.append(group)
            elif "No such file" in message and not final:
                self._known.discard(group.metric)
                self._last.pop(group.metric, None)
                retry.append(group)
            elif "could not lock" in message and not final:
                retry.append(group)
            else:
                if self._client is not None:  # the refused value is known exactly: the first
                    reason = verdict_for(f"not stored: {message}")
                    for index in group.indexes[0]:
                        verdicts[index] = reason
                    group.drop_first(1)
                else:
                    self._settle_failure(group, message, verdicts, written)
                if group.times and not final:
                    retry.append(group)
                for indexes in group.indexes if final else ():
                    for index in indexes:
                        verdicts[index] = verdict_for(f"not stored: {message}")
        return retry

    def _remember(self, group: Group) -> None:
        recent = self._recent
        if group.metric not in recent and len(recent) >= MAX_RECENT_METRICS:
            del recent[next(iter(recent))]  # the oldest
        recent[group.metric] = (group.times[-MAX_RECENT:], group.values[-MAX_RECENT:])

    def _held(self, group: Group, known: tuple[int, object]) -> dict[int, float | None]:
        """What the file holds at the times of ``group`` up to its last update ``known``,
        as far as it can be told exactly: the last update, what this process accepted
        recently, what rrdcached holds (PENDING), then the file's finest tier for a GAUGE
        at step boundaries. A time left out cannot be checked."""
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
        if missing and self._client is not None:
            try:
                lines = self._client.pending(group.path)
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
            ds_type = self._types.get(group.metric)
            if ds_type is None:
                info = self._rrd("info", group.path, [], flush=False)
                ds_type = self._types[group.metric] = str(info["ds[value].type"])
            if ds_type != "GAUGE":
                return {}
            args = ["AVERAGE", *_range(aligned[0] - step, aligned[-1]), "--resolution", str(step)]
            (first, _, got), _, rows = self._rrd("fetch", group.path, args)
        except (ArchiveError, ValueError):
            return {}
        if got != step:  # only a coarser tier covers those times
            return {}
        found: dict[int, float | None] = {}
        for time_ in aligned:
            row = (time_ - first) // step - 1
            if 0 <= row < len(rows):
                value = _finite(rows[row][0])
                if value is not None:  # unknown there: cannot tell what was fed
                    found[time_] = value
        return found

    def _stored_value(self, group: Group, last_time: int) -> object:
        """The value stored at ``last_time``, read only when a sample may repeat it."""
        if last_time not in group.times:
            return UNKNOWN
        stored = self._stored_last(group.path)
        return stored[1] if stored is not None and stored[0] == last_time else UNKNOWN

    def _stored_last(self, path: Path) -> tuple[int, object] | None:
        """The last update (time, value) as rrdcached or the file knows it, None if unknown."""
        try:
            return self._last_update(path)
        except (ArchiveError, ValueError):
            return None

    def _last_update(self, path: Path) -> tuple[int, float | None]:
        """The last update (time, value as fed): the last one rrdcached holds, else the
        file's. Asking rrdcached (PENDING) spares it writing the file, as a FLUSH would."""
        if self._client is not None:
            pending = self._client.pending(path)
            if pending:
                stamp, _, value = pending[-1].partition(":")
                return int(float(stamp)), None if value == "U" else float(value)
        info = self._rrd("info", path, [], flush=False)
        text = info.get("ds[value].last_ds", "U")
        return int(info["last_update"]), None if text == "U" else float(text)

    def _settle_failure(
        self, group: Group, message: str, verdicts: list[str | None], written: list[int]
    ) -> None:
        """rrdtool and rrdcached apply the values before the one they refuse: those count as
        stored, the refused one gets ``message``, the rest may go again."""
        stored = self._stored_last(group.path)
        done = 0
        if stored is not None:
            self._last[group.metric] = stored
            while done < len(group.times) and group.times[done] <= stored[0]:
                written.append(group.indexes[done][0])
                for index in group.indexes[done]:
                    verdicts[index] = None
                done += 1
        for index in group.indexes[done] if done < len(group.times) else ():
            verdicts[index] = verdict_for(f"not stored: {message}")
        group.drop_first(done + 1)

    def _send(
        self, groups: list[Group], replay: bool
    ) -> tuple[dict[str, str], dict[str, list[int]], int]:
        """One update per metric: the errors by metric, the positions of a refused group
        that were stored all the same (rrdcached: several lines for one file), and
        rrdcached's connection epoch."""
        failures: dict[str, str] = {}
        applied: dict[str, list[int]] = {}
        if self._client is not None:
            if not replay and self._keeper is not None:
                self._keeper.recover_if_reconnected()
            refused, epoch = self._client.update((g.path, g.update_args()) for g in groups)
            for number, lines in refused.items():
                group = groups[number]
                failures[group.metric] = lines[0][2]
                stored = [True] * len(group.times)
                for start, end, message in lines:
                    for position in range(_refused_at(group, start, end, message), end):
                        stored[position] = False
                applied[group.metric] = [p for p, done in enumerate(stored) if done]
            return failures, applied, epoch
        for group in groups:
            try:
                self._rrd("update", group.path, group.update_args())
            except ArchiveError as exc:
                failures[group.metric] = exc.message
        return failures, applied, 0

    def _apply_part(
        self, group: Group, positions: list[int], verdicts: list[str | None], written: list[int]
    ) -> None:
        """Count the stored ``positions`` of a refused group and keep the rest in it."""
        done = set(positions)
        for position in positions:
            written.append(group.indexes[position][0])
            for index in group.indexes[position]:
                verdicts[index] = None
        last = positions[-1]
        known = self._last.get(group.metric)
        if known is None or known[0] < group.times[last]:
            self._last[group.metric] = (group.times[last], group.values[last])
        group.keep([p for p in range(len(group.times)) if p not in done])

    def _check_types(self, groups: list[Group], verdicts: list[str | None]) -> None:
        """COUNTER, DERIVE and ABSOLUTE take integers only (rrdcached would take anything and
        lose it when writing): refuse other values before sending."""
        types = self._types
        for group in groups:
            ds_type = types.get(group.metric)
            if ds_type == "GAUGE" or all(
                v is None or (v >= 0 and float(v).is_integer()) for v in group.values
            ):
                continue
            if ds_type is None:
                try:
                    info = self._rrd("info", group.path, [], flush=False)
                except ArchiveError:
                    continue  # the update will fail and say why
                ds_type = self._types[group.metric] = str(info["ds[value].type"])
            if ds_type == "GAUGE":
                continue
            signed = ds_type == "DERIVE"
            keep = []
            for position, value in enumerate(group.values):
                if value is None or (float(value).is_integer() and (signed or value >= 0)):
                    keep.append(position)
                    continue
                need = "an integer" if signed else "an integer >= 0"
                for index in group.indexes[position]:
                    verdicts[index] = f"value {value!r} refused: a {ds_type} RRD needs {need}"
            group.keep(keep)

    def _create_missing(self, groups: list[Group], verdicts: list[str | None]) -> None:
        for group in groups:
            if group.metric in self._known:
                continue
            if not group.path.exists():
                try:
                    self._create(group)
                except (ArchiveError, OSError) as exc:
                    reason = verdict_for(
                        f"cannot create the RRD: {_create_failure(group.path, exc)}"
                    )
                    for indexes in group.indexes:
                        for index in indexes:
                            verdicts[index] = reason
                    group.drop_first(len(group.times))
                    continue
            self._known.add(group.metric)

    def _create(self, group: Group) -> None:
        """Create the file under a temporary name, then link it in: another process that
        creates the same file first wins, and nobody ever sees a half-written RRD."""
        schema = group.schema
        # the step boundary just before the first sample, so that its interval is known
        start = (group.times[0] - 1) // schema.step * schema.step
        group.path.parent.mkdir(parents=True, exist_ok=True)
        unique = f"{os.getpid()}.{threading.get_ident()}"
        temporary = group.path.with_name(f".{group.path.name}.{unique}")
        ds_type = schema.ds_type(group.hint)
        args = ["--start", str(start), *schema.create_args(ds_type)]
        self._rrd("create", temporary, args)
        try:
            os.link(temporary, group.path)
            self._last[group.metric] = (start, UNKNOWN)
            self._types[group.metric] = ds_type.value
        except FileExistsError:
            pass
        finally:
            temporary.unlink()

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

    # -- the write-ahead log with rrdcached ---------------------------------------------

    def _replay(self, samples: Sequence[Sample]) -> None:
        verdicts = self._write(samples, replay=True)
        refused = [(s, v) for s, v in zip(samples, verdicts, strict=True) if v is not None]
        for sample, reason in refused[:20]:
            log.error("replay: %s at %s not stored: %s", sample.metric, sample.time, reason)

    def _file_last_update(self, path: Path) -> int | None:
        """The last update written in the file itself (0 if it cannot be read: damaged),
        None if there is no file."""
        try:
            return int(self._rrd("last", path, [], flush=False))
        except ArchiveError as exc:
            return None if "No such file" in exc.message else 0

    # -- reading ------------------------------------------------------------------------

    def last(self, metric: str) -> tuple[int, float | None] | None:
        """The last update (time, value as fed) of a metric, or None if it has no file."""
        path = self._existing(metric)
        return None if path is None else self._last_update(path)

    def fetch(
        self,
        metric: str,
        start: int,
        end: int,
        cf: str = "AVERAGE",
        resolution: int | None = None,
    ) -> Series:
        """Consolidated values between ``start`` and ``end`` (UNIX seconds)."""
        path = self._require(metric)
        args = [_cf(cf), *_range(start, end)]
        if resolution is not None:
            args += ["--resolution", str(_positive("resolution", resolution))]
        (first, _, step), _, rows = self._rrd("fetch", path, args)
        return Series(first + step, step, _finite_column(rows))

    def xport(
        self, metrics: Sequence[str], start: int, end: int, max_points: int = 800
    ) -> dict[str, Any]:
        """JSON-ready series of several metrics on one time axis, at most ``max_points``
        points: ``{"start", "end", "step", "timestamps": [...], "series": {metric: [...]}}``.
        The resolution follows the range (the finest tier that covers it in few points)."""
        paths = [self._require(metric) for metric in metrics]
        if not paths:
            raise ValueError("xport needs at least one metric")
        points = _positive("max_points", max_points)
        span = _range(start, end)
        step = max(1, -(-(end - start) // points))
        args = [*span, "--maxrows", str(points), "--step", str(step), "--"]
        for number, path in enumerate(paths):
            args += [f"DEF:m{number}={escape_path(path)}:value:AVERAGE", f"XPORT:m{number}"]
        result = self._rrd("xport", None, args, flush_paths=paths)
        meta = result["meta"]
        first, step = int(meta["start"]) + int(meta["step"]), int(meta["step"])
        rows = result["data"]
        return {
            "start": first,
            "end": int(meta["end"]),
            "step": step,
            "timestamps": [first + i * step for i in range(len(rows))],
            "series": {m: [_finite(row[i]) for row in rows] for i, m in enumerate(metrics)},
        }

    def fetch_many(self, metrics: Sequence[str], start: int, end: int, step: int) -> list[Series]:
        """Consolidated values of several metrics at ``step``, read by one ``rrdtool
        xport`` (one DEF and XPORT each): for many files, about half the time of a
        :meth:`fetch` each. All come at the answer's step, which may differ from ``step``
        when the files cannot give it; callers check."""
        paths = [self._require(metric) for metric in metrics]
        if not paths:
            raise ValueError("fetch_many needs at least one metric")
        wanted = _positive("step", step)
        rows = (end - start) // wanted + 2
        args = [*_range(start, end), "--step", str(wanted), "--maxrows", str(rows), "--"]
        for number, path in enumerate(paths):
            args += [f"DEF:m{number}={escape_path(path)}:value:AVERAGE", f"XPORT:m{number}"]
        result = self._rrd("xport", None, args, flush_paths=paths)
        meta = result["meta"]
        got = int(meta["step"])
        first = int(meta["start"]) + got
        columns = list(zip(*result["data"], strict=True)) or [() for _ in paths]
        return [Series(first, got, _finite_values(column)) for column in columns]

    def combine(self, metrics: Sequence[str], how: str, start: int, end: int, step: int) -> Series:
        """One series: the ``how`` (``sum``, ``average``, ``max``, ``min``) of the known
        values of ``metrics`` at each time, unknown where none is known, computed by
        ``rrdtool xport`` at ``step`` (a CDEF of ``ADDNAN`` / ``MAXNAN`` / ``MINNAN``). The
        answer's step may differ from ``step`` when the files cannot give it; callers
        check. Reading a thousand files this way costs a fraction of fetching each."""
        paths = [self._require(metric) for metric in metrics]
        if not paths or how not in _COMBINE:
            raise ValueError(f"combine needs metrics and one of {', '.join(_COMBINE)}")
        wanted = _positive("step", step)
        rows = (end - start) // wanted + 2
        args = [*_range(start, end), "--step", str(wanted), "--maxrows", str(rows), "--"]
        names = [f"m{number}" for number in range(len(paths))]
        for name, path in zip(names, paths, strict=True):
            args.append(f"DEF:{name}={escape_path(path)}:value:AVERAGE")
        operator = _COMBINE[how]
        total = ",".join([names[0], *(f"{name},{operator}" for name in names[1:])])
        if how == "average":
            known = ",".join(
                [f"{names[0]},UN,0,1,IF", *(f"{name},UN,0,1,IF,+" for name in names[1:])]
            )
            args += [f"CDEF:s={total}", f"CDEF:c={known}", "CDEF:r=s,c,/", "XPORT:r"]
        else:
            args += [f"CDEF:r={total}", "XPORT:r"]
        result = self._rrd("xport", None, args, flush_paths=paths)
        meta = result["meta"]
        got = int(meta["step"])
        return Series(int(meta["start"]) + got, got, _finite_column(result["data"]))

    def graph(
        self,
        metrics: Sequence[str],
        start: int,
        end: int,
        *,
        title: str = "",
        labels: Sequence[str] | None = None,
        width: int = 800,
        height: int = 240,
        image_format: str = "PNG",
        cf: str = "AVERAGE",
        bands: Sequence[Band] = (),
        lines: Sequence[HLine] = (),
        vertical_label: str = "",
        rules: Sequence[VRule] = (),
        stack: bool = False,
    ) -> bytes:
        """A PNG or SVG graph of ``metrics`` with a legend (last/min/avg/max per metric),
        shaded ``bands``, horizontal ``lines`` and vertical ``rules``; ``stack`` draws the
        metrics as stacked areas."""
        if image_format not in FORMATS:
            raise ValueError(f"image_format must be one of {', '.join(FORMATS)}")
        paths = [self._require(metric) for metric in metrics]
        if not paths:
            raise ValueError("a graph needs at least one metric")
        names = list(labels) if labels is not None else list(metrics)
        if len(names) != len(paths):
            raise ValueError("give one label per metric")
        for item in (*bands, *lines, *rules):
            if not isinstance(item, Band | HLine | VRule):
                raise ValueError(f"not a graph element: {item!r}")
        args = [
            "-", *_range(start, end),
            "--width", str(min(_positive("width", width), 4000)),
            "--height", str(min(_positive("height", height), 2000)),
            "--imgformat", image_format,
            "--title", _plain(title),
            "--vertical-label", _plain(vertical_label),
            "--",
            *graph_elements(list(zip(names, paths, strict=True)),
                            cf=_cf(cf), bands=bands, lines=lines, rules=rules,
                            stack=bool(stack)),
        ]  # fmt: skip
        result = self._rrd("graphv", None, args, flush_paths=paths)
        image: bytes = result["image"]
        return image

    def exists(self, metric: str) -> bool:
        """Whether ``metric`` has an RRD file (raises InvalidMetricName for a bad id).

        A file seen once is remembered (the same cache the writer uses), so asking again
        for an existing metric costs no system call."""
        if metric in self._known:
            return True
        if metric_path(self.config.root, metric).exists():
            self._known.add(metric)
            return True
        return False

    def list_metrics(self, glob: str = "*") -> list[str]:
        """Metric ids with a file that match ``glob``, sorted."""
        return list_metrics(self.config.root, glob)

    def children(self, parts: Sequence[str]) -> tuple[list[str], list[str]]:
        """Directories and metrics right below the metric-id prefix ``parts``, sorted
        (see :func:`rrdarchive.listing.list_children`)."""
        return list_children(self.config.root, list(parts))

    def info(self, metric: str) -> dict[str, Any]:
        """Step, DS type, heartbeat, bounds, archives and last update of a metric's RRD."""
        path = self._require(metric)
        raw = self._rrd("info", path, [])
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
            "metric": metric,
            "file": str(path),
            "step": step,
            "type": raw["ds[value].type"],
            "heartbeat": int(raw["ds[value].minimal_heartbeat"]),
            "min": _finite(raw.get("ds[value].min")),
            "max": _finite(raw.get("ds[value].max")),
            "last_update": int(raw["last_update"]),
            "rras": rras,
        }

    # -- the one way to rrdtool ---------------------------------------------------------

    def _rrd(
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
        if command in _READS and self._client is not None and flush:
            targets = [path] if path is not None else list(flush_paths)
            for target in targets:
                self._client.flush(target)
            if self.config.rrdcached and self.config.rrdcached.startswith("unix:"):
                argv += ["--daemon", self.config.rrdcached]
        if path is not None:
            argv.append(str(path))
        argv.extend(args)
        try:
            if command == "graphv":
                with self._drawing:
                    return function(*argv)
            return function(*argv)
        except rrdtool.OperationalError as exc:
            raise ArchiveError(str(path or self.config.root), command, str(exc)) from None

    def _existing(self, metric: str) -> Path | None:
        path = metric_path(self.config.root, metric)
        return path if path.exists() else None

    def _require(self, metric: str) -> Path:
        path = self._existing(metric)
        if path is None:
            raise ArchiveError(metric, "read", "no such metric in the archive")
        return path


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


def _create_failure(path: Path, exc: Exception) -> str:
    """Why a create failed: rrdtool gives no reason when the disk is full, so look."""
    if not isinstance(exc, ArchiveError) or exc.message.strip():
        return str(exc)
    try:
        stats = os.statvfs(path.parent)
    except OSError:
        return f"{path}: rrdtool gave no reason"
    free = stats.f_bavail * stats.f_frsize
    if free < LOW_SPACE or stats.f_favail == 0:
        return f"No space left on the archive's disk ({free} bytes free under {path.parent})"
    return f"{path}: rrdtool gave no reason ({free} bytes free)"


def _cf(cf: str) -> str:
    if cf not in CONSOLIDATIONS:
        raise ValueError(f"consolidation must be one of {', '.join(CONSOLIDATIONS)}, got {cf!r}")
    return cf


def _range(start: int, end: int) -> list[str]:
    for name, value in (("start", start), ("end", end)):
        if isinstance(value, bool) or not isinstance(value, int) or value < MIN_TIME:
            raise ValueError(f"{name} must be a UNIX time in seconds, got {value!r}")
    if start >= end:
        raise ValueError(f"start {start} must be before end {end}")
    return ["--start", str(start), "--end", str(end)]


def _positive(name: str, value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return value


def _plain(text: str) -> str:
    """An option value: one line of printable text."""
    return "".join(ch if ch.isprintable() else " " for ch in str(text))[:200]


def _finite_column(rows: Sequence[tuple[Any, ...]]) -> tuple[float | None, ...]:
    """The first value of each row, unknown (None) unless finite. The binding gives floats
    and None; the sum of the known ones is finite only if each is, so the common case
    runs no Python code per value (this is the hot path of every Graphite render)."""
    return _finite_values(tuple(map(_FIRST, rows)))


def _finite_values(values: tuple[Any, ...]) -> tuple[float | None, ...]:
    if math.isfinite(sum(filter(None, values))):  # filter(None) drops None (and zeros)
        return values
    return tuple(_finite(value) for value in values)


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    return number if number == number and abs(number) != float("inf") else None


def _indexes(raw: dict[str, Any], prefix: str) -> Iterator[int]:
    number = 0
    while f"{prefix}[{number}].cf" in raw:
        yield number
        number += 1
