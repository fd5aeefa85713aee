"""The status of every metric of the site, built cheaply and kept for a few seconds.

At 100k metrics one rrdtool call per metric is far too slow, so a snapshot reads:

- the archive's files with one ``os.scandir`` walk: the metric ids and each file's
  mtime, which is when its last update reached the disk (staleness);
- alarmd's records in two light queries: the (metric) of every record -- a metric with
  one is *checked* -- and the full record only of the problem rows (the ``state`` column
  holds the shown state, so OK rows are never decoded);
- the downtimes in effect now (one :class:`downtime.index.DowntimeIndex`).

With rrdcached, a file's mtime lags the updates rrdcached holds; a metric that looks stale
by its mtime is then asked for its last update (``Archive.last``, which asks rrdcached),
at most ``VERIFY_LIMIT`` of them per snapshot.

A snapshot is reused for ``SNAPSHOT_SECONDS`` unless alarmd's records or the downtimes
changed (a cheap ``count``/``max(updated)``), so an acknowledgement shows at once.
"""

from __future__ import annotations

import bisect
import json
import threading
import time
from collections import defaultdict
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app
from flask.sansio.app import App

from alarmd import schema as alarm_schema
from alarmd.record import AlarmRecord, record_from_dict
from downtime import schema as downtime_schema
from downtime.store import DowntimeStore
from rexmon.metric import glob_matcher, glob_prefix
from rrdarchive.errors import ArchiveError
from rrdarchive.listing import scan_metrics
from web.services import Services, get_services
from web.status.tree import (
    STALE_STEPS,
    Group,
    MetricStatus,
    Summary,
    build_groups,
    metric_status,
    problem_order,
    summarize,
)

SNAPSHOT_SECONDS = 30.0  # the page's refresh; staleness is judged in minutes
VERIFY_LIMIT = 300
_KEY = "rexmon.status"
_QUIET = ("ok", "resolved")


@dataclass(frozen=True)
class Snapshot:
    """Every metric's status at ``now``, sorted by metric id, with the whole site's roll-up
    (categories and host tiles, the problem list, the counts) made once."""

    now: float
    metrics: tuple[MetricStatus, ...]
    names: tuple[str, ...]
    build_seconds: float
    groups: tuple[Group, ...]
    problems: tuple[MetricStatus, ...]
    summary: Summary

    def select(self, glob: str = "*", text: str = "") -> list[MetricStatus]:
        """The metrics matching ``glob`` and containing ``text`` (case-insensitive)."""
        if glob == "*" and not text:
            return list(self.metrics)
        prefix = glob_prefix(glob)
        low = bisect.bisect_left(self.names, prefix)
        high = bisect.bisect_left(self.names, prefix + "\U0010ffff") if prefix else None
        chosen = self.metrics[low:high]
        if glob != "*":
            matches = glob_matcher(glob)
            chosen = tuple(m for m in chosen if matches(m.metric))
        if text:
            needle = text.lower()
            chosen = tuple(m for m in chosen if needle in m.metric.lower())
        return list(chosen)

    def host(self, host: str) -> list[MetricStatus]:
        """Every metric whose second component is ``host``, in any category."""
        return [m for m in self.metrics if m.metric.split(".", 2)[1:2] == [host]]


