"""How many new metrics (RRD files not there yet) each push token may create per hour.

A token that sends millions of distinct metric names would fill the disk with RRD files;
the quota stops that while the metrics that already exist keep being written. Counting is
shared by every gunicorn worker (and every web host on one PostgreSQL) through the
database (see :mod:`web.limitstore`), so it holds with any number of workers and
survives a HUP. Windows are fixed clock hours; a metric name counts once per window,
whether or not its samples are then stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from web.limitstore import new_metrics, serialised

WINDOW = 3600


class NewMetricQuota:
    """Per token name and clock hour: the new metric names charged, in the database."""

    def __init__(self, engine: Callable[[], Engine], clock: Callable[[], float] = time.time):
        self._engine = engine
        self._clock = clock

    def allow(self, token: str, metric: str, limit: int) -> bool:
        """Charge ``metric`` (not in the archive yet) to ``token``; False once over ``limit``.

        ``limit`` 0 means no limit. A metric already charged in this window is free.
        """
        if limit <= 0:
            return True
        window = int(self._clock() // WINDOW)
        mine = (new_metrics.c.token == token) & (new_metrics.c.window == window)
        with serialised(self._engine(), f"quota:{token}") as connection:
            charged = connection.execute(
                sa.select(sa.func.count()).select_from(new_metrics).where(mine)
            ).scalar_one()
            if charged == 0:  # a new window: forget the token's older ones
                connection.execute(
                    new_metrics.delete().where(
                        (new_metrics.c.token == token) & (new_metrics.c.window < window)
                    )
                )
            elif connection.execute(
                sa.select(new_metrics.c.metric).where(mine & (new_metrics.c.metric == metric))
            ).first():
                return True
            if charged >= limit:
                return False
            row = {"token": token, "window": window, "metric": metric}
            connection.execute(new_metrics.insert().values(**row))
            return True
