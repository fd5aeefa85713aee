"""gunicorn settings rexmon is served with: ``gunicorn -c python:web.gunicorn_conf ...``.

- Each worker opens the archive before it takes requests: a write-ahead log left by a
  crash is replayed then, not inside somebody's first request.
- A worker that exits closes the archive, so rrdcached flushes and the log is trimmed:
  a clean restart leaves nothing to replay.
- The worker class is gthread with read deadlines (:mod:`web.slowclients`), so a few
  clients trickling a request cannot hold every thread.
- Ingest allocates several objects per sample. With CPython's default generation-0
  threshold (700) the cyclic collector runs every few hundred samples and walks the
  archive's per-metric caches each time: measured in-process with 10k metrics through
  rrdcached, 44k samples per CPU-second with the default and 117k with the settings
  below. Nothing in the ingest path builds reference cycles, so collecting rarely costs
  no memory in practice.
"""

from __future__ import annotations

import gc
import logging
from typing import Any

from rexmon.errors import RexmonError
from web.services import get_services

GC_THRESHOLDS = (50_000, 20, 100)
worker_class = "web.slowclients.DeadlineWorker"
log = logging.getLogger(__name__)


def post_worker_init(worker: Any) -> None:
    """Open the archive (replaying any log), freeze start-up objects, collect rarely.

    If the archive cannot be opened now (rrdcached down), the worker still starts: pages
    work, ingest answers 503, and the archive is opened on the next write.
    """
    try:
        get_services(worker.wsgi).archive  # noqa: B018 - opened for its side effect
    except RexmonError as exc:
        log.error("archive not opened at worker start (will retry on first use): %s", exc)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def worker_exit(server: Any, worker: Any) -> None:
    """Flush and close the archive of a worker that stops."""
    app = getattr(worker, "wsgi", None)
    if app is not None:
        get_services(app).close()
