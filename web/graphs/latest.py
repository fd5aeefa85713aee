"""The last value of a metric as a legend's "last" shows it, whatever the range.

On a one-year graph each row is a day's average, so rrdtool's ``LAST`` of the drawn data
is yesterday's mean. The legend shows instead the newest known point of the finest
archive: for a gauge that is the value last fed, for a counter the last computed rate
(the value fed to a counter is the counter itself, not what the graph draws).
"""

from __future__ import annotations

from rrdarchive.archive import Archive

ROWS_BACK = 3  # a last update in the middle of a step leaves the newest row unknown


def latest_value(archive: Archive, metric: str, last_update: int) -> float | None:
    """The newest known value of ``metric``'s finest AVERAGE archive up to ``last_update``."""
    info = archive.info(metric)
    finest = min(
        (rra["resolution"] for rra in info["rras"] if rra["cf"] == "AVERAGE"),
        default=info["step"],
    )
    end = last_update // finest * finest + finest
    series = archive.fetch(metric, end - ROWS_BACK * finest, end, "AVERAGE", finest)
    known = [value for value in series.values if value is not None]
    return known[-1] if known else None
