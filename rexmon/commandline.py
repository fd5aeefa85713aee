"""What every rexmon command line shares: how the config file is found, ``--config``,
``--version``, ``-h``, and durations typed as options.

The server config is found the way daemons usually find theirs: ``--config``, then
``$REXMON_CONFIG``, then ``etc/rexmon.yaml`` under the working directory (a checkout),
then ``/etc/rexmon/rexmon.yaml``. Each CLI keeps what it loaded in a typed context
object (``ctx.obj``) that loads lazily, so ``--help`` of a subcommand needs no config.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, TypeVar

import click

from rexmon.errors import RexmonError
from rexmon.timespec import parse_duration

CONFIG_ENV = "REXMON_CONFIG"
CONFIG_NAME = "rexmon.yaml"
SYSTEM_DIR = Path("/etc/rexmon")
CONTEXT = {"help_option_names": ["-h", "--help"]}
F = TypeVar("F", bound=Callable[..., Any])
T = TypeVar("T")


@dataclass(frozen=True)
class FoundConfig:
    """A config file and how it was found (said at start: ``using /etc/rexmon/...``)."""

    path: Path
    how: str

    def describe(self) -> str:
        return f"using {self.path} ({self.how})"


def config_candidates(
    explicit: Path | None, name: str = CONFIG_NAME, env: str = CONFIG_ENV
) -> list[tuple[Path, str]]:
    """Where to look, in order, with the reason for each place."""
    if explicit is not None:
        return [(explicit, "--config")]
    if os.environ.get(env):
        return [(Path(os.environ[env]), f"${env}")]
    return [(Path("etc") / name, "the checkout's etc/"), (SYSTEM_DIR / name, "the system config")]


def find_config(
    explicit: Path | None, name: str = CONFIG_NAME, env: str = CONFIG_ENV
) -> FoundConfig | None:
    """The config file to use; None when none of the usual places has one. A file named
    by ``--config`` or the environment must exist (raises ``click.UsageError``)."""
    candidates = config_candidates(explicit, name, env)
    for path, how in candidates:
        if path.is_file():
            return FoundConfig(path, how)
        if how in ("--config", f"${env}"):
            raise click.UsageError(f"config file {path} (from {how}) does not exist")
    return None


def require_config(
    explicit: Path | None, name: str = CONFIG_NAME, env: str = CONFIG_ENV
) -> FoundConfig:
    """Like :func:`find_config`, but none found is an error that says where it looked."""
    found = find_config(explicit, name, env)
    if found is None:
        looked = ", ".join(str(path) for path, _ in config_candidates(None, name, env))
        raise click.ClickException(
            f"no config file found (looked for ${env}, {looked}); give --config FILE"
        )
    return found


def load_required(
    explicit: Path | None, load: Callable[[Path], T], log: logging.Logger | None = None
) -> T:
    """Find the config (:func:`require_config`), say which (``log``), and read it with
    ``load``; a config error becomes the CLI's clean message, not a traceback."""
    found = require_config(explicit)
    if log is not None:
        log.info("%s", found.describe())
    try:
        return load(found.path)
    except RexmonError as exc:
        raise click.ClickException(str(exc)) from None


def config_option(help: str = "The server config file.") -> Callable[[F], F]:
    """``--config FILE``; the default is found by :func:`find_config`."""
    return click.option(
        "--config",
        "config_path",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=f"{help}  [default: ${CONFIG_ENV}, etc/{CONFIG_NAME}, {SYSTEM_DIR / CONFIG_NAME}]",
    )


def version_option() -> Callable[[F], F]:
    """``--version``: the installed rexmon's version."""
    return click.version_option(
        rexmon_version(), "--version", message="%(prog)s, version %(version)s (rexmon)"
    )


def rexmon_version() -> str:
    try:
        return version("rexmon")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


class Duration(click.ParamType):
    """A duration like ``30s``, ``5m`` or ``2h`` (or plain seconds), in seconds."""

    name = "duration"

    def __init__(self, minimum: int = 0) -> None:
        self.minimum = minimum

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        try:
            seconds = parse_duration(str(value))
        except (RexmonError, ValueError) as exc:
            self.fail(str(exc), param, ctx)
        if seconds < self.minimum:
            self.fail(f"must be at least {self.minimum}s, got {value!r}", param, ctx)
        return seconds


def duration_option(
    *names: str, help: str, default: str | None = None, minimum: int = 0
) -> Callable[[F], F]:
    """An option that takes a duration and hands the command seconds (int or None)."""
    return click.option(*names, type=Duration(minimum), default=default, help=help)
