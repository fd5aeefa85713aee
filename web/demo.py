"""``make run``: the whole system on embedded defaults, supervised until Ctrl-C.

Creates ``var/``, a demo push token (``var/demo-token``, also ``var/slurp.token`` for the
slurpers), starts the web app under gunicorn and alarmd, runs the ``host`` and ``demo``
slurpers every 10 seconds, and stops everything on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import click

from web.app import CONFIG_ENV
from web.cli import add_token_entry, gunicorn_command
from web.config import ServerConfig
from web.tokens import digest_token, new_token

STARTUP_TIMEOUT = 30.0
SLURP_INTERVAL = 10.0
DEMO_SLURPERS = ("host", "demo")


def ensure_demo_token(config: ServerConfig) -> str:
    """The demo token from ``var/demo-token``, made and registered on first run."""
    tokens_file = config.web.tokens_file
    if tokens_file is None:
        raise click.ClickException("the demo needs web.tokens_file in the config")
    token_path = tokens_file.parent / "demo-token"
    if token_path.exists():
        return token_path.read_text().strip()
    secret = new_token()
    add_token_entry(tokens_file, {"name": "demo", "digest": digest_token(secret), "metrics": ["*"]})
    for path in (token_path, tokens_file.parent / "slurp.token"):
        path.write_text(secret + "\n")
        path.chmod(0o600)
    return secret


class SlurperLoop:
    """Runs the demo slurpers every few seconds, one run of each at a time."""

    def __init__(self, bin_dir: Path, config: Path, server_url: str) -> None:
        self.bin_dir = bin_dir
        self.config = config
        self.server_url = server_url
        self.running: dict[str, subprocess.Popen[bytes]] = {}
        self.next_run = 0.0

    def poll(self, now: float) -> None:
        if now < self.next_run:
            return
        self.next_run = now + SLURP_INTERVAL
        for name in DEMO_SLURPERS:
            child = self.running.get(name)
            if child is None or child.poll() is not None:
                self.running[name] = subprocess.Popen(
                    [
                        str(self.bin_dir / "rexmon-slurp"),
                        name,
                        "--config",
                        str(self.config),
                        "--server",
                        self.server_url,
                    ],
                    stdout=subprocess.DEVNULL,
                )

    def stop(self) -> None:
        for child in self.running.values():
            if child.poll() is None:
                child.terminate()
                child.wait(timeout=10)


def run_demo(config: ServerConfig, config_path: Path, port: int) -> None:
    config.archive.root.mkdir(parents=True, exist_ok=True)
    token = ensure_demo_token(config)
    env = {**os.environ, CONFIG_ENV: str(config_path.resolve())}
    bin_dir = Path(sys.executable).parent
    url = f"http://127.0.0.1:{port}"
    gunicorn = gunicorn_command(f"127.0.0.1:{port}", workers=2)
    # The example receivers need a mail password; the demo has none to give, so its
    # notifications fail and show as failed attempts in the log on /alarms.
    alarmd_env = {"REXMON_SMTP_PASSWORD": "demo-has-no-password", **env}
    alarmd = [
        str(bin_dir / "rexmon-alarmd"),
        "run",
        "--config",
        str(config_path.resolve()),
        "--interval",
        "10s",
    ]
    children = {
        "gunicorn": subprocess.Popen(gunicorn, env=env),
        "alarmd": subprocess.Popen(alarmd, env=alarmd_env),
    }
    slurpers = SlurperLoop(bin_dir, config_path.resolve().parent / "slurpers.yaml", url)
    stopping = False

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    try:
        _wait_until_up(url, list(children.values()))
        _announce(url, token, config)
        while not stopping:
            for name, child in children.items():
                if child.poll() is not None:
                    raise click.ClickException(f"{name} exited with {child.returncode}")
            slurpers.poll(time.monotonic())
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        slurpers.stop()
        for child in children.values():
            if child.poll() is None:
                child.terminate()
        for child in children.values():
            child.wait(timeout=15)
        click.echo("rexmon stopped.")


def _wait_until_up(url: str, children: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            raise click.ClickException("the web server did not start (see its output above)")
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise click.ClickException(f"the web server did not answer on {url} in time")


def _announce(url: str, token: str, config: ServerConfig) -> None:
    click.echo(
        f"\nrexmon is running: {url}\n"
        f"  archive:    {config.archive.root}\n"
        f"  push token: {token}   (also in var/demo-token)\n"
        f"  slurpers:   host and demo, every {SLURP_INTERVAL:.0f} s (etc/slurpers.yaml)\n"
        f"  alarmd:     rules from etc/alarms.yaml, evaluated every 10 s\n"
        f'  try:        curl -H "Authorization: Bearer $(cat var/demo-token)" '
        f"-H 'Content-Type: text/plain' --data \"demo.curl.value 42 $(date +%s)\" "
        f"{url}/api/v1/samples\n"
        f"Press Ctrl-C to stop.\n"
    )
