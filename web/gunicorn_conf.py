"""gunicorn settings rexmon is served with: ``gunicorn -c python:web.gunicorn_conf ...``.

- Each worker opens the archive before it takes requests: a write-ahead log left by a
  crash is replayed then, not inside somebody's first request.
- A worker that exits closes the archive, so rrdcached flushes and the log is trimmed:
  a clean restart leaves nothing to replay.
- Ingest allocates several objects per sample. With CPython's default generation-0
  threshold (700) the cyclic collector runs every few hundred samples and walks the
  archive's per-metric caches each time: measured in-process with 10k metrics through
  rrdcached, 44k samples per CPU-second with the default and 117k with the settings
  below. Requests do leave reference cycles (Flask, werkzeug, exceptions): those still in
  use when a young collection runs reach the oldest generation, which these thresholds
  collect only every ~100M allocations, so a worker grew ~2 KB per request for an hour
  or more (measured: 2000 status or graph requests in-process, +3.6 MB; stable with a
  full collection every 400). So each worker also runs a full collection every minute,
  in a thread of its own: about 0.1 s with 100k metrics cached.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any

from rrdarchive.errors import RexmonError
from web.services import get_services

GC_THRESHOLDS = (50_000, 20, 100)
FULL_COLLECTION_EVERY = 60.0  # seconds
log = logging.getLogger(__name__)


def post_worker_init(worker: Any) -> None:
    """Open the archive (replaying any log), freeze start-up objects, collect young
    generations rarely and everything once a minute.

    If the archive cannot be opened now (rrdcached down), the worker still starts: pages
    work, ingest answers 503, and the archive is opened on the next write.
    """
    try:
        get_services(worker.wsgi).archive  # noqa: B018 - opened for its side effect
    except RexmonError as exc:
        log.error("archive not opened at worker start (will retry on first use): %s", exc)
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    threading.Thread(target=_collect_regularly, name="rexmon-gc", daemon=True).start()


def _collect_regularly() -> None:
    while True:
        time.sleep(FULL_COLLECTION_EVERY)
        gc.collect()


def worker_exit(server: Any, worker: Any) -> None:
    """Flush and close the archive of a worker that stops."""
    app = getattr(worker, "wsgi", None)
    if app is not None:
        get_services(app).close()
