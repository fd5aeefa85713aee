"""``rexmon-archive``: look at the archive from a shell (check the config, list, info, fetch).

The config is the server config (``etc/rexmon.yaml``); only its ``archive:`` section is
read. Relative paths in it are relative to the directory of that file.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import click

from rexmon.commandline import CONTEXT, config_option, require_config, version_option
from rexmon.errors import RexmonError
from rexmon.timespec import format_duration, format_time, parse_time, site_zone
from rexmon.yamlconf import load_yaml
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig, archive_config_from_node
from rrdarchive.filesize import file_bytes, format_bytes
from rrdarchive.listing import globs_matching_nothing
from rrdarchive.schemas import CATCH_ALL


def load_archive_config(path: Path) -> ArchiveConfig:
    """The ``archive:`` section of a server config file."""
    root = load_yaml(path)
    return archive_config_from_node(root["archive"], path.resolve().parent)


@dataclass
class ArchiveCli:
    """``ctx.obj`` of every command: the config is read on first use, so ``--help`` of a
    subcommand works without a config file."""

    config_path: Path | None
    zone_name: str

    @functools.cached_property
    def zone(self) -> ZoneInfo:
        try:
            return site_zone(self.zone_name)
        except RexmonError as exc:
            raise click.BadParameter(str(exc), param_hint="--zone") from None

    @functools.cached_property
    def config(self) -> ArchiveConfig:
        found = require_config(self.config_path)
        try:
            return load_archive_config(found.path)
        except RexmonError as exc:
            raise click.ClickException(str(exc)) from None

    def open(self) -> Archive:
        try:
            return Archive(self.config)
        except RexmonError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(context_settings=CONTEXT)
@config_option("The server config; its archive: section is used.")
@click.option("--zone", default="UTC", show_default=True, help="Time zone for times shown/read.")
@version_option()
@click.pass_context
def main(ctx: click.Context, config_path: Path | None, zone: str) -> None:
    """Inspect the rexmon RRD archive."""
    ctx.obj = ArchiveCli(config_path, zone)


@main.command("check-config")
@click.option(
    "--metrics",
    type=click.IntRange(min=1),
    default=10_000,
    show_default=True,
    help="Say how much disk this many metrics of each schema need.",
)
@click.pass_obj
def check_config(cli: ArchiveCli, metrics: int) -> None:
    """Validate the config and the schemas; print what they say and the disk they take."""
    config = cli.config
    click.echo(f"archive root: {config.root}")
    click.echo(f"schemas:      {config.schemas.source} ({len(config.schemas.schemas)})")
    for schema in config.schemas.schemas:
        tiers = ", ".join(str(tier) for tier in schema.tiers)
        kind = schema.type.value if schema.type else "hint or GAUGE"
        cfs = "/".join(schema.consolidation)
        size = file_bytes(schema)
        click.echo(
            f"  {schema.match}: step {format_duration(schema.step)}, {kind}, {tiers} ({cfs})"
        )
        click.echo(
            f"    {format_bytes(size)} per metric, {format_bytes(size * metrics)}"
            f" for {metrics:,} metrics"
        )
    if config.rrdcached:
        click.echo(f"rrdcached:    {config.rrdcached} (write-ahead log in {config.wal_dir})")
    else:
        click.echo("rrdcached:    none (direct writes)")
    specific = [schema.match for schema in config.schemas.schemas if schema.match != CATCH_ALL]
    for glob in globs_matching_nothing(config.root, specific):
        click.echo(f"warning: schema {glob!r} matches no metric in {config.root} (yet)", err=True)
    click.echo("config OK")


@main.command("list")
@click.argument("glob", default="*")
@click.pass_obj
def list_command(cli: ArchiveCli, glob: str) -> None:
    """List the metrics matching GLOB ('*' also matches dots)."""
    with cli.open() as archive:
        try:
            names = archive.list_metrics(glob)
        except (RexmonError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    for name in names:
        click.echo(name)


@main.command()
@click.argument("metric")
@click.pass_obj
def info(cli: ArchiveCli, metric: str) -> None:
    """Show step, type, archives and last update of METRIC."""
    zone = cli.zone
    with cli.open() as archive:
        try:
            data = archive.info(metric)
        except (RexmonError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    for key in ("metric", "file", "step", "type", "heartbeat", "min", "max"):
        click.echo(f"{key}: {data[key]}")
    click.echo(f"last_update: {data['last_update']} ({format_time(data['last_update'], zone)})")
    for rra in data["rras"]:
        click.echo(
            f"rra: {rra['cf']} every {format_duration(rra['resolution'])}"
            f" kept {format_duration(rra['keep'])} (xff {rra['xff']})"
        )


@main.command()
@click.argument("metric")
@click.option("--start", default="-1h", show_default=True, help="Start time (e.g. -1d).")
@click.option("--end", default="now", show_default=True, help="End time.")
@click.option("--cf", default="AVERAGE", show_default=True, help="Consolidation function.")
@click.option("--resolution", type=int, default=None, help="Seconds per point wanted.")
@click.pass_obj
def fetch(
    cli: ArchiveCli, metric: str, start: str, end: str, cf: str, resolution: int | None
) -> None:
    """Print the values of METRIC between --start and --end, one 'time value' a line."""
    zone = cli.zone
    now = time.time()
    with cli.open() as archive:
        try:
            series = archive.fetch(
                metric, parse_time(start, now, zone), parse_time(end, now, zone), cf, resolution
            )
        except (RexmonError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    for stamp, value in zip(series.times, series.values, strict=True):
        click.echo(f"{format_time(stamp, zone)} {'nan' if value is None else repr(value)}")
