"""The archive: one thin typed API over RRD files, written directly or through rrdcached.

``Archive(config)`` writes batches of samples (:meth:`write`, one :class:`Verdict` per
sample, by the :class:`Writer`) and reads them back (:meth:`last`, :meth:`fetch`,
:meth:`xport`, :meth:`graph`, :meth:`info`, :meth:`list_metrics`). Every rrdtool binding
call goes through :class:`Rrd`.

With rrdcached, every accepted sample is in the fsynced write-ahead log (kept by the
:class:`LogKeeper`, which replays it through the writer) before :meth:`write` returns.
Create one ``Archive`` per process (after any fork) and share it between its threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rexmon.metric import metric_path
from rexmon.sample import Sample
from rrdarchive.config import ArchiveConfig
from rrdarchive.durability import LogKeeper
from rrdarchive.errors import ArchiveError
from rrdarchive.graph import (
    FORMATS,
    Band,
    HLine,
    VRule,
    escape_path,
    graph_elements,
    y_limits,
)
from rrdarchive.lastread import LastUpdate, last_updates
from rrdarchive.listing import list_children, list_metrics
from rrdarchive.rrd import (
    Rrd,
    consolidation,
    finite,
    plain_text,
    positive,
    summarize_info,
    time_range,
)
from rrdarchive.rrdcached import RrdcachedClient
from rrdarchive.verdict import Verdict
from rrdarchive.writer import Writer
from rrdarchive.xports import columns, combine_args, finite_column, many_args
from rrdarchive.zone import local_zone


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
        self._client: RrdcachedClient | None = None  # for updates and reads
        if config.rrdcached is not None:
            self._client = RrdcachedClient(config.rrdcached, config.root)
        self._rrd = Rrd(config.root, self._client)
        self._writer = Writer(config, self._rrd, clock)
        self._keeper: LogKeeper | None = None
        if self._client is not None:
            self._keeper = LogKeeper(config, self._rrd, self._writer)
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

    def write(self, samples: Sequence[Sample]) -> list[Verdict]:
        """Store ``samples``: per sample STORED (stored, durable), or the verdict why not --
        ``retry`` when the reason passes (disk full, a busy file).

        Raises ArchiveError when the archive cannot be written at all (rrdcached
        unreachable, the log not writable): then no sample of the batch is acknowledged.
        """
        return self._writer.write(samples, self._keeper)

    # -- reading ------------------------------------------------------------------------

    @property
    def log_syncs(self) -> int | None:
        """fsyncs of this process's write-ahead log so far (concurrent writes share them:
        group commit); None without the log."""
        return None if self._keeper is None else self._keeper.syncs

    def last(self, metric: str) -> tuple[int, float | None] | None:
        """The last update (time, value as fed) of a metric, or None if it has no file."""
        path = self._existing(metric)
        return None if path is None else self._rrd.last_update(path)

    def last_updates(self, metrics: Sequence[str]) -> list[LastUpdate | ArchiveError]:
        """The last update (time, value as fed; None: fed unknown) of each metric, or the
        error that kept it from being read; with rrdcached, cached values included (see
        :mod:`rrdarchive.lastread`). Raises ArchiveError only if rrdcached is unreachable."""
        return last_updates(self._rrd, [metric_path(self.config.root, m) for m in metrics])

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
        args = [consolidation(cf), *time_range(start, end)]
        if resolution is not None:
            args += ["--resolution", str(positive("resolution", resolution))]
        (first, _, step), _, rows = self._rrd.call("fetch", path, args)
        return Series(first + step, step, finite_column(rows))

    def xport(
        self, metrics: Sequence[str], start: int, end: int, max_points: int = 800
    ) -> dict[str, Any]:
        """JSON-ready series of several metrics on one time axis, at most ``max_points``
        points: ``{"start", "end", "step", "timestamps": [...], "series": {metric: [...]}}``.
        The resolution follows the range (the finest tier that covers it in few points)."""
        paths = [self._require(metric) for metric in metrics]
        if not paths:
            raise ValueError("xport needs at least one metric")
        points = positive("max_points", max_points)
        span = time_range(start, end)
        step = max(1, -(-(end - start) // points))
        args = [*span, "--maxrows", str(points), "--step", str(step), "--"]
        for number, path in enumerate(paths):
            args += [f"DEF:m{number}={escape_path(path)}:value:AVERAGE", f"XPORT:m{number}"]
        result = self._rrd.call("xport", None, args, flush_paths=paths)
        meta = result["meta"]
        first, step = int(meta["start"]) + int(meta["step"]), int(meta["step"])
        rows = result["data"]
        return {
            "start": first,
            "end": int(meta["end"]),
            "step": step,
            "timestamps": [first + i * step for i in range(len(rows))],
            "series": {m: [finite(row[i]) for row in rows] for i, m in enumerate(metrics)},
        }

    def fetch_many(self, metrics: Sequence[str], start: int, end: int, step: int) -> list[Series]:
        """Consolidated values of several metrics at ``step``, read by one ``rrdtool
        xport``. All come at the answer's step, which may differ from ``step`` when the
        files cannot give it; callers check."""
        paths = [self._require(metric) for metric in metrics]
        result = self._rrd.call(
            "xport", None, many_args(paths, start, end, step), flush_paths=paths
        )
        first, got, values = columns(result, len(paths))
        return [Series(first, got, column) for column in values]

    def combine(self, metrics: Sequence[str], how: str, start: int, end: int, step: int) -> Series:
        """One series: the ``how`` (sum, average, max, min) of the known values of
        ``metrics`` at each time, unknown where none is known, computed by rrdtool."""
        paths = [self._require(metric) for metric in metrics]
        args = combine_args(paths, how, start, end, step)
        result = self._rrd.call("xport", None, args, flush_paths=paths)
        first, got, values = columns(result, 1)
        return Series(first, got, values[0])

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
        zone: str | None = None,
        scale: float = 1.0,
        include: Sequence[float] = (),
        note: str = "",
        lasts: Sequence[float | None] | None = None,
        mode: str = "lines",
        rest: int = 0,
    ) -> bytes:
        """A PNG or SVG graph of ``metrics`` with a legend (last/min/avg/max per metric),
        shaded ``bands``, horizontal ``lines`` and vertical ``rules``; ``stack`` draws the
        metrics as stacked areas.

        The time axis is drawn in the IANA ``zone`` (see :mod:`rrdarchive.zone`); values are
        multiplied by ``scale`` (100 shows a ratio as percent); the y-axis stretches to show
        every value in ``include`` (thresholds); ``note`` is a line under the axis; ``lasts``
        (the last values fed, one per metric) replace the legend's last consolidated row."""
        if image_format not in FORMATS:
            raise ValueError(f"image_format must be one of {', '.join(FORMATS)}")
        paths = [self._require(metric) for metric in metrics]
        if not paths:
            raise ValueError("a graph needs at least one metric")
        names = list(labels) if labels is not None else list(metrics)
        if len(names) != len(paths):
            raise ValueError("give one label per metric")
        if lasts is not None and len(lasts) != len(paths):
            raise ValueError("give one last value per metric")
        for item in (*bands, *lines, *rules):
            if not isinstance(item, Band | HLine | VRule):
                raise ValueError(f"not a graph element: {item!r}")
        args = [
            "-", *time_range(start, end),
            "--width", str(min(positive("width", width), 4000)),
            "--height", str(min(positive("height", height), 2000)),
            "--imgformat", image_format,
            "--title", plain_text(title),
            "--vertical-label", plain_text(vertical_label),
            *y_limits(include),
            "--",
            *graph_elements(list(zip(names, paths, strict=True)),
                            cf=consolidation(cf), bands=bands, lines=lines, rules=rules,
                            stack=bool(stack), scale=scale, note=note, lasts=lasts,
                            mode=mode, rest=rest),
        ]  # fmt: skip
        with local_zone(zone):
            result = self._rrd.call("graphv", None, args, flush_paths=paths)
        image: bytes = result["image"]
        return image

    def exists(self, metric: str) -> bool:
        """Whether ``metric`` has an RRD file (raises InvalidMetricName for a bad id).

        A file seen once is remembered (the same cache the writer uses), so asking again
        for an existing metric costs no system call."""
        return self._writer.files.exists(metric)

    def list_metrics(self, glob: str = "*") -> list[str]:
        """Metric ids with a file that match ``glob``, sorted."""
        return list_metrics(self.config.root, glob)

    def children(
        self, parts: Sequence[str], only: str | None = None
    ) -> tuple[list[str], list[str]]:
        """Directories and metrics right below the metric-id prefix ``parts``, sorted
        (``only``: that name alone, without listing the rest)."""
        return list_children(self.config.root, list(parts), only)

    def info(self, metric: str) -> dict[str, Any]:
        """Step, DS type, heartbeat, bounds, archives and last update of a metric's RRD."""
        path = self._require(metric)
        return {
            "metric": metric,
            "file": str(path),
            **summarize_info(self._rrd.call("info", path, [])),
        }

    def _existing(self, metric: str) -> Path | None:
        path = metric_path(self.config.root, metric)
        return path if path.exists() else None

    def _require(self, metric: str) -> Path:
        path = self._existing(metric)
        if path is None:
            raise ArchiveError(metric, "read", "no such metric in the archive")
        return path
