"""``GET /metrics``: rexmon's own figures in the Prometheus text format (version 0.0.4).

Requests served (by method and status), samples accepted and rejected, archive write
latency (a histogram), and the alarms by shown state plus the unsent notifications. The
counters are this process's (each gunicorn worker has its own; Prometheus adds them up
across scrapes of all workers or the lead takes them as a sample).
"""

from __future__ import annotations

from collections import Counter

from flask import Blueprint, Response, request

from alarmd.alarmstate import AlarmState
from web.auth import Role
from web.counters import WRITE_BUCKETS, ServerCounters
from web.guard import require
from web.services import get_services

bp = Blueprint("selfmetrics", __name__)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@bp.after_app_request
def count_request(response: Response) -> Response:
    get_services().counters.count_request(request.method, response.status_code)
    return response


@bp.get("/metrics")
@require(Role.VIEWER)
def metrics() -> Response:
    services = get_services()
    store = services.alarm_store
    by_state = Counter(record.shown_state for record in store.records())
    lines = render_counters(services.counters)
    lines += _family("rexmon_alarms", "gauge", "Alarms by shown state.")
    lines += [
        f'rexmon_alarms{{state="{state.value}"}} {by_state.get(state, 0)}' for state in AlarmState
    ]
    lines += _family("rexmon_notifications_pending", "gauge", "Notifications not yet sent.")
    lines.append(f"rexmon_notifications_pending {store.outbox.pending_count()}")
    return Response("\n".join(lines) + "\n", content_type=CONTENT_TYPE)


def render_counters(counters: ServerCounters) -> list[str]:
    data = counters.snapshot()
    lines = _family("rexmon_http_requests_total", "counter", "HTTP requests served.")
    for (method, status), count in sorted(data.requests.items()):
        lines.append(f'rexmon_http_requests_total{{method="{method}",status="{status}"}} {count}')
    lines += _family("rexmon_samples_accepted_total", "counter", "Samples stored.")
    lines.append(f"rexmon_samples_accepted_total {data.samples_accepted}")
    lines += _family("rexmon_samples_rejected_total", "counter", "Samples refused.")
    lines.append(f"rexmon_samples_rejected_total {data.samples_rejected}")
    name = "rexmon_archive_write_seconds"
    lines += _family(name, "histogram", "Time to store one ingest batch durably.")
    for bound, count in zip(WRITE_BUCKETS, data.write_buckets, strict=True):
        lines.append(f'{name}_bucket{{le="{bound}"}} {count}')
    lines.append(f'{name}_bucket{{le="+Inf"}} {data.write_count}')
    lines.append(f"{name}_sum {data.write_seconds!r}")
    lines.append(f"{name}_count {data.write_count}")
    return lines


def _family(name: str, kind: str, help_text: str) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
