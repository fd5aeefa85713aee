"""``rexmon-web``: check the config, make push tokens, serve the app, run the demo."""

from __future__ import annotations

import functools
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import click
import yaml

from alarmd.rules import load_rules_without_secrets
from rexmon.commandline import (
    CONFIG_ENV,
    CONTEXT,
    FoundConfig,
    config_option,
    find_config,
    require_config,
    version_option,
)
from rexmon.demo import LaunchError, run_demo
from rexmon.errors import RexmonError
from rexmon.logs import FORMATS, LOG_FORMAT_ENV
from rexmon.metric import sanitize_component, validate_glob
from web.auth.tokens import add_token_entry, digest_token, new_token
from web.config import ServerConfig, load_server_config, load_tokens
from web.dashboards.loader import load_dashboards
from web.demo import prepare_demo_site
from web.slowclients import THREADS

APP_FACTORY = "web.app:create_app()"


@dataclass
class WebCli:
    """``ctx.obj`` of every command: the config is found and read on first use, so
    ``--help`` of a subcommand works without a config file."""

    config_path: Path | None

    @functools.cached_property
    def found(self) -> FoundConfig:
        return require_config(self.config_path)

    @functools.cached_property
    def config(self) -> ServerConfig:
        try:
            config = load_server_config(self.found.path)
            load_tokens(config.web)
        except RexmonError as exc:
            raise click.ClickException(str(exc)) from None
        return config

    def tokens_file_if_configured(self) -> Path | None:
        """``web.tokens_file`` when a config file is there to say it, else None."""
        if find_config(self.config_path) is None:
            return None
        return self.config.web.tokens_file


@click.group(context_settings=CONTEXT)
@config_option("The server config file.")
@version_option()
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """The rexmon web app and ingest API."""
    ctx.obj = WebCli(config_path)


@main.command("check-config")
@click.pass_obj
def check_config(cli: WebCli) -> None:
    """Validate the configuration and say what it sets up."""
    config = cli.config
    rules_file = config.alarmd.rules
    if not rules_file.exists():
        raise click.ClickException(
            f"{rules_file}: the alarm rules file (alarmd.rules) does not exist; the web app"
            " draws thresholds from it (an empty one says `rules: []`)"
        )
    try:
        rules = load_rules_without_secrets(rules_file)
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{cli.found.path}: OK")
    click.echo(f"  archive root: {config.archive.root}")
    click.echo(f"  push tokens: {len(load_tokens(config.web))}")
    click.echo(f"  alarm rules: {len(rules.rules)} from {rules_file}")
    click.echo(f"  readiness gates: {len(config.gates)}")
    for gate in config.gates:
        click.echo(f"    {gate.name}: {', '.join(gate.scopes)} (GET /api/v1/gates/{gate.name})")
    dashboards_file = config.web.dashboards_file
    if dashboards_file is not None and dashboards_file.exists():
        try:
            dashboards = load_dashboards(dashboards_file).dashboards
        except RexmonError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"  dashboards: {len(dashboards)} from {dashboards_file}")
        for name, dashboard in dashboards.items():
            variables = ", ".join(dashboard.variables) or "none"
            click.echo(f"    {name} [{dashboard.category}] variables: {variables}")


@main.command()
@click.argument("name")
@click.option(
    "--metrics",
    multiple=True,
    help="Metric glob the token may write (repeatable)  [default: host.NAME.*, with NAME"
    " as the slurper writes it: dots and other characters become _]",
)
@click.option(
    "--max-new-metrics",
    type=click.IntRange(min=0),
    default=None,
    help="Metrics without an RRD yet it may create per hour (default: no limit).",
)
@click.option(
    "--add-to",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Append the entry to this tokens file, keeping its comments  [default: web.tokens_file"
    " of the config, if the config has one; else the entry is printed]",
)
@click.pass_obj
def token(
    cli: WebCli,
    name: str,
    metrics: tuple[str, ...],
    max_new_metrics: int | None,
    add_to: Path | None,
) -> None:
    """Make a new push token NAME; prints the secret once and the entry to store."""
    try:
        globs = [validate_glob(glob) for glob in metrics] or [node_glob(name)]
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None
    if add_to is None:
        add_to = cli.tokens_file_if_configured()
    secret = new_token()
    entry: dict[str, object] = {"name": name, "digest": digest_token(secret), "metrics": globs}
    if max_new_metrics is not None:
        entry["max_new_metrics"] = max_new_metrics
    if add_to is not None:
        try:
            add_token_entry(add_to, entry)
        except (OSError, ValueError, yaml.YAMLError) as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"added token {name!r} for {', '.join(globs)} to {add_to}", err=True)
    else:
        click.echo(yaml.safe_dump({"tokens": [entry]}, sort_keys=False), err=True)
    click.echo(secret)


def node_glob(name: str) -> str:
    """The metrics of node NAME's host slurper: ``host.<NAME as a component>.*``."""
    return validate_glob(f"host.{sanitize_component(name)}.*")


@main.command()
@click.option("--bind", default="127.0.0.1:8080", show_default=True)
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--graceful-timeout",
    default=30.0,
    show_default=True,
    type=click.FloatRange(0, 3600),
    help="Seconds a stopping worker may finish requests in flight.",
)
@click.option(
    "--log-format",
    type=click.Choice(FORMATS),
    default="text",
    show_default=True,
    help="text (journald priorities under systemd) or one JSON object per line.",
)
@click.pass_obj
def serve(cli: WebCli, bind: str, workers: int, graceful_timeout: float, log_format: str) -> None:
    """Serve the app with gunicorn (the production server)."""
    click.echo(cli.found.describe(), err=True)
    cli.config  # noqa: B018 - a broken config fails here, before gunicorn starts
    os.environ[CONFIG_ENV] = str(cli.found.path.resolve())
    os.environ[LOG_FORMAT_ENV] = log_format
    args = gunicorn_command(bind, workers)
    args += ["--graceful-timeout", f"{graceful_timeout:g}"]
    args += ["--access-logfile", "-"]
    os.execv(args[0], args)


def gunicorn_command(bind: str, workers: int, threads: int = THREADS) -> list[str]:
    """How rexmon is served: gunicorn with its settings module and the app factory."""
    gunicorn = Path(sys.executable).with_name("gunicorn")
    return [
        str(gunicorn),
        "-c",
        "python:web.gunicorn_conf",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--no-control-socket",  # two instances on one host must not share one
        APP_FACTORY,
    ]


@main.command()
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.pass_obj
def demo(cli: WebCli, port: int) -> None:
    """Start the whole system on embedded defaults (what `make run` does)."""
    site = prepare_demo_site(cli.config, cli.found.path, port)
    try:
        run_demo(site, click.echo)
    except LaunchError as exc:
        raise click.ClickException(str(exc)) from None
