"""``rexmon-web``: check the config, make push tokens, serve the app, run the demo."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import yaml

from alarmd.rules import load_rules_without_secrets
from rexmon.demo import LaunchError, run_demo
from rexmon.errors import RexmonError
from rexmon.metric import sanitize_component, validate_glob
from web.app import CONFIG_ENV
from web.config import ServerConfig, load_server_config, load_tokens
from web.demo import prepare_demo_site
from web.slowclients import THREADS
from web.tokens import add_token_entry, digest_token, new_token

DEFAULT_CONFIG = "etc/rexmon.yaml"
APP_FACTORY = "web.app:create_app()"


@click.group()
@click.option(
    "--config",
    "config_path",
    default=lambda: os.environ.get(CONFIG_ENV, DEFAULT_CONFIG),
    show_default=DEFAULT_CONFIG,
    type=click.Path(dir_okay=False),
    help="Server configuration file (also $REXMON_CONFIG).",
)
@click.pass_context
def main(ctx: click.Context, config_path: str) -> None:
    """The rexmon web app and ingest API."""
    ctx.obj = config_path


def load(ctx: click.Context) -> ServerConfig:
    try:
        config = load_server_config(ctx.obj)
        load_tokens(config.web)
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None
    return config


@main.command("check-config")
@click.pass_context
def check_config(ctx: click.Context) -> None:
    """Validate the configuration and say what it sets up."""
    config = load(ctx)
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
    click.echo(f"{ctx.obj}: OK")
    click.echo(f"  archive root: {config.archive.root}")
    click.echo(f"  push tokens: {len(load_tokens(config.web))}")
    click.echo(f"  alarm rules: {len(rules.rules)} from {rules_file}")


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
@click.pass_context
def token(
    ctx: click.Context,
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
    if add_to is None and Path(ctx.obj).exists():
        add_to = load(ctx).web.tokens_file
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
@click.pass_context
def serve(ctx: click.Context, bind: str, workers: int, graceful_timeout: float) -> None:
    """Serve the app with gunicorn (the production server)."""
    load(ctx)
    os.environ[CONFIG_ENV] = str(Path(ctx.obj).resolve())
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
@click.pass_context
def demo(ctx: click.Context, port: int) -> None:
    """Start the whole system on embedded defaults (what `make run` does)."""
    site = prepare_demo_site(load(ctx), Path(ctx.obj), port)
    try:
        run_demo(site, click.echo)
    except LaunchError as exc:
        raise click.ClickException(str(exc)) from None
