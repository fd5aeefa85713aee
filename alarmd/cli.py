"""``rexmon-alarmd``: the alarm daemon's command line (``run``, ``check-config``)."""

from __future__ import annotations

import dataclasses
import logging
import os
import sys
from pathlib import Path

import click

from alarmd.config import load_daemon_settings
from alarmd.daemon import Daemon, DaemonConfig
from alarmd.notify import Notifier
from alarmd.rules import AlarmConfig, load_config
from alarmd.sdnotify import SystemdNotifier
from downtime.store import DowntimeStore
from rexmon.database import open_database
from rexmon.errors import RexmonError
from rexmon.timespec import format_duration, parse_duration
from rrdarchive.archive import Archive

DEFAULT_RULES = "etc/alarms.yaml"
DEFAULT_CONFIG = "etc/rexmon.yaml"


@click.group()
def main() -> None:
    """rexmon alarm daemon: threshold rules, alarm states, notifications."""


@main.command("check-config")
@click.option(
    "--rules",
    "rules_path",
    default=DEFAULT_RULES,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The alarm rules and receivers file.",
)
def check_config(rules_path: Path) -> None:
    """Validate rules and receivers and print a summary (URLs redacted)."""
    try:
        config = load_config(rules_path, os.environ)
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None
    for line in summary(config):
        click.echo(line)


@main.command("run")
@click.option(
    "--config",
    "config_path",
    default=DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The server config (archive, database, site and alarmd sections).",
)
@click.option(
    "--rules",
    "rules_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The alarm rules file  [default: alarmd.rules of the config, else alarms.yaml next to it]",
)
@click.option("--once", is_flag=True, help="Run one cycle, wait for its sends, and exit.")
@click.option("--interval", default=None, help="Seconds between cycles, e.g. 30s  [default: 30s]")
def run(config_path: Path, rules_path: Path | None, once: bool, interval: str | None) -> None:
    """Evaluate the alarm rules every interval and notify (SIGHUP reloads the rules)."""
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = load_daemon_settings(config_path)
        alarmd = settings.alarmd
        if rules_path is not None:
            alarmd = dataclasses.replace(alarmd, rules=rules_path.absolute())
        if interval is not None:
            seconds = parse_duration(interval)
            if seconds <= 0:
                raise click.BadParameter("must be longer than 0s", param_hint="--interval")
            alarmd = dataclasses.replace(alarmd, interval=seconds)
        rules_file = alarmd.rules
        rules = load_config(rules_file, os.environ)
        engine = open_database(settings.database.url)
        downtimes = DowntimeStore(engine)
        downtimes.migrate()
        archive = Archive(settings.archive)
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None
    config = DaemonConfig(
        rules, alarmd, settings.zone, load_rules=lambda: load_config(rules_file, os.environ)
    )
    notifier = Notifier(rules.receivers, timeout=alarmd.send_timeout)
    daemon = Daemon(config, archive, downtimes, notifier, systemd=SystemdNotifier(os.environ))
    try:
        daemon.store.migrate()
        if once:
            report = daemon.tick()
            daemon.close()
            if not report.active:
                click.echo("another alarmd holds the lock: nothing done", err=True)
                return
            click.echo(
                f"{report.pairs} alarms, {report.changed} changed, {report.events} events,"
                f" {report.messages} messages, {report.dispatched} sent or retried,"
                f" {report.errors} errors, {report.seconds:.2f}s"
            )
        else:
            daemon.run()
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        archive.close()
        engine.dispose()


def summary(config: AlarmConfig) -> list[str]:
    """Lines describing a loaded config; URLs are shown redacted."""
    lines = [f"{config.source}: OK, {len(config.rules)} rules, {len(config.receivers)} receivers"]
    lines.append(f"graph links: {config.base_url}/metric/<metric>")
    for receiver in config.receivers.values():
        lines.append(f"receiver {receiver.name}:")
        lines.extend(f"  {url}" for url in receiver.shown)
    for rule in config.rules:
        lines.append(f"rule {rule.name}: {rule.match}")
        for severity, fire, clear in rule.levels():
            lines.append(f"  {severity.value}: {fire}   clear: {clear}")
        extras = [f"for {format_duration(rule.hold)}"] if rule.hold else []
        if rule.nodata is not None:
            extras.append(f"nodata {format_duration(rule.nodata)}")
        if rule.repeat is not None:
            extras.append(f"repeat {format_duration(rule.repeat)}")
        extras.append("receivers " + (", ".join(rule.receivers) or "none"))
        lines.append("  " + "; ".join(extras))
    return lines
