"""gunicorn settings rexmon is served with: ``gunicorn -c python:web.gunicorn_conf ...``.

- Each worker opens the archive before it takes requests: a write-ahead log left by a
  crash is replayed then, not inside somebody's first request.
- A worker that exits closes the archive, so rrdcached flushes and the log is trimmed:
  a clean restart leaves nothing to replay.
- ``/metrics`` adds up every worker's counts: prometheus_client's multiprocess mode, in
  ``$PROMETHEUS_MULTIPROC_DIR`` (a new directory per server run unless the environment
  names one; emptied when the server starts). prometheus_client chooses its mode when
  it is first imported, so the directory is set before anything imports it.
- Logs (the app's, gunicorn's errors and its access log) go to stderr as every rexmon
  program logs: journald priority prefixes under systemd, or JSON lines when
  ``rexmon-web serve --log-format json`` set ``$REXMON_LOG_FORMAT``.
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
import os
import tempfile
from pathlib import Path
from typing import Any

os.environ.setdefault("PROMETHEUS_MULTIPROC_DIR", tempfile.mkdtemp(prefix="rexmon-metrics-"))

from prometheus_client import multiprocess  # noqa: E402

from rexmon.errors import RexmonError  # noqa: E402
from rexmon.logs import LOG_FORMAT_ENV, dict_config  # noqa: E402
from web.services import get_services  # noqa: E402

GC_THRESHOLDS = (50_000, 20, 100)
worker_class = "web.slowclients.DeadlineWorker"
logconfig_dict = dict_config(
    os.environ.get(LOG_FORMAT_ENV, "text"), prefix="[%(process)d] %(name)s: "
)
log = logging.getLogger(__name__)


def on_starting(server: Any) -> None:
    """A new server run counts from zero: forget the files of an earlier one."""
    for leftover in Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).glob("*.db"):
        leftover.unlink()


def child_exit(server: Any, worker: Any) -> None:
    """A dead worker's live gauges go; its counts stay in the sums."""
    multiprocess.mark_process_dead(worker.pid)


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
