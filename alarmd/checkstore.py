"""Check results in the shared database: the newest result of each check and the history
of its state changes.

The web app writes (``POST /api/v1/checks``), alarmd and the pages read::

    store = AlarmStore(engine).checks        # its tables come with alarmd's migrations
    store.submit([result, ...], now)         # newest-wins; a replayed or older result is a no-op
    store.current("nagios.node01.*")         # StoredCheck, by name
    store.history("nagios.node01.disk_root")  # CheckChange, newest first

A result older than (or as old as) the stored one changes nothing, so a slurper that
sends its spool again after a lost answer is harmless, and results arriving out of order
never step a check back. Only state changes are kept as history (with the text of the
result that brought them); the current row holds the newest text.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from alarmd import schema
from rexmon.checkresult import CheckResult, CheckState, perfdatum_from_json
from rexmon.database import write_transaction
from rexmon.metric import glob_matcher, glob_prefix

_PG_SUBMIT_LOCK = 0x7265786E  # advisory lock id: check submissions take turns
_SELECT_CHUNK = 500  # names per IN (...): well below every database's parameter limit


@dataclass(frozen=True)
class StoredCheck:
    """A check as the server knows it: its newest result, and since when it has been in
    that result's state."""

    result: CheckResult
    since: int
    received: float

    @property
    def name(self) -> str:
        return self.result.check

    @property
    def state(self) -> CheckState:
        return self.result.state

    @property
    def time(self) -> int:
        return self.result.time


@dataclass(frozen=True)
class CheckChange:
    """One change of a check's state (``before`` None: its first result)."""

    check: str
    at: int
    before: CheckState | None
    after: CheckState
    output: str


class CheckStore:
    """The ``check_result`` and ``check_change`` tables (created by alarmd's migrations)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def submit(self, results: Sequence[CheckResult], now: float) -> int:
        """Store ``results`` in one transaction; returns how many were newer than what was
        stored (the others were already known or older, and change nothing).

        Writers take turns (SQLite's write lock, an advisory lock on PostgreSQL), so two
        senders' first results of one check cannot both insert it."""
        if not results:
            return 0
        with write_transaction(self.engine) as connection:
            if connection.dialect.name == "postgresql":
                connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_SUBMIT_LOCK)))
            known = _known(connection, {result.check for result in results})
            batch = _Batch()
            for result in sorted(results, key=lambda r: r.time):
                known[result.check] = batch.take(result, known.get(result.check), now)
            batch.write(connection)
        return batch.newer

    def current(self, glob: str = "*") -> list[StoredCheck]:
        """The checks whose name matches ``glob``, by name."""
        table = schema.check_result
        query = sa.select(table).order_by(table.c.check_name)
        prefix = glob_prefix(glob)
        if prefix:
            query = query.where(table.c.check_name.startswith(prefix, autoescape=True))
        matches = glob_matcher(glob)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [_stored(row) for row in rows if matches(row["check_name"])]

    def problems(self, limit: int) -> tuple[list[StoredCheck], int]:
        """The ``limit`` worst checks not OK (CRITICAL, UNKNOWN, WARNING; longest first)
        and how many there are."""
        table = schema.check_result
        not_ok = table.c.state != CheckState.OK.name
        worst = sa.case(
            {state.name: -state.rank for state in CheckState}, value=table.c.state, else_=0
        )
        query = sa.select(table).where(not_ok).order_by(worst, table.c.since).limit(limit)
        with self.engine.connect() as connection:
            total = connection.execute(sa.select(sa.func.count()).where(not_ok)).scalar_one()
            rows = connection.execute(query).mappings().all()
        return [_stored(row) for row in rows], int(total)

    def versions(self) -> dict[str, int]:
        """check name -> the time of its newest result: what a reader that keeps the
        checks needs to fetch only those that changed (see :meth:`get_many`)."""
        table = schema.check_result
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(table.c.check_name, table.c.time))
            return {row.check_name: row.time for row in rows}

    def get_many(self, names: Sequence[str]) -> list[StoredCheck]:
        table = schema.check_result
        found = []
        with self.engine.connect() as connection:
            for start in range(0, len(names), _SELECT_CHUNK):
                chunk = list(names[start : start + _SELECT_CHUNK])
                query = sa.select(table).where(table.c.check_name.in_(chunk))
                found += [_stored(row) for row in connection.execute(query).mappings()]
        return found

    def of_metric(self, metric: str) -> list[StoredCheck]:
        """The checks whose newest result sent ``metric`` (a plugin's checks are named by
        a prefix of their samples' ids, so only those prefixes are looked up)."""
        parts = metric.split(".")
        names = [".".join(parts[:n]) for n in range(2, len(parts))]
        table = schema.check_result
        with self.engine.connect() as connection:
            rows = connection.execute(sa.select(table).where(table.c.check_name.in_(names)))
            found = [_stored(row) for row in rows.mappings()]
        return [c for c in found if any(p.metric == metric for p in c.result.perfdata)]

    def get(self, name: str) -> StoredCheck | None:
        table = schema.check_result
        with self.engine.connect() as connection:
            row = (
                connection.execute(sa.select(table).where(table.c.check_name == name))
                .mappings()
                .one_or_none()
            )
        return None if row is None else _stored(row)

    def history(
        self, name: str, *, start: int | None = None, limit: int = 200
    ) -> list[CheckChange]:
        """The state changes of check ``name``, newest first (since ``start``)."""
        table = schema.check_change
        query = (
            sa.select(table)
            .where(table.c.check_name == name)
            .order_by(table.c.at.desc(), table.c.id.desc())
            .limit(limit)
        )
        if start is not None:
            query = query.where(table.c.at >= start)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return [
            CheckChange(
                row["check_name"],
                row["at"],
                CheckState[row["from_state"]] if row["from_state"] else None,
                CheckState[row["to_state"]],
                row["output"],
            )
            for row in rows
        ]


