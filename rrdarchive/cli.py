"""``rexmon-archive``: look at the archive from a shell (check the config, list, info, fetch).

The config is the server config (``etc/rexmon.yaml``); only its ``archive:`` section is
read. Relative paths in it are relative to the directory of that file.
"""

from __future__ import annotations

import time
from pathlib import Path

import click

from rexmon.errors import RexmonError
from rexmon.timespec import format_duration, format_time, parse_time, site_zone
from rexmon.yamlconf import load_yaml
from rrdarchive.archive import Archive
from rrdarchive.config import ArchiveConfig, archive_config_from_node


def load_archive_config(path: Path) -> ArchiveConfig:
    """The ``archive:`` section of a server config file."""
    root = load_yaml(path)
    return archive_config_from_node(root["archive"], path.resolve().parent)


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=Path("etc/rexmon.yaml"),
    show_default=True,
    envvar="REXMON_CONFIG",
    help="The server config; its archive: section is used.",
)
@click.option("--zone", default="UTC", show_default=True, help="Time zone for times shown/read.")
@click.pass_context
def main(ctx: click.Context, config_path: Path, zone: str) -> None:
    """Inspect the rexmon RRD archive."""
    try:
        ctx.obj = (load_archive_config(config_path), site_zone(zone))
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None


def _open(ctx: click.Context) -> Archive:
    config, _ = ctx.obj
    try:
        return Archive(config)
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None


@main.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the config and the schemas; print what they say."""
    config: ArchiveConfig = ctx.obj[0]
    click.echo(f"archive root: {config.root}")
    click.echo(f"schemas:      {config.schemas.source} ({len(config.schemas.schemas)})")
    for schema in config.schemas.schemas:
        tiers = ", ".join(str(tier) for tier in schema.tiers)
        kind = schema.type.value if schema.type else "hint or GAUGE"
        click.echo(f"  {schema.match}: step {format_duration(schema.step)}, {kind}, {tiers}")
    if config.rrdcached:
        click.echo(f"rrdcached:    {config.rrdcached} (write-ahead log in {config.wal_dir})")
    else:
        click.echo("rrdcached:    none (direct writes)")
    click.echo("config OK")


@main.command("list")
@click.argument("glob", default="*")
@click.pass_context
def list_command(ctx: click.Context, glob: str) -> None:
    """List the metrics matching GLOB ('*' also matches dots)."""
    with _open(ctx) as archive:
        try:
            names = archive.list_metrics(glob)
        except (RexmonError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    for name in names:
        click.echo(name)


@main.command()
@click.argument("metric")
@click.pass_context
def info(ctx: click.Context, metric: str) -> None:
    """Show step, type, archives and last update of METRIC."""
    zone = ctx.obj[1]
    with _open(ctx) as archive:
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
@click.pass_context
def fetch(
    ctx: click.Context, metric: str, start: str, end: str, cf: str, resolution: int | None
) -> None:
    """Print the values of METRIC between --start and --end, one 'time value' a line."""
    zone = ctx.obj[1]
    now = time.time()
    with _open(ctx) as archive:
        try:
            series = archive.fetch(
                metric, parse_time(start, now, zone), parse_time(end, now, zone), cf, resolution
            )
        except (RexmonError, ValueError) as exc:
            raise click.ClickException(str(exc)) from None
    for stamp, value in zip(series.times, series.values, strict=True):
        click.echo(f"{format_time(stamp, zone)} {'nan' if value is None else repr(value)}")
