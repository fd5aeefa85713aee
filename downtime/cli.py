"""``rexmon-downtime``: file, list, show, end, cancel, edit and export downtimes.

The author is the Unix user running the command; root may name another with
``--author`` (scripts run by sudo record ``$SUDO_USER``). The CLI works on the database
directly, so it applies no scope policy: whoever may write the database may file
anything. Times are read and shown in the site time zone (``site.timezone``).
"""

from __future__ import annotations

import functools
import getpass
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from sqlalchemy.engine import Engine

from downtime.config import Settings, load_settings
from downtime.display import details, table
from downtime.errors import InvalidDowntime
from downtime.ics import render_ics
from downtime.model import Draft, Effect, Kind
from downtime.policy import Actor, touches
from downtime.store import DowntimeStore
from rexmon.commandline import CONTEXT, config_option, require_config, version_option
from rexmon.database import open_database
from rexmon.errors import RexmonError
from rexmon.metric import validate_glob
from rexmon.timespec import TIME_HELP, parse_duration, parse_time

_OPTION_OF_FIELD = {"scopes": "scope", "kind": "unplanned", "occurrence": "occurrence"}


@dataclass
class Cli:
    """What every command gets through ``ctx.obj``: the config and the store are loaded on
    first use, so ``--help`` needs neither a config file nor a database."""

    config_path: Path | None
    clock: Callable[[], float]
    author: str
    _engine: Engine | None = None

    @functools.cached_property
    def settings(self) -> Settings:
        found = require_config(self.config_path)
        with _user_errors():
            return load_settings(found.path)

    @functools.cached_property
    def store(self) -> DowntimeStore:
        with _user_errors():
            self._engine = open_database(self.settings.database.url)
            store = DowntimeStore(self._engine, clock=self.clock)
            store.migrate()
        return store

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    def now(self) -> int:
        return int(self.clock())

    def time(self, option: str, text: str) -> int:
        try:
            return parse_time(text, self.clock(), self.settings.site.timezone)
        except RexmonError as exc:
            raise click.ClickException(f"--{option}: {exc}") from None

    def actor(self) -> Actor:
        return Actor(self.author)


@contextmanager
def _user_errors() -> Iterator[None]:
    try:
        yield
    except InvalidDowntime as exc:
        option = _OPTION_OF_FIELD.get(exc.field, exc.field)
        raise click.ClickException(f"--{option}: {exc.message}") from None
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None


def _author(requested: str | None) -> str:
    user = getpass.getuser()
    if os.geteuid() == 0 and os.environ.get("SUDO_USER"):
        user = os.environ["SUDO_USER"]
    if requested is None:
        return user
    if os.geteuid() != 0:
        raise click.ClickException("--author: only root may file in another's name")
    return requested


@click.group(context_settings=CONTEXT)
@config_option("The rexmon config file (its database: and site: sections).")
@click.option("--author", help="Record another author (root only).")
@version_option()
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, author: str | None) -> None:
    """Planned and unplanned downtimes: file, list, end, cancel, export."""
    preset: dict[str, Any] = ctx.obj if isinstance(ctx.obj, dict) else {}
    cli = Cli(config_path, preset.get("clock", time.time), _author(author))
    ctx.call_on_close(cli.close)
    ctx.obj = cli


def _window(cli: Cli, start: str, end: str | None, duration: str | None) -> tuple[int, int]:
    first = cli.time("start", start)
    if end is not None:
        return first, cli.time("end", end)
    assert duration is not None
    try:
        return first, first + parse_duration(duration)
    except RexmonError as exc:
        raise click.ClickException(f"--duration: {exc}") from None


_scope = click.option("--scope", "scopes", multiple=True, help="Metric glob (repeatable).")
_effect = click.option(
    "--effect", type=click.Choice([e.value for e in Effect]), help="Effect on alarms."
)


@main.command()
@click.option("--scope", "scopes", multiple=True, required=True, help="Metric glob (repeatable).")
@click.option("--start", default="now", show_default=True, help=TIME_HELP)
@click.option("--end", help="End time (or give --duration).")
@click.option("--duration", help="Length like 4h (flexible: how long once triggered).")
@click.option("--reason", required=True)
@click.option("--unplanned", is_flag=True, help="An unplanned downtime (default: planned).")
@_effect
@click.option("--rrule", help="RFC 5545 RRULE, e.g. 'FREQ=MONTHLY;BYDAY=3TU'.")
@click.option("--until", help="Last start of a recurring window.")
@click.option("--timezone", help="Zone a series recurs in (default: the site zone).")
@click.option("--flexible", is_flag=True, help="Starts only when a problem appears.")
@click.pass_obj
def add(
    cli: Cli,
    scopes: tuple[str, ...],
    start: str,
    end: str | None,
    duration: str | None,
    reason: str,
    unplanned: bool,
    effect: str | None,
    rrule: str | None,
    until: str | None,
    timezone: str | None,
    flexible: bool,
) -> None:
    """File a downtime."""
    if flexible and (end is None or duration is None):
        raise click.UsageError("--flexible needs the window (--start, --end) and --duration")
    if not flexible and (end is None) == (duration is None):
        raise click.UsageError("give exactly one of --end and --duration")
    first, last = _window(cli, start, end, None if flexible else duration)
    draft = Draft(
        scopes=scopes,
        start=first,
        end=last,
        reason=reason,
        kind=Kind.UNPLANNED if unplanned else Kind.PLANNED,
        effect=None if effect is None else Effect(effect),
        rrule=rrule,
        until=None if until is None else cli.time("until", until),
        timezone=timezone or cli.settings.site.timezone.key,
        flexible=flexible,
        duration=_duration(duration) if flexible else None,
    )
    with _user_errors():
        added = cli.store.add(draft, cli.actor())
    click.echo(f"added downtime {added.id}")
    click.echo(
        details(added, cli.store.audit_trail(added.id), cli.now(), cli.settings.site.timezone)
    )


