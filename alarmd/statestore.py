"""alarmd's persistent state: alarm records and their transitions (the outbox and the
notification log are :mod:`alarmd.outbox`, written in the same transactions).

The daemon writes, the web app reads (and files acknowledgements)::

    store = AlarmStore(open_database(url))
    store.migrate()
    store.records(metric_glob="host.node01.*")   # current alarms, shown state in .shown_state
    store.history(metric="host.node01.load.5m")  # TransitionRow, newest first
    store.outbox.log()                           # NotificationRow, newest first
    store.acknowledge("host-load", "host.node01.load.5m", "alice", "on it", None, now)
    store.prune(now - keep)                      # retention: delete the old history

Every record has a ``version`` bumped by each write. The daemon writes with
:meth:`save`, which refuses (all or nothing) when a record changed under it, e.g. by an
acknowledgement; the daemon then re-reads those records and evaluates them again, so an
acknowledgement is never lost. State changes and the messages they cause are stored in
one transaction, as ``pending`` rows of the outbox, before anything is sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from alarmd import schema
from alarmd.alarmstate import AlarmState, Severity
from alarmd.checkstore import CheckStore
from alarmd.message import Message
from alarmd.outbox import FINISHED, NotificationRow, Outbox, write_log, write_messages
from alarmd.record import AlarmRecord, acknowledge, record_from_dict, record_to_dict
from rexmon.database import migrate, write_transaction
from rexmon.metric import glob_matcher, glob_prefix

Key = tuple[str, str]  # (rule, metric)

WRITE_CHUNK = 5_000  # records per executemany
VERSION_CHUNK = 500  # keys per version check of a few changed records
PRUNE_CHUNK = 10_000  # rows per transaction: a first prune never holds the lock for long


@dataclass(frozen=True)
class TransitionRow:
    """One change of an alarm's shown state (or severity)."""

    rule: str
    metric: str
    at: float
    from_state: AlarmState
    to_state: AlarmState
    severity: Severity | None
    value: float | None


@dataclass(frozen=True)
class Change:
    """A record to write; ``version`` is the one it was read at (None: a new alarm)."""

    previous: AlarmRecord | None
    version: int | None
    record: AlarmRecord


