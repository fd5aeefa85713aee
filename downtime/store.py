"""The downtime store: file, change, end and cancel downtimes, with an audit trail.

::

    engine = open_database(config.url)
    store = DowntimeStore(engine, policy=policy)     # policy None: no scope limits
    store.migrate()
    downtime = store.add(Draft(("host.node01.*",), start, end, "kernel update"), actor)
    index = store.index(now, now + 1)                # once per alarmd cycle
    index.covering("host.node01.cpu.user", now)

Every change is written together with its audit entry in one transaction.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from downtime import rows, schema
from downtime.errors import InvalidDowntime
from downtime.index import DowntimeIndex
from downtime.model import (
    AuditEntry,
    Downtime,
    Draft,
    Override,
    Window,
    default_effect,
)
from downtime.policy import Actor, ScopePolicy
from downtime.recurrence import Series, span_end, windows
from downtime.validation import validate_draft
from rexmon.database import migrate, write_transaction

STATES = ("active", "upcoming", "past", "all")
_SERIES_FIELDS = ("start", "end", "rrule", "timezone", "until")


class DowntimeStore:
    def __init__(
        self,
        engine: Engine,
        *,
        policy: ScopePolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.engine = engine
        self.policy = policy
        self.clock = clock

    def migrate(self) -> int:
        """Create or upgrade the downtime tables; returns the schema version."""
        return migrate(self.engine, schema.COMPONENT, schema.MIGRATIONS)

    # -- reading ------------------------------------------------------------------------

    def get(self, downtime_id: int) -> Downtime:
        with self.engine.connect() as connection:
            return rows.one(connection, downtime_id)

    def candidates(self, start: int, end: int) -> list[Downtime]:
        """Downtimes not cancelled that may be in effect somewhere in ``[start, end)``."""
        table = schema.downtime
        condition = sa.and_(
            table.c.cancelled_at.is_(None),
            table.c.starts_at < end,
            sa.or_(table.c.span_end.is_(None), table.c.span_end > start),
        )
        with self.engine.connect() as connection:
            return rows.load(connection, condition)

    def index(self, start: int, end: int) -> DowntimeIndex:
        return DowntimeIndex(self.candidates(start, end), start, end)

    def covering(self, metric: str, at: int) -> list[Downtime]:
        """Downtimes in effect for one metric; for many metrics build :meth:`index`."""
        return self.index(at, at + 1).covering(metric, at)

    def overlapping(self, metrics: Iterable[str], start: int, end: int) -> list[Window]:
        """Windows of downtimes covering any of ``metrics`` within ``[start, end)``."""
        return self.index(start, end).overlapping(metrics, start, end)

    def find(self, state: str = "all", *, at: int | None = None) -> list[Downtime]:
        """Downtimes by state at ``at`` (default now): ``active`` (in effect),
        ``upcoming`` (not in effect, still to come, including armed flexible ones),
        ``past`` (over or cancelled) or ``all``; ordered by start."""
        if state not in STATES:
            raise InvalidDowntime("state", f"expected one of {', '.join(STATES)}")
        now = int(self.clock()) if at is None else at
        with self.engine.connect() as connection:
            every = rows.load(connection, sa.true())
        return [d for d in every if state == "all" or state_at(d, now) == state]

    def audit_trail(self, downtime_id: int) -> list[AuditEntry]:
        table = schema.audit
        query = sa.select(table).where(table.c.downtime_id == downtime_id).order_by(table.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            AuditEntry(
                row["downtime_id"],
                row["at"],
                row["actor"],
                row["action"],
                json.loads(row["changes"]),
            )
            for row in rows
        ]

    # -- writing ------------------------------------------------------------------------

    def add(self, draft: Draft, actor: Actor) -> Downtime:
        """File one downtime; returns it as stored."""
        return self.get(self.add_many([draft], actor)[0])

    def add_many(self, drafts: Iterable[Draft], actor: Actor) -> list[int]:
        """File several downtimes in one transaction (all or none); returns their ids."""
        checked = [validate_draft(draft) for draft in drafts]
        for draft in checked:
            self._check_scopes(actor, draft.scopes)
        now = int(self.clock())
        new_rows = []
        for draft in checked:
            row = rows.draft_row(draft)
            probe = rows.from_draft(draft, 0, actor.name, now)
            row.update(author=actor.name, created_at=now, updated_at=now, span_end=span_end(probe))
            new_rows.append(row)
        if not new_rows:
            return []
        table = schema.downtime
        insert = table.insert().returning(table.c.id, sort_by_parameter_order=True)
        with write_transaction(self.engine) as connection:
            ids = list(connection.execute(insert, new_rows).scalars())
            scopes = [
                {"downtime_id": downtime_id, "position": position, "glob": glob}
                for downtime_id, draft in zip(ids, checked, strict=True)
                for position, glob in enumerate(draft.scopes)
            ]
            connection.execute(schema.scope.insert(), scopes)
            audits = [
                rows.audit_row(downtime_id, now, actor.name, "add", rows.added(draft))
                for downtime_id, draft in zip(ids, checked, strict=True)
            ]
            connection.execute(schema.audit.insert(), audits)
        return ids

    def edit(self, downtime_id: int, actor: Actor, **changes: Any) -> Downtime:
        """Change fields of a :class:`Draft` (``scopes``, ``end``, ``reason``, ...).

        Changing the timing of a series (start, end, rrule, timezone, until) drops its
        per-occurrence changes. Changing the kind also changes the effect when it was
        the old kind's default.
        """
        unknown = set(changes) - {f.name for f in dataclasses.fields(Draft)}
        if unknown:
            raise InvalidDowntime(sorted(unknown)[0], "no such field")
        with write_transaction(self.engine) as connection:
            current = self._changeable(connection, downtime_id, actor)
            if "kind" in changes and "effect" not in changes:
                if current.effect is default_effect(current.kind):
                    changes["effect"] = None  # follow the new kind's default
            checked = validate_draft(dataclasses.replace(current.draft(), **changes))
            self._check_scopes(actor, checked.scopes)
            before, after = rows.plain(current.draft()), rows.plain(checked)
            diff = {k: [before[k], after[k]] for k in after if before[k] != after[k]}
            if not diff:
                return current
            now = int(self.clock())
            overrides = current.overrides
            if overrides and any(k in diff for k in _SERIES_FIELDS):
                diff["overrides"] = [len(overrides), 0]
                overrides = ()
            updated = dataclasses.replace(
                rows.from_draft(checked, downtime_id, current.author, current.created),
                triggered=current.triggered,
                ended=current.ended,
                overrides=overrides,
            )
            row = rows.draft_row(checked)
            row.update(updated_at=now, span_end=span_end(updated))
            connection.execute(
                schema.downtime.update().where(schema.downtime.c.id == downtime_id).values(**row)
            )
            if "scopes" in diff:
                connection.execute(
                    schema.scope.delete().where(schema.scope.c.downtime_id == downtime_id)
                )
                rows.write_scopes(connection, downtime_id, checked.scopes)
            if "overrides" in diff:
                connection.execute(
                    schema.override.delete().where(schema.override.c.downtime_id == downtime_id)
                )
            rows.audit(connection, downtime_id, now, actor.name, "edit", diff)
        return self.get(downtime_id)

    def end(self, downtime_id: int, actor: Actor, at: int | None = None) -> Downtime:
        """Stop the downtime (a whole series) at ``at`` (default now)."""
        with write_transaction(self.engine) as connection:
            current = self._changeable(connection, downtime_id, actor)
            now = int(self.clock())
            stop = now if at is None else at
            latest = span_end(current)
            if stop <= current.start:
                raise InvalidDowntime("end", "it has not started yet; cancel it instead")
            if latest is not None and stop >= latest:
                raise InvalidDowntime("end", "it is already over")
            ended = dataclasses.replace(current, ended=stop)
            values = {"ended_at": stop, "updated_at": now, "span_end": span_end(ended)}
            changes = {"ended": [current.ended, stop]}
            rows.update(connection, downtime_id, values, now, actor.name, "end", changes)
        return self.get(downtime_id)

    def cancel(self, downtime_id: int, actor: Actor) -> Downtime:
        """Withdraw the downtime: it never had, and never will have, any effect."""
        with write_transaction(self.engine) as connection:
            self._changeable(connection, downtime_id, actor)
            now = int(self.clock())
            values = {"cancelled_at": now, "updated_at": now}
            changes = {"cancelled": [None, now]}
            rows.update(connection, downtime_id, values, now, actor.name, "cancel", changes)
        return self.get(downtime_id)

    def trigger_flexible(self, downtime_id: int, at: int, actor: str = "alarmd") -> Downtime:
        """Start a flexible downtime because a problem appeared at ``at`` (inside its
        window). The first trigger wins; later calls return the downtime unchanged."""
        with write_transaction(self.engine) as connection:
            current = rows.one(connection, downtime_id, lock=True)
            if not current.flexible:
                raise InvalidDowntime("flexible", "this downtime is not flexible")
            if current.cancelled is not None or current.triggered is not None:
                return current
            last = current.end if current.ended is None else min(current.end, current.ended)
            if not current.start <= at < last:
                raise InvalidDowntime("triggered", "the problem is outside the flexible window")
            now = int(self.clock())
            triggered = dataclasses.replace(current, triggered=at)
            values = {"triggered_at": at, "updated_at": now, "span_end": span_end(triggered)}
            changes = {"triggered": [None, at]}
            rows.update(connection, downtime_id, values, now, actor, "trigger", changes)
        return self.get(downtime_id)

    def edit_occurrence(
        self,
        downtime_id: int,
        actor: Actor,
        original_start: int,
        *,
        start: int | None = None,
        end: int | None = None,
        cancel: bool = False,
    ) -> Downtime:
        """Move, shorten or cancel one window of a series (the others stay); given only
        a new ``start``, the window keeps its length."""
        with write_transaction(self.engine) as connection:
            current = self._changeable(connection, downtime_id, actor)
            if current.rrule is None:
                raise InvalidDowntime("occurrence", "only a recurring downtime has occurrences")
            series = Series(
                current.rrule, current.start, current.end, current.timezone, current.until
            )
            old = {o.original_start: o for o in current.overrides}
            if original_start in old:
                base_start, base_end = old[original_start].start, old[original_start].end
            elif series.is_occurrence(original_start):
                base_start, base_end = series.window_at(original_start)
            else:
                raise InvalidDowntime("occurrence", "no window of this series starts then")
            new_start = base_start if start is None else start
            if end is None:  # a moved window keeps its length
                end = new_start + base_end - base_start
            new = Override(original_start, new_start, end, cancel)
            if new.end <= new.start:
                raise InvalidDowntime("end", "the end must be after the start")
            kept = tuple(o for o in current.overrides if o.original_start != original_start)
            updated = dataclasses.replace(current, overrides=(*kept, new))
            now = int(self.clock())
            table = schema.override
            connection.execute(
                table.delete().where(
                    table.c.downtime_id == downtime_id, table.c.original_start == original_start
                )
            )
            connection.execute(
                table.insert().values(
                    downtime_id=downtime_id,
                    original_start=original_start,
                    starts_at=new.start,
                    ends_at=new.end,
                    cancelled=new.cancelled,
                )
            )
            action = "cancel-occurrence" if cancel else "edit-occurrence"
            changes = {
                "occurrence": [original_start, original_start],
                "start": [base_start, new.start],
                "end": [base_end, new.end],
            }
            values = {"updated_at": now, "span_end": span_end(updated)}
            rows.update(connection, downtime_id, values, now, actor.name, action, changes)
        return self.get(downtime_id)

    # -- internals ----------------------------------------------------------------------

    def _check_scopes(self, actor: Actor, scopes: Iterable[str]) -> None:
        if self.policy is not None:
            for scope in scopes:
                self.policy.check(actor, scope)

    def _changeable(self, connection: Connection, downtime_id: int, actor: Actor) -> Downtime:
        """The downtime, locked for this transaction, if ``actor`` may change it."""
        current = rows.one(connection, downtime_id, lock=True)
        self._check_scopes(actor, current.scopes)
        if current.cancelled is not None:
            raise InvalidDowntime("cancelled", "a cancelled downtime cannot be changed")
        return current


def state_at(downtime: Downtime, at: int) -> str:
    """``active``, ``upcoming`` or ``past`` at ``at`` (cancelled ones are past)."""
    if downtime.cancelled is not None:
        return "past"
    if windows(downtime, at, at + 1):
        return "active"
    latest = span_end(downtime)
    return "upcoming" if latest is None or latest > at else "past"


WAITING = "window open, waiting for a problem"


def waiting_for_problem(downtime: Downtime, at: int) -> bool:
    """A flexible downtime whose window is open and that no problem has triggered yet."""
    return (
        downtime.flexible
        and downtime.triggered is None
        and downtime.cancelled is None
        and downtime.start <= at < downtime.end
    )


def shown_state(downtime: Downtime, at: int) -> str:
    """The state as people read it: ``cancelled``, :data:`WAITING`, or :func:`state_at`."""
    if downtime.cancelled is not None:
        return "cancelled"
    return WAITING if waiting_for_problem(downtime, at) else state_at(downtime, at)
