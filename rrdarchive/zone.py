"""Run rrdtool with the process time zone set to the site's, one caller at a time.

``rrdtool graph`` places and labels its time axis with ``localtime()``: it reads the C
library's zone, i.e. the ``TZ`` environment variable, and offers no option to pass a zone.
A graph for a site in Europe/Zurich drawn by a process in UTC labels 19:33 as 18:33.

Why a process-wide lock around the call, and not ``TZ`` set once per worker at start-up:
one process may hold several apps with different site zones (the tests do; so could a
multi-site deployment), and a threaded worker draws several graphs at once. ``TZ`` is
process state, so whoever changes it must hold the one lock every graph takes, set it,
call ``tzset()`` (glibc's ``localtime_r`` does not re-read ``TZ`` by itself), draw, and
put the previous value back before releasing. The lock is a module constant: it guards
process state, which is itself global, and it must be shared by every ``Archive``.
Other rrdtool calls take integer UNIX times and do not depend on the zone.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

_TZ_LOCK = threading.Lock()


@contextmanager
def local_zone(name: str | None) -> Iterator[None]:
    """Inside the block ``localtime()`` is in the IANA zone ``name`` (unchanged if None)."""
    if name is None:
        yield
        return
    with _TZ_LOCK:
        before = os.environ.get("TZ")
        os.environ["TZ"] = name
        time.tzset()
        try:
            yield
        finally:
            if before is None:
                del os.environ["TZ"]
            else:
                os.environ["TZ"] = before
            time.tzset()
