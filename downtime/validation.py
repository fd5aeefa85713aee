"""Checking a :class:`Draft` before it is stored; every refusal names its field."""

from __future__ import annotations

import dataclasses

from downtime.errors import InvalidDowntime
from downtime.model import Draft, Effect, Kind, default_effect
from downtime.recurrence import Series, normalize_rrule, zone_of
from rexmon.errors import InvalidMetricName
from rexmon.metric import validate_glob

MAX_REASON = 2000
MAX_SCOPES = 100


def validate_draft(draft: Draft) -> Draft:
    """The draft with defaults filled in and a series' start moved to its first window."""
    scopes = _scopes(draft.scopes)
    reason = draft.reason.strip() if isinstance(draft.reason, str) else ""
    if not reason:
        raise InvalidDowntime("reason", "a reason is required")
    if len(reason) > MAX_REASON:
        raise InvalidDowntime("reason", f"at most {MAX_REASON} characters")
    if not isinstance(draft.kind, Kind):
        raise InvalidDowntime("kind", "expected planned or unplanned")
    effect = default_effect(draft.kind) if draft.effect is None else draft.effect
    if not isinstance(effect, Effect):
        raise InvalidDowntime("effect", "expected mute, skip or label")
    for name in ("start", "end"):
        if isinstance(getattr(draft, name), bool) or not isinstance(getattr(draft, name), int):
            raise InvalidDowntime(name, "expected UNIX seconds")
    if draft.end <= draft.start:
        raise InvalidDowntime("end", "the end must be after the start")
    zone_of(draft.timezone)
    start, end, rrule = draft.start, draft.end, draft.rrule
    if draft.flexible:
        if rrule is not None:
            raise InvalidDowntime("flexible", "a flexible downtime cannot recur")
        if draft.duration is None or draft.duration <= 0:
            raise InvalidDowntime("duration", "a flexible downtime needs a positive duration")
    elif draft.duration is not None:
        raise InvalidDowntime("duration", "only a flexible downtime has a duration")
    if rrule is None:
        if draft.until is not None:
            raise InvalidDowntime("until", "only a recurring downtime has an end date")
    else:
        rrule = normalize_rrule(rrule)
        if draft.until is not None and draft.until < start:
            raise InvalidDowntime("until", "the series must not end before it starts")
        first = Series(rrule, start, end, draft.timezone, draft.until).first()
        if first is None:
            raise InvalidDowntime("rrule", "the rule yields no window at all")
        start, end = first
    return dataclasses.replace(
        draft, scopes=scopes, reason=reason, effect=effect, rrule=rrule, start=start, end=end
    )


def _scopes(scopes: object) -> tuple[str, ...]:
    if isinstance(scopes, str) or not isinstance(scopes, tuple | list):
        raise InvalidDowntime("scopes", "expected a list of metric globs")
    if not scopes:
        raise InvalidDowntime("scopes", "at least one scope (metric glob) is required")
    if len(scopes) > MAX_SCOPES:
        raise InvalidDowntime("scopes", f"at most {MAX_SCOPES} scopes")
    checked = []
    for item in scopes:
        try:
            checked.append(validate_glob(item.strip() if isinstance(item, str) else item))
        except InvalidMetricName as exc:
            raise InvalidDowntime("scopes", str(exc)) from None
    return tuple(dict.fromkeys(checked))
