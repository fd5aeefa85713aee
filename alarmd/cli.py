"""``rexmon-alarmd``: the alarm daemon's command line (``run``, ``check-config``)."""

from __future__ import annotations

import dataclasses
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import click
import sqlalchemy.exc

from alarmd.checkrules import describe_states
from alarmd.config import DaemonConfig, DaemonSettings, load_daemon_settings
from alarmd.daemon import Daemon
from alarmd.importthresholds import rules_yaml, threshold_rules
from alarmd.notify import Notifier
from alarmd.rules import AlarmConfig, load_config
from alarmd.sdnotify import SystemdNotifier
from alarmd.statestore import AlarmStore
from downtime.store import DowntimeStore
from rexmon.commandline import (
    CONTEXT,
    config_option,
    duration_option,
    find_config,
    load_required,
    version_option,
)
from rexmon.database import open_database
from rexmon.errors import InvalidMetricName, RexmonError
from rexmon.logs import FORMATS, configure_logging
from rexmon.metric import validate_glob
from rexmon.timespec import format_duration
from rrdarchive.archive import Archive
from rrdarchive.listing import globs_matching_nothing

log = logging.getLogger(__name__)
_rules_option = click.option(
    "--rules",
    "rules_path",
    default=None,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The alarm rules file  [default: alarmd.rules of the config, else alarms.yaml next to it]",
)


@dataclass
class AlarmdCli:
    """``ctx.obj`` of every command: where the config is; read on first use."""

    config_path: Path | None

    def settings(self, override: Path | None = None) -> DaemonSettings:
        return load_required(override or self.config_path, load_daemon_settings, log)

    def rules_file(self, rules_path: Path | None) -> Path:
        """``--rules``, else the config's ``alarmd.rules``."""
        if rules_path is not None:
            return rules_path.absolute()
        return self.settings().alarmd.rules


@click.group(context_settings=CONTEXT)
@config_option("The server config (archive, database, site and alarmd sections).")
@version_option()
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """rexmon alarm daemon: threshold rules, alarm states, notifications."""
    ctx.obj = AlarmdCli(config_path)


@main.command("check-config")
@_rules_option
@click.pass_obj
def check_config(cli: AlarmdCli, rules_path: Path | None) -> None:
    """Validate rules and receivers and print a summary (URLs redacted)."""
    try:
        config = load_config(cli.rules_file(rules_path), os.environ)
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None
    for line in summary(config):
        click.echo(line)
    for warning in [*config.warnings, *_rules_matching_nothing(cli, config)]:
        click.echo(f"warning: {warning}", err=True)


def _rules_matching_nothing(cli: AlarmdCli, config: AlarmConfig) -> list[str]:
    """A rule whose glob matches no metric in the archive is a typo or data yet to come."""
    if find_config(cli.config_path) is None:
        return []  # only a rules file given: no archive to look in
    root = cli.settings().archive.root
    return [
        f"rule {rule.name!r}: match {rule.match!r} matches no metric in {root} (yet)"
        for rule in config.rules
        if not rule.check and rule.match in globs_matching_nothing(root, [rule.match])
    ]


@main.command("import-thresholds")
@click.option("--scope", default="*", show_default=True, help="Only the checks matching this glob.")
@click.option(
    "--receiver", "receivers", multiple=True, help="Send the rules to this receiver (repeatable)."
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the rules to this file  [default: standard output]",
)
@click.pass_obj
def import_thresholds(
    cli: AlarmdCli, scope: str, receivers: tuple[str, ...], output: Path | None
) -> None:
    """Turn the thresholds in the plugins' perfdata into alarm rules (YAML to review)."""
    try:
        scope = validate_glob(scope)
    except InvalidMetricName as exc:
        raise click.BadParameter(str(exc), param_hint="--scope") from None
    settings = cli.settings()
    engine = open_database(settings.database.url)
    try:
        store = AlarmStore(engine)
        store.migrate()
        checks = store.checks.current(scope)
    except sqlalchemy.exc.SQLAlchemyError as exc:
        raise click.ClickException(
            f"cannot read the check results: {getattr(exc, 'orig', exc)}"
        ) from None
    finally:
        engine.dispose()
    rules = threshold_rules(checks)
    text = rules_yaml(rules, receivers)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text)
    where = "" if output is None else f" to {output}"
    click.echo(f"{len(rules)} rules from the perfdata of {len(checks)} checks{where}", err=True)


@main.command("run")
@config_option("The server config (as the group's --config; kept for the systemd unit).")
@_rules_option
@click.option("--once", is_flag=True, help="Run one cycle, wait for its sends, and exit.")
@duration_option("--interval", minimum=1, help="Seconds between cycles, e.g. 30s  [default: 30s]")
@click.option(
    "--log-format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text (with journald priorities under systemd) or one JSON object per line.",
)
@click.pass_obj
def run(
    cli: AlarmdCli,
    config_path: Path | None,
    rules_path: Path | None,
    once: bool,
    interval: int | None,
    log_format: str,
) -> None:
    """Evaluate the alarm rules every interval and notify (SIGHUP reloads the rules)."""
    configure_logging(log_format=log_format, prefix="%(name)s: ")
    settings = cli.settings(config_path)
    alarmd = settings.alarmd
    if rules_path is not None:
        alarmd = dataclasses.replace(alarmd, rules=rules_path.absolute())
    if interval is not None:
        alarmd = dataclasses.replace(alarmd, interval=interval)
    rules_file = alarmd.rules
    try:
        rules = load_config(rules_file, os.environ)
        for warning in rules.warnings:
            log.warning("%s", warning)
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
        lines.append(f"rule {rule.name}: {'check ' if rule.check else ''}{rule.match}")
        if rule.check:
            lines.append(f"  alarms on the check's state: {describe_states(rule.warning)}")
        else:
            for severity, fire, clear in rule.levels():
                lines.append(f"  {severity.value}: {fire}   clear: {clear}")
            for severity in rule.from_plugin:
                lines.append(f"  {severity.value}: the thresholds the plugin sends")
        extras = [f"for {format_duration(rule.hold)}"] if rule.hold else []
        if rule.nodata is not None:
            extras.append(f"nodata {format_duration(rule.nodata)}")
        if rule.repeat is not None:
            extras.append(f"repeat {format_duration(rule.repeat)}")
        extras.append("receivers " + (", ".join(rule.receivers) or "none"))
        lines.append("  " + "; ".join(extras))
    return lines
