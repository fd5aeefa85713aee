"""Drawing one graph picture with its overlays: shared by the graph URLs and dashboards.

One place decides the unit shown (one common scale or none), turns the overlays into
rrdtool elements, stretches the axis to the thresholds and prints each metric's last fed
value, so a dashboard panel looks exactly like the same metrics under ``/graph``.
"""

from __future__ import annotations

from collections.abc import Sequence

from web.graphs.latest import latest_value
from web.graphs.overlays import Overlays
from web.graphs.query import TimeRange
from web.graphs.units import Shown, shown_as
from web.services import Services


def shown_for(metrics: Sequence[str]) -> Shown:
    """The unit and scale the metrics are shown in: their common one, else none."""
    shown = {shown_as(metric) for metric in metrics}
    return shown.pop() if len(shown) == 1 else Shown("")


def draw(
    services: Services,
    metrics: Sequence[str],
    time_range: TimeRange,
    overlays: Overlays,
    last_updates: Sequence[int],
    *,
    kind: str,
    width: int,
    height: int,
    title: str,
    mode: str = "lines",
    rest: int = 0,
) -> bytes:
    """A PNG or SVG (``kind``) of ``metrics`` drawn in ``mode`` (see
    :func:`rrdarchive.graph.graph_elements`); ``last_updates`` is each file's last update."""
    one = shown_for(metrics)
    bands, lines, rules = overlays.graph_elements(one.scale)
    zone = services.config.site.timezone.key
    return services.archive.graph(
        metrics,
        time_range.start,
        time_range.end,
        title=title,
        width=width,
        height=height,
        image_format=kind.upper(),
        bands=bands,
        lines=lines,
        rules=rules,
        mode=mode,
        rest=rest,
        vertical_label=one.unit,
        zone=zone,
        scale=one.scale,
        include=[line.value for line in lines],
        note=f"times in {zone} (24-hour)",
        lasts=None if mode in ("sum", "average") else _lasts(services, metrics, last_updates, rest),
    )


def _lasts(
    services: Services, metrics: Sequence[str], last_updates: Sequence[int], rest: int
) -> list[float | None]:
    """Each drawn metric's last value for the legend; none for those summed as "other"
    (their legend is the sum's, and each lookup reads the file)."""
    kept = len(metrics) - rest
    return [
        latest_value(services.archive, metric, when) if number < kept else None
        for number, (metric, when) in enumerate(zip(metrics, last_updates, strict=True))
    ]
