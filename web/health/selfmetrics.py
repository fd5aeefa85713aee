"""``GET /metrics``: rexmon's own figures in the Prometheus text format (version 0.0.4).

Requests served (by method and status) and how long ingest, graphs and pages took,
samples accepted and rejected, archive write latency (histograms), added up across the
gunicorn workers (see :mod:`web.counters`); and, read when scraped: the alarms by shown
state, the unsent notifications (alarmd's outbox), alarmd's last cycle (its heartbeat
row: alarmd may run on another host), the write-ahead log not yet trimmed and
rrdcached's queue.
"""

from __future__ import annotations

import time
from collections import Counter

from flask import Blueprint, Response, g, request
from sqlalchemy.engine import Engine

from alarmd.alarmstate import AlarmState
from alarmd.heartbeat import read_heartbeat
from rrdarchive.config import ArchiveConfig
from rrdarchive.errors import ArchiveError
from rrdarchive.rrdcached import RrdcachedClient
from web.auth.guard import require
from web.auth.users import Role
from web.services import get_services

bp = Blueprint("selfmetrics", __name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


TIMED = ("ingest.", "graphs.", "status.", "alarms.", "downtimes.")


@bp.before_app_request
def start_clock() -> None:
    g.rexmon_started = time.perf_counter()


@bp.after_app_request
def count_request(response: Response) -> Response:
    counters = get_services().counters
    counters.count_request(request.method, response.status_code)
    endpoint = request.endpoint or ""
    started = g.get("rexmon_started")
    if started is not None and endpoint.startswith(TIMED):
        counters.time_request(endpoint, time.perf_counter() - started)
    return response


@bp.get("/metrics")
@require(Role.VIEWER)
def metrics() -> Response:
    services = get_services()
    store = services.alarm_store
    by_state = Counter(record.shown_state for record in store.records())
    lines = _family("rexmon_alarms", "gauge", "Alarms by shown state.")
    lines += [
        f'rexmon_alarms{{state="{state.value}"}} {by_state.get(state, 0)}' for state in AlarmState
    ]
    lines += _family("rexmon_notifications_pending", "gauge", "Notifications not yet sent.")
    lines.append(f"rexmon_notifications_pending {store.outbox.pending_count()}")
    lines += _alarmd_cycle(store.engine)
    lines += _archive_backlog(services.config.archive)
    text = services.counters.render().decode() + "\n".join(lines) + "\n"
    return Response(text, content_type=CONTENT_TYPE)


def _archive_backlog(config: ArchiveConfig) -> list[str]:
    """The write-ahead log not yet trimmed and rrdcached's queue (with rrdcached only)."""
    if config.rrdcached is None:
        return []
    segments = list(config.wal_dir.glob("*.wal"))
    size = 0
    for segment in segments:
        try:
            size += segment.stat().st_size
        except FileNotFoundError:  # trimmed meanwhile
            pass
    lines = _family("rexmon_wal_segments", "gauge", "Write-ahead log segments on disk.")
    lines.append(f"rexmon_wal_segments {len(segments)}")
    lines += _family("rexmon_wal_bytes", "gauge", "Bytes in write-ahead log segments.")
    lines.append(f"rexmon_wal_bytes {size}")
    client = RrdcachedClient(config.rrdcached, config.root, timeout=5)
    try:
        queue = client.stats().get("QueueLength")
    except ArchiveError:
        queue = None  # down: the gauge is absent, ingest says 503
    finally:
        client.close()
    if queue is not None:
        lines += _family(
            "rexmon_rrdcached_queue_length", "gauge", "Files rrdcached has yet to write."
        )
        lines.append(f"rexmon_rrdcached_queue_length {queue}")
    return lines


def _alarmd_cycle(engine: Engine) -> list[str]:
    """alarmd's last cycle as its active daemon stored it (absent before the first one);
    the timestamp tells a stopped daemon from a healthy one."""
    beat = read_heartbeat(engine)
    if beat is None:
        return []
    figures = [
        ("cycle_seconds", "Duration of alarmd's last cycle.", beat.cycle_seconds),
        ("outbox_depth", "Messages in alarmd's outbox after its last cycle.", beat.outbox_depth),
        ("last_cycle_timestamp_seconds", "When alarmd's last cycle ran (UNIX time).", beat.at),
    ]
    lines = []
    for name, help_text, value in figures:
        lines += _family(f"rexmon_alarmd_{name}", "gauge", help_text)
        lines.append(f"rexmon_alarmd_{name} {value}")
    return lines


def _family(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