def _duration(text: str | None) -> int | None:
    try:
        return None if text is None else parse_duration(text)
    except RexmonError as exc:
        raise click.ClickException(f"--duration: {exc}") from None


@main.command("list")
@click.option("--active", "state", flag_value="active", help="In effect now.")
@click.option("--upcoming", "state", flag_value="upcoming", help="Still to come.")
@click.option("--past", "state", flag_value="past", help="Over or cancelled.")
@click.option("--scope", help="Only downtimes touching this metric or glob.")
@click.pass_obj
def list_(cli: Cli, state: str | None, scope: str | None) -> None:
    """List downtimes (default: all)."""
    with _user_errors():
        found = cli.store.find(state or "all", at=cli.now())
        if scope is not None:
            found = [d for d in found if touches(d.scopes, validate_glob(scope))]
    if not found:
        click.echo("no downtimes")
        return
    click.echo(table(found, cli.now(), cli.settings.site.timezone))


@main.command()
@click.argument("downtime_id", type=int)
@click.pass_obj
def show(cli: Cli, downtime_id: int) -> None:
    """Show one downtime with its audit trail."""
    with _user_errors():
        downtime = cli.store.get(downtime_id)
        trail = cli.store.audit_trail(downtime_id)
    click.echo(details(downtime, trail, cli.now(), cli.settings.site.timezone))


@main.command()
@click.argument("downtime_id", type=int)
@click.pass_obj
def end(cli: Cli, downtime_id: int) -> None:
    """End a downtime now (a whole series)."""
    with _user_errors():
        cli.store.end(downtime_id, cli.actor())
    click.echo(f"ended downtime {downtime_id}")


@main.command()
@click.argument("downtime_id", type=int)
@click.pass_obj
def cancel(cli: Cli, downtime_id: int) -> None:
    """Cancel a downtime: as if it had never been filed (kept for the record)."""
    with _user_errors():
        cli.store.cancel(downtime_id, cli.actor())
    click.echo(f"cancelled downtime {downtime_id}")


@main.command()
@click.argument("downtime_id", type=int)
@_scope
@click.option("--start", help=TIME_HELP)
@click.option("--end")
@click.option("--duration", help="New length from the (new) start.")
@click.option("--reason")
@click.option("--planned/--unplanned", default=None)
@_effect
@click.option("--rrule")
@click.option("--until")
@click.option("--occurrence", help="Change only the window of a series starting then.")
@click.option("--cancel-occurrence", is_flag=True, help="With --occurrence: drop that window.")
@click.pass_obj
def edit(
    cli: Cli,
    downtime_id: int,
    scopes: tuple[str, ...],
    start: str | None,
    end: str | None,
    duration: str | None,
    reason: str | None,
    planned: bool | None,
    effect: str | None,
    rrule: str | None,
    until: str | None,
    occurrence: str | None,
    cancel_occurrence: bool,
) -> None:
    """Change a downtime (or with --occurrence one window of a series)."""
    if end is not None and duration is not None:
        raise click.UsageError("give at most one of --end and --duration")
    with _user_errors():
        current = cli.store.get(downtime_id)
    first = None if start is None else cli.time("start", start)
    last = None if end is None else cli.time("end", end)
    if occurrence is not None:
        at = cli.time("occurrence", occurrence)
        if duration is not None:
            last = (first or at) + (_duration(duration) or 0)
        with _user_errors():
            cli.store.edit_occurrence(
                downtime_id, cli.actor(), at, start=first, end=last, cancel=cancel_occurrence
            )
        click.echo(f"changed one window of downtime {downtime_id}")
        return
    changes: dict[str, Any] = {}
    if scopes:
        changes["scopes"] = scopes
    if first is not None:
        changes["start"] = first
        if last is None and duration is None:  # keep the length
            changes["end"] = first + current.end - current.start
    if last is not None:
        changes["end"] = last
    if duration is not None:
        changes["end"] = (first or current.start) + (_duration(duration) or 0)
    if reason is not None:
        changes["reason"] = reason
    if planned is not None:
        changes["kind"] = Kind.PLANNED if planned else Kind.UNPLANNED
    if effect is not None:
        changes["effect"] = Effect(effect)
    if rrule is not None:
        changes["rrule"] = rrule or None  # --rrule '' makes it a single window again
        if not rrule:
            changes["until"] = None
    if until is not None:
        changes["until"] = cli.time("until", until)
    if not changes:
        raise click.UsageError("nothing to change")
    with _user_errors():
        cli.store.edit(downtime_id, cli.actor(), **changes)
    click.echo(f"changed downtime {downtime_id}")


@main.command()
@click.option("--ics", is_flag=True, required=True, help="RFC 5545 iCalendar (the only format).")
@click.option("--output", type=click.File("w", encoding="utf-8"), default="-")
@click.pass_obj
def export(cli: Cli, ics: bool, output: Any) -> None:
    """Export every downtime (cancelled ones marked so)."""
    with _user_errors():
        text = render_ics(cli.store.find("all", at=cli.now()))
    output.write(text)