Known = tuple[str, int, int]  # state, since, time of a stored check


def _known(connection: Connection, names: set[str]) -> dict[str, Known]:
    table = schema.check_result
    found: dict[str, Known] = {}
    ordered = sorted(names)
    for start in range(0, len(ordered), _SELECT_CHUNK):
        chunk = ordered[start : start + _SELECT_CHUNK]
        query = sa.select(table.c.check_name, table.c.state, table.c.since, table.c.time).where(
            table.c.check_name.in_(chunk)
        )
        for row in connection.execute(query):
            found[row.check_name] = (row.state, row.since, row.time)
    return found


class _Batch:
    """The rows one :meth:`CheckStore.submit` writes, written with one statement each."""

    def __init__(self) -> None:
        self.inserts: dict[str, dict[str, Any]] = {}
        self.updates: dict[str, dict[str, Any]] = {}
        self.changes: list[dict[str, Any]] = []
        self.newer = 0

    def take(self, result: CheckResult, known: Known | None, now: float) -> Known:
        """Add ``result`` to the rows to write unless ``known`` is as new; returns what is
        known of its check afterwards."""
        if known is not None and result.time <= known[2]:
            return known
        self.newer += 1
        name = result.check
        columns = _columns(result, now)
        before = None if known is None else known[0]
        moved = before != result.state.name
        since = result.time if moved or known is None else known[1]
        if moved:
            self.changes.append(
                {
                    "check_name": name,
                    "at": result.time,
                    "from_state": before,
                    "to_state": result.state.name,
                    "output": result.output,
                }
            )
        if name in self.inserts or known is None:  # new, maybe already earlier in this batch
            self.inserts[name] = {"check_name": name, "since": since, **columns}
        else:
            self.updates[name] = {"b_name": name, "since": since, **columns}
        return result.state.name, since, result.time

    def write(self, connection: Connection) -> None:
        table = schema.check_result
        if self.inserts:
            connection.execute(table.insert(), list(self.inserts.values()))
        if self.updates:
            statement = table.update().where(table.c.check_name == sa.bindparam("b_name"))
            connection.execute(statement, list(self.updates.values()))
        if self.changes:
            connection.execute(schema.check_change.insert(), self.changes)


def _columns(result: CheckResult, now: float) -> dict[str, Any]:
    return {
        "state": result.state.name,
        "time": result.time,
        "received": now,
        "exit_status": result.exit_status,
        "output": result.output,
        "long_output": result.long_output,
        "perfdata": json.dumps([item.to_json() for item in result.perfdata]),
    }


def _stored(row: Any) -> StoredCheck:
    result = CheckResult(
        check=row["check_name"],
        time=row["time"],
        state=CheckState[row["state"]],
        output=row["output"],
        long_output=row["long_output"],
        perfdata=tuple(perfdatum_from_json(item) for item in json.loads(row["perfdata"])),
        exit_status=row["exit_status"],
    )
    return StoredCheck(result, row["since"], row["received"])
