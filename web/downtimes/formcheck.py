"""The downtime form checked in one pass: every field's problem at once.

``draft_from_fields`` reads the fields; the store's validation would then refuse the
first remaining problem only (a broken glob after a missing reason), so the form runs
the scope and draft checks itself and merges everything into one ``{field: message}``.
The end can be given as an end or as a duration; both given and disagreeing is refused
with a message that says what each one means, never silently settled.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping

from downtime.errors import InvalidDowntime
from downtime.fields import FieldErrors, Reader, draft_from_fields, scopes_from_text
from downtime.model import Draft
from downtime.validation import validate_draft
from rexmon.errors import InvalidMetricName, InvalidTime
from rexmon.metric import validate_metric_glob
from rexmon.timespec import format_time


@dataclasses.dataclass(frozen=True)
class Resolved:
    """The start and end a person's typing means (UNIX seconds), or why not."""

    start: int | None
    end: int | None
    errors: dict[str, str]


def resolve_times(fields: Mapping[str, str], reader: Reader) -> Resolved:
    """Start, and the end from ``end`` or ``start + duration``; both given must agree."""
    errors: dict[str, str] = {}
    start = _read(reader.time, fields.get("start") or "now", "start", errors)
    end_text, duration_text = fields.get("end", ""), fields.get("duration", "")
    end = _read(reader.time, end_text, "end", errors) if end_text else None
    duration = _read(reader.duration, duration_text, "duration", errors) if duration_text else None
    if start is not None and duration is not None:
        by_duration = start + duration
        if end is not None and end != by_duration:
            errors["duration"] = (
                f"give an end or a duration, not both: the end is {format_time(end, reader.zone)},"
                f" start + {duration_text} is {format_time(by_duration, reader.zone)};"
                " clear one of the two"
            )
        end = by_duration if end is None else end
    if not end_text and not duration_text and "end" not in errors:
        errors["end"] = "give an end or a duration"
    if start is not None and end is not None and end <= start and "end" not in errors:
        errors["end"] = "the end must be after the start"
    return Resolved(start, end, errors)


def check_form(fields: Mapping[str, str], reader: Reader, default_zone: str) -> Draft:
    """The validated Draft of a new downtime; :class:`FieldErrors` names every bad field."""
    errors = resolve_times(fields, reader).errors | scope_errors(fields.get("scopes", ""))
    single_end = dict(fields)
    if fields.get("end") and fields.get("duration"):
        single_end["duration"] = ""  # they agree (else an error above): one is enough
    draft = None
    try:
        draft = draft_from_fields(single_end, reader, default_zone)
    except FieldErrors as exc:
        errors = exc.errors | errors
    if draft is not None and not errors:
        try:
            validate_draft(draft)  # the store checks again; here only for the message
        except InvalidDowntime as exc:
            errors[exc.field] = exc.message
        else:
            return draft
    raise FieldErrors(errors)


def scope_errors(text: str) -> dict[str, str]:
    """Every glob that is broken or can never match a metric id, in one message."""
    try:
        scopes = scopes_from_text(text)
    except InvalidDowntime as exc:
        return {"scopes": exc.message}
    problems = []
    for scope in scopes:
        try:
            validate_metric_glob(scope)
        except InvalidMetricName as exc:
            problems.append(str(exc))
    return {"scopes": "; ".join(problems)} if problems else {}


def _read(parse: Callable[[str], int], text: str, field: str, errors: dict[str, str]) -> int | None:
    try:
        return parse(text)
    except InvalidTime as exc:
        errors[field] = str(exc)
        return None