class SnapshotCache:
    """One app's latest snapshot. When it is older than ``SNAPSHOT_SECONDS``, one request
    rebuilds it while the others are answered from the previous one (never older than a
    build); when alarmd's records or the downtimes changed, every request waits for the
    new one, so an acknowledgement or a new downtime shows on the next page."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._build = threading.Lock()
        self._snapshot: Snapshot | None = None
        self._made_at = 0.0
        self._signature: tuple[object, ...] = ()

    def get(self, services: Services, now: float) -> Snapshot:
        signature = _signature(services)
        with self._lock:
            current = self._snapshot
            changed = current is None or signature != self._signature
            expired = time.monotonic() - self._made_at >= SNAPSHOT_SECONDS
        if current is not None and not changed and not expired:
            return current
        if current is not None and not changed and not self._build.acquire(blocking=False):
            return current  # another request is rebuilding it
        if changed:
            self._build.acquire()
        try:
            with self._lock:
                latest = self._snapshot
            if latest is not None and latest is not current:  # built meanwhile
                return latest
            fresh = build_snapshot(services, now)
            with self._lock:
                self._snapshot, self._made_at, self._signature = fresh, time.monotonic(), signature
            return fresh
        finally:
            self._build.release()


def init_app(app: App) -> None:
    app.extensions[_KEY] = SnapshotCache()


def current_snapshot() -> Snapshot:
    """The snapshot of the app serving this request."""
    services = get_services()
    cache: SnapshotCache = current_app.extensions[_KEY]
    return cache.get(services, services.clock())


def build_snapshot(services: Services, now: float) -> Snapshot:
    began = time.perf_counter()
    files = sorted(scan_metrics(services.config.archive.root))
    checked, problems = _alarm_state(services)
    covering = DowntimeStore(services.engine).index(int(now), int(now) + 1)
    stale = _stale(services, files, now)
    at = int(now)
    metrics = [
        metric_status(
            name,
            problems.get(name, ()),
            name in checked,
            covering.covering(name, at),
            mtime,
            name in stale,
            now,
        )
        for name, mtime in files
    ]
    groups = tuple(build_groups(metrics))
    listed = tuple(problem_order(metrics))
    names = tuple(name for name, _ in files)
    return Snapshot(
        now,
        tuple(metrics),
        names,
        time.perf_counter() - began,
        groups,
        listed,
        summarize(metrics),
    )


def _alarm_state(services: Services) -> tuple[set[str], dict[str, list[AlarmRecord]]]:
    """The metrics any rule checks, and the problem records by metric."""
    table = alarm_schema.record
    store = services.alarm_store  # makes the tables on first use
    with store.engine.connect() as connection:
        checked = set(connection.execute(sa.select(table.c.metric).distinct()).scalars())
        rows = connection.execute(
            sa.select(table.c.data).where(table.c.state.not_in(_QUIET))
        ).scalars()
        problems: dict[str, list[AlarmRecord]] = defaultdict(list)
        for data in rows:
            record = record_from_dict(json.loads(data))
            problems[record.metric].append(record)
    return checked, problems


def _stale(services: Services, files: list[tuple[str, int]], now: float) -> set[str]:
    """The metrics whose last update is older than ``STALE_STEPS`` steps."""
    schemas = services.config.archive.schemas
    finest = min(schema.step for schema in schemas.schemas)
    stale = set()
    verify = services.config.archive.rrdcached is not None
    checked = 0
    for name, mtime in files:
        if now - mtime <= STALE_STEPS * finest:
            continue
        limit = STALE_STEPS * schemas.schema_for(name).step
        if now - mtime <= limit:
            continue
        if verify and checked < VERIFY_LIMIT:
            checked += 1
            last = _last(services, name)
            if last is not None and now - last <= limit:
                continue
        stale.add(name)
    return stale


def _last(services: Services, name: str) -> int | None:
    try:
        found = services.archive.last(name)
    except ArchiveError:
        return None
    return None if found is None else found[0]


def _signature(services: Services) -> tuple[object, ...]:
    """What changes when alarmd writes or a downtime is filed, edited or ended."""
    records = alarm_schema.record
    audit = downtime_schema.audit  # every filing, edit, end and cancel adds a row
    with services.alarm_store.engine.connect() as connection:
        alarm_row = connection.execute(
            sa.select(sa.func.count(), sa.func.max(records.c.updated))
        ).one()
        changed = connection.execute(sa.select(sa.func.max(audit.c.id))).scalar()
    return (*alarm_row, changed)
