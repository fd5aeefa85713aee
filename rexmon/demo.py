"""The launcher behind ``make run``: the whole system on one machine, until Ctrl-C.

It starts the installed programs as a site would run them — ``rexmon-web serve``
(gunicorn), ``rexmon-alarmd run`` and the demo slurpers every few seconds — each in a
session of its own, so that Ctrl-C in the terminal reaches only the launcher, which then
stops them in order within :data:`STOP_WITHIN` seconds (killing what lingers) and prints
no traceback. It imports nothing of the other packages: the site it runs (config, push
token, logins) is prepared by ``rexmon-web demo`` and handed over as a :class:`DemoSite`.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

STARTUP_TIMEOUT = 30.0
STOP_WITHIN = 10.0
GRACEFUL = 5.0  # gunicorn's grace for requests in flight and keep-alive connections
SLURP_INTERVAL = 10.0
ALARMD_INTERVAL = "10s"
DEMO_SLURPERS = ("host", "demo")


class LaunchError(Exception):
    """A program of the demo did not start or died; the message says which."""


@dataclass(frozen=True)
class DemoSite:
    """What the launcher runs: the config, where to serve, what to tell the person."""

    config: Path
    slurpers: Path
    port: int
    token: str
    archive_root: Path
    logins: Mapping[str, str] = field(default_factory=dict)  # user -> password
    logins_file: Path | None = None
    env: Mapping[str, str] = field(default_factory=dict)  # extra environment (secrets)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


class Launcher:
    """The demo's child processes, supervised until :meth:`stop`."""

    def __init__(self, site: DemoSite, bin_dir: Path | None = None) -> None:
        self.site = site
        self.bin_dir = bin_dir or Path(sys.executable).parent
        self.children: dict[str, subprocess.Popen[bytes]] = {}
        self.slurpers: dict[str, subprocess.Popen[bytes]] = {}
        self.next_slurp = 0.0
        self.stopping = False

    def start(self) -> None:
        site = self.site
        config = str(site.config)
        self.children["gunicorn"] = self._spawn(
            ["rexmon-web", "--config", config, "serve", "--bind", f"127.0.0.1:{site.port}"]
            + ["--graceful-timeout", f"{GRACEFUL:g}"]
        )
        self.children["alarmd"] = self._spawn(
            ["rexmon-alarmd", "--config", config, "run", "--interval", ALARMD_INTERVAL]
        )

    def wait_until_up(self) -> None:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline and not self.stopping:
            self.check()
            try:
                with urllib.request.urlopen(self.site.url + "/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        if not self.stopping:
            raise LaunchError(f"the web server did not answer on {self.site.url} in time")

    def check(self) -> None:
        for name, child in self.children.items():
            if child.poll() is not None:
                raise LaunchError(f"{name} exited with {child.returncode} (see its output above)")

    def slurp(self, now: float) -> None:
        """Start a run of each demo slurper every SLURP_INTERVAL, one at a time each."""
        if now < self.next_slurp:
            return
        self.next_slurp = now + SLURP_INTERVAL
        for name in DEMO_SLURPERS:
            child = self.slurpers.get(name)
            if child is None or child.poll() is not None:
                self.slurpers[name] = self._spawn(
                    ["rexmon-slurp", name, "--config", str(self.site.slurpers)]
                    + ["--server", self.site.url],
                    quiet=True,
                )

    def stop(self) -> None:
        """Slurpers first, then the web server and alarmd; killed if they linger."""
        deadline = time.monotonic() + STOP_WITHIN - 1
        every = [*self.slurpers.values(), *self.children.values()]
        for child in every:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in every:
            try:
                child.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()

    def _spawn(self, argv: list[str], quiet: bool = False) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [str(self.bin_dir / argv[0]), *argv[1:]],
            env=None if not self.site.env else {**os.environ, **self.site.env},
            stdout=subprocess.DEVNULL if quiet else None,
            start_new_session=True,  # Ctrl-C reaches the launcher only
        )


def run_demo(site: DemoSite, echo: Callable[[str], object] = print) -> None:
    """Start everything, say how to use it, supervise until Ctrl-C or SIGTERM."""
    launcher = Launcher(site)

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        launcher.stopping = True

    previous = {
        signum: signal.signal(signum, on_signal) for signum in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        launcher.start()
        launcher.wait_until_up()
        if not launcher.stopping:
            echo(announcement(site))
        while not launcher.stopping:
            launcher.check()
            launcher.slurp(time.monotonic())
            time.sleep(0.2)
    finally:
        launcher.stop()
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        echo("rexmon stopped.")


def announcement(site: DemoSite) -> str:
    logins = "".join(
        f"  log in:     {user} / {password}\n" for user, password in sorted(site.logins.items())
    )
    where = f"   (kept in {site.logins_file})" if site.logins_file else ""
    curl = (
        "printf 'demo.curl.value 40 %s\\ndemo.curl.value 42 %s\\n' $(( $(date +%s) - 60 ))"
        ' $(date +%s) | curl -H "Authorization: Bearer $(cat var/demo-token)"'
        f' -H "Content-Type: text/plain" --data-binary @- {site.url}/api/v1/samples'
    )
    return (
        f"\nrexmon is running: {site.url}\n"
        f"  archive:    {site.archive_root}\n"
        f"  push token: {site.token}   (also in var/demo-token)\n"
        + (logins.rstrip("\n") + where + "\n" if logins else "")
        + f"  slurpers:   {' and '.join(DEMO_SLURPERS)}, every {SLURP_INTERVAL:.0f} s"
        f" ({site.slurpers})\n"
        f"  alarmd:     evaluating every {ALARMD_INTERVAL}\n"
        f"  dashboard:  {site.url}/d/host   (this machine: CPU, load, memory, disk, network)\n"
        f"  try:        {curl}\n"
        "Press Ctrl-C to stop.\n"
    )