class AlarmStore:
    """alarmd's tables in the shared database (SQLite or PostgreSQL)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.outbox = Outbox(engine)
        self.checks = CheckStore(engine)

    def migrate(self) -> None:
        """Create or upgrade alarmd's tables."""
        migrate(self.engine, schema.COMPONENT, schema.MIGRATIONS)

    # -- reading (the web app) ----------------------------------------------------------

    def records(
        self, *, rule: str | None = None, metric_glob: str | None = None
    ) -> list[AlarmRecord]:
        """Current records, ordered by rule and metric."""
        return [rec for rec, _ in self._select(rule, metric_glob)]

    def record(self, rule: str, metric: str) -> AlarmRecord | None:
        table = schema.record
        query = sa.select(table.c.data).where(table.c.rule == rule, table.c.metric == metric)
        with self.engine.connect() as connection:
            data = connection.execute(query).scalar_one_or_none()
        return None if data is None else record_from_dict(json.loads(data))

    def history(
        self,
        *,
        metric: str | None = None,
        start: float | None = None,
        end: float | None = None,
        limit: int = 200,
    ) -> list[TransitionRow]:
        """Transitions, newest first; ``[start, end)`` bounds their time."""
        table = schema.transition
        query = sa.select(table).order_by(table.c.at.desc(), table.c.id.desc()).limit(limit)
        if metric is not None:
            query = query.where(table.c.metric == metric)
        if start is not None:
            query = query.where(table.c.at >= start)
        if end is not None:
            query = query.where(table.c.at < end)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            TransitionRow(
                row["rule"],
                row["metric"],
                row["at"],
                AlarmState(row["from_state"]),
                AlarmState(row["to_state"]),
                Severity(row["severity"]) if row["severity"] else None,
                row["value"],
            )
            for row in rows
        ]

    def acknowledge(
        self, rule: str, metric: str, by: str, comment: str, until: float | None, now: float
    ) -> AlarmRecord:
        """Acknowledge a FIRING or STALE alarm; raises NotAcknowledgeable (not a problem)
        or LookupError (no such alarm)."""
        table = schema.record
        with write_transaction(self.engine) as connection:
            query = sa.select(table.c.data, table.c.version).where(
                table.c.rule == rule, table.c.metric == metric
            )
            if connection.dialect.name == "postgresql":
                query = query.with_for_update()
            row = connection.execute(query).one_or_none()
            if row is None:
                raise LookupError(f"no alarm {rule} on {metric}")
            acked = acknowledge(record_from_dict(json.loads(row.data)), by, now, until, comment)
            connection.execute(
                table.update()
                .where(table.c.rule == rule, table.c.metric == metric)
                .values(_columns(acked, now, row.version + 1))
            )
        return acked

    # -- the daemon ---------------------------------------------------------------------

    def load(self) -> dict[Key, tuple[AlarmRecord, int]]:
        """Every record with its version."""
        return {(rec.rule, rec.metric): (rec, version) for rec, version in self._select()}

    def save(
        self,
        changes: Sequence[Change],
        messages: Sequence[Message],
        suppressed: Sequence[NotificationRow],
        now: float,
    ) -> list[Key]:
        """Write ``changes`` (with their transitions), ``messages`` as pending outbox rows and
        ``suppressed`` log rows, all in one transaction. If a record's version moved since
        it was read, nothing is written and the keys of those records are returned."""
        try:
            with write_transaction(self.engine) as connection:
                if changes:
                    _check_versions(connection, changes)
                _write_changes(connection, changes, now)
                write_messages(connection, messages, now)
                write_log(connection, suppressed, None)
        except _Moved as moved:  # the transaction was rolled back
            return moved.keys
        return []

    def forget_rules(self, keep: Iterable[str]) -> int:
        """Delete the records of rules no longer configured; returns how many."""
        table = schema.record
        with write_transaction(self.engine) as connection:
            result = connection.execute(table.delete().where(table.c.rule.not_in(list(keep))))
        return int(result.rowcount or 0)

    def prune(self, before: float, *, chunk: int = PRUNE_CHUNK) -> dict[str, int]:
        """Delete the history older than ``before``: transitions, log rows, check state
        changes and finished outbox messages (pending and to-be-retried ones stay, as do
        the records and the checks' newest results). Deletes ``chunk`` rows per
        transaction; returns how many rows of each kind went."""
        outbox = schema.outbox
        return {
            "transitions": self._delete_chunks(
                schema.transition, schema.transition.c.at < before, chunk
            ),
            "notifications": self._delete_chunks(
                schema.notification, schema.notification.c.at < before, chunk
            ),
            "messages": self._delete_chunks(
                outbox, sa.and_(outbox.c.status.in_(FINISHED), outbox.c.updated < before), chunk
            ),
            "check changes": self._delete_chunks(
                schema.check_change, schema.check_change.c.at < before, chunk
            ),
        }

    def _delete_chunks(self, table: sa.Table, condition: sa.ColumnElement[bool], chunk: int) -> int:
        deleted = 0
        while True:
            ids = sa.select(table.c.id).where(condition).order_by(table.c.id).limit(chunk)
            with write_transaction(self.engine) as connection:
                count = int(connection.execute(table.delete().where(table.c.id.in_(ids))).rowcount)
            deleted += count
            if count < chunk:
                return deleted

    def _select(
        self, rule: str | None = None, metric_glob: str | None = None
    ) -> list[tuple[AlarmRecord, int]]:
        table = schema.record
        query = sa.select(table.c.data, table.c.version, table.c.metric).order_by(
            table.c.rule, table.c.metric
        )
        if rule is not None:
            query = query.where(table.c.rule == rule)
        matches = None
        if metric_glob is not None:
            matches = glob_matcher(metric_glob)
            prefix = glob_prefix(metric_glob)
            if prefix == metric_glob:
                query = query.where(table.c.metric == prefix)
            elif prefix:
                query = query.where(table.c.metric.startswith(prefix + ".", autoescape=True))
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return [
            (record_from_dict(json.loads(row.data)), row.version)
            for row in rows
            if matches is None or matches(row.metric)
        ]


