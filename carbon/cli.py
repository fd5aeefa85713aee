"""``rexmon-carbon``: receive Graphite plaintext lines over TCP into the archive.

``rexmon-carbon run`` serves until SIGTERM or SIGINT, then stores what has arrived and
exits 0; ``rexmon-carbon check-config`` validates the ``carbon:`` and ``archive:``
sections and says what would be served.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import signal
from dataclasses import dataclass
from pathlib import Path

import click

from carbon.config import CarbonSettings, load_carbon_settings, parse_listen
from carbon.server import CarbonServer
from rexmon.commandline import CONTEXT, config_option, load_required, version_option
from rexmon.errors import RexmonError
from rexmon.logs import FORMATS, configure_logging
from rrdarchive.archive import Archive

log = logging.getLogger("carbon")


@dataclass
class CarbonCli:
    """``ctx.obj`` of every command: where the config is; read on first use."""

    config_path: Path | None

    def settings(self, override: Path | None = None) -> CarbonSettings:
        return load_required(override or self.config_path, load_carbon_settings, log)


@click.group(context_settings=CONTEXT)
@config_option("The server config (its carbon: and archive: sections).")
@version_option()
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """Graphite plaintext receiver (TCP, port 2003) writing into the rexmon archive."""
    ctx.obj = CarbonCli(config_path)


@main.command("check-config")
@click.pass_obj
def check_config(cli: CarbonCli) -> None:
    """Validate the carbon: and archive: sections and print what would be served."""
    settings = cli.settings()
    carbon = settings.carbon
    host = carbon.host or "(every address)"
    click.echo(f"listen {host}:{carbon.port}, archive {settings.archive.root}")
    for source in carbon.sources:
        networks = ", ".join(str(network) for network in source.networks)
        click.echo(f"allow {networks}: metrics {', '.join(source.metrics)}")
    rate = f"{carbon.rate} lines/s" if carbon.rate else "no limit"
    new = f"{carbon.max_new_metrics}/h" if carbon.max_new_metrics else "no limit"
    click.echo(
        f"per source address: rate {rate}, new metrics {new};"
        f" at most {carbon.max_connections} connections, idle timeout {carbon.idle_timeout:g}s"
    )


@main.command("run")
@config_option("The server config (as the group's --config; kept for the systemd unit).")
@click.option("--listen", help="host:port to listen on instead of carbon.listen.")
@click.option(
    "--log-format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text (with journald priorities under systemd) or one JSON object per line.",
)
@click.pass_obj
def run(cli: CarbonCli, config_path: Path | None, listen: str | None, log_format: str) -> None:
    """Receive lines until SIGTERM; then store what has arrived and exit."""
    configure_logging(log_format=log_format)
    settings = cli.settings(config_path)
    carbon = settings.carbon
    if listen is not None:
        try:
            host, port = parse_listen(listen)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--listen") from None
        carbon = dataclasses.replace(carbon, host=host, port=port)
    try:
        archive = Archive(settings.archive)
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        asyncio.run(_serve(CarbonServer(carbon, archive)))
    except RexmonError as exc:
        archive.close()
        raise click.ClickException(str(exc)) from None


async def _serve(server: CarbonServer) -> None:
    loop = asyncio.get_running_loop()
    addresses = await server.start()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, server.stop)
    for host, port in addresses:
        log.info("carbon: listening on %s:%d", f"[{host}]" if ":" in host else host, port)
    await server.serve_until_stopped()
