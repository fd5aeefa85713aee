"""Template filters the pages share: numbers, ages, ratings and times as people read them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Flask


def init_app(app: Flask) -> None:
    app.add_template_filter(age_filter, "age")
    app.add_template_filter(rating_filter, "rating")
    app.add_template_filter(number_filter, "number")


def age_text(seconds: float | None) -> str:
    """``45s``, ``12m``, ``3h``, ``2d`` ago."""
    if seconds is None:
        return "never"
    seconds = max(0, int(seconds))
    for size, unit in ((86400, "d"), (3600, "h"), (60, "m")):
        if seconds >= size:
            return f"{seconds // size}{unit} ago"
    return f"{seconds}s ago"


def age_filter(moment: float | None, now: float) -> str:
    return age_text(None if moment is None else now - moment)


def rating_filter(rating: float | None) -> str:
    return "no information" if rating is None else f"{rating:.2f}"


def number_filter(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.4g}"


def field_time(seconds: int, zone: ZoneInfo) -> str:
    """``2026-12-03 13:40`` (seconds only when not zero) in ``zone``, 24-hour: what a time
    field shows and what :func:`rexmon.timespec.parse_time` reads back as the same time."""
    moment = datetime.fromtimestamp(seconds, zone)
    return moment.strftime("%Y-%m-%d %H:%M" if moment.second == 0 else "%Y-%m-%d %H:%M:%S")


def shown_time(text: str, zone: ZoneInfo) -> str:
    """A time as typed, with UNIX seconds (``1796301120``) shown as :func:`field_time`."""
    return field_time(int(text), zone) if text.isdigit() else text