class _Moved(Exception):
    def __init__(self, keys: list[Key]) -> None:
        super().__init__(f"{len(keys)} records changed meanwhile")
        self.keys = keys


def _check_versions(connection: Connection, changes: Sequence[Change]) -> None:
    """Raise :class:`_Moved` if a record is not at the version it was read at."""
    table = schema.record
    if connection.dialect.name == "postgresql":  # SQLite: BEGIN IMMEDIATE already locks
        connection.exec_driver_sql("LOCK TABLE alarm_record IN EXCLUSIVE MODE")
    query = sa.select(table.c.rule, table.c.metric, table.c.version)
    keys = [(c.record.rule, c.record.metric) for c in changes]
    current: dict[Key, int] = {}
    if len(keys) <= VERSION_CHUNK * 4:  # the few changes of a steady cycle: by key
        pair = sa.tuple_(table.c.rule, table.c.metric)
        for start in range(0, len(keys), VERSION_CHUNK):
            chunk = query.where(pair.in_(keys[start : start + VERSION_CHUNK]))
            current.update(((r, m), v) for r, m, v in connection.execute(chunk).all())
    else:
        if len({rule for rule, _ in keys}) == 1:
            query = query.where(table.c.rule == keys[0][0])
        current = {(r, m): v for r, m, v in connection.execute(query).all()}
    moved = [
        (c.record.rule, c.record.metric)
        for c in changes
        if current.get((c.record.rule, c.record.metric)) != c.version
    ]
    if moved:
        raise _Moved(moved)


def _columns(rec: AlarmRecord, now: float, version: int) -> dict[str, object]:
    return {
        "state": rec.shown_state.value,
        "severity": rec.severity.value if rec.severity else None,
        "since": rec.since,
        "value": rec.value,
        "updated": now,
        "version": version,
        "data": json.dumps(record_to_dict(rec), separators=(",", ":")),
    }


def _write_changes(connection: Connection, changes: Sequence[Change], now: float) -> None:
    """Write ``changes`` in chunks: the rows of a first cycle at 100k (every record new)
    would otherwise be held as parameters at once."""
    for start in range(0, len(changes), WRITE_CHUNK):
        _write_chunk(connection, changes[start : start + WRITE_CHUNK], now)


def _write_chunk(connection: Connection, changes: Sequence[Change], now: float) -> None:
    table = schema.record
    inserts = []
    updates = []
    moves = []
    for change in changes:
        rec = change.record
        if change.version is None:
            inserts.append({"rule": rec.rule, "metric": rec.metric, **_columns(rec, now, 1)})
        else:
            values = _columns(rec, now, change.version + 1)
            updates.append({"k_rule": rec.rule, "k_metric": rec.metric, **values})
        before = change.previous
        from_state = before.shown_state if before is not None else AlarmState.OK
        from_severity = before.severity if before is not None else None
        if (from_state, from_severity) != (rec.shown_state, rec.severity):
            moves.append(
                {
                    "rule": rec.rule,
                    "metric": rec.metric,
                    "at": now,
                    "from_state": from_state.value,
                    "to_state": rec.shown_state.value,
                    "severity": rec.severity.value if rec.severity else None,
                    "value": rec.value,
                }
            )
    if inserts:
        connection.execute(table.insert(), inserts)
    if updates:
        statement = table.update().where(
            table.c.rule == sa.bindparam("k_rule"), table.c.metric == sa.bindparam("k_metric")
        )
        connection.execute(statement, updates)
    if moves:
        connection.execute(schema.transition.insert(), moves)
