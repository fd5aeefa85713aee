"""``rexmon-slurp NAME``: run one slurper instance once (what the systemd timer starts).

Exit codes: 0 all delivered; 1 bad configuration or usage; 3 partial (a part of the source
failed, or the server rejected samples or a batch); 4 server unavailable, batch spooled;
5 token refused or unreadable, batch spooled; 6 another run of the instance was busy,
batch spooled. Logs go to stderr without timestamps (journald adds them) and carry
syslog priority prefixes when stderr is the journal.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

import click

from rexmon.commandline import CONTEXT, require_config, version_option
from rexmon.errors import ConfigError
from rexmon.logs import configure_logging
from slurpers.config import SlurperConfig, check_server_url, load_config
from slurpers.registry import standard_registry
from slurpers.runner import LOGGER, run_instance
from slurpers.source import Source

CONFIG_NAME = "slurpers.yaml"
CONFIG_ENV = "REXMON_SLURPERS_CONFIG"


def setup_logging(verbose: bool) -> None:
    """Log lines of ``rexmon.slurp.*`` to stderr (see :mod:`rexmon.logs`)."""
    configure_logging(LOGGER, verbose=verbose)


def _load(path: Path, registry: Mapping[str, Source]) -> SlurperConfig:
    try:
        return load_config(path, registry)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.command(context_settings=CONTEXT)
@click.argument("name", required=False)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"The slurpers YAML file  [default: ${CONFIG_ENV}, etc/{CONFIG_NAME},"
    f" /etc/rexmon/{CONFIG_NAME}]",
)
@click.option(
    "--server",
    "server_url",
    envvar="REXMON_SERVER",
    help="Push to this server URL instead of the configured one.",
)
@click.option("--dry-run", is_flag=True, help="Print the samples instead of sending them.")
@click.option("--verbose", "-v", is_flag=True, help="Log debug messages too.")
@click.option("--list", "list_instances", is_flag=True, help="List the configured instances.")
@click.option("--check-config", is_flag=True, help="Validate the configuration and exit.")
@version_option()
@click.pass_context
def main(
    ctx: click.Context,
    name: str | None,
    config_path: Path | None,
    server_url: str | None,
    dry_run: bool,
    verbose: bool,
    list_instances: bool,
    check_config: bool,
) -> None:
    """Run the slurper instance NAME once: collect, then push (or spool)."""
    found = require_config(config_path, CONFIG_NAME, CONFIG_ENV)
    config_path = found.path
    config = _load(config_path, standard_registry())
    if server_url is not None:
        try:
            url = check_server_url(server_url)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--server") from None
        config = replace(config, server=replace(config.server, url=url))
    ctx.obj = config
    if list_instances:
        for item in config.instances.values():
            click.echo(f"{item.name}\t{item.source.name}\t{'.'.join(item.prefix)}")
        return
    if check_config:
        click.echo(f"{config_path}: OK ({len(config.instances)} instances)")
        return
    if name is None:
        raise click.UsageError("give an instance NAME (or --list)")
    instance = config.instances.get(name)
    if instance is None:
        known = ", ".join(config.instances) or "none"
        raise click.ClickException(f"no instance {name!r} in {config_path} (known: {known})")
    setup_logging(verbose)
    logging.getLogger(LOGGER).debug("%s", found.describe())
    out = sys.stdout if dry_run else None
    try:
        summary = run_instance(config, instance, dry_run=dry_run, out=out)
    except OSError as exc:
        # the spool could not be written: this run's samples are lost, say so loudly
        raise click.ClickException(f"spool {config.spool.dir}: {exc}") from None
    logging.getLogger(LOGGER).info("summary %s", summary.line())
    ctx.exit(summary.exit_code)
