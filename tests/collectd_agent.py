"""A real collectd (Debian's collectd-core) run in the foreground as a child of a test.

``run_collectd(directory, snippet)`` writes a collectd.conf that reads the cheap
``load`` and ``memory`` plugins (and ``interface`` on ``lo``) every second, includes the
write plugin ``snippet`` (one of the files under etc/collectd/, with its site values
replaced), checks it with ``collectd -t`` and starts ``collectd -f``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "etc" / "collectd"
COLLECTD = shutil.which("collectd") or "/usr/sbin/collectd"
HOST = "testnode"


def example(name: str, replace: dict[str, str]) -> str:
    """An etc/collectd/ file with site values replaced; each one must be there."""
    text = (EXAMPLES / name).read_text()
    for old, new in replace.items():
        assert old in text, f"{name} no longer has {old!r}"
        text = text.replace(old, new)
    return text


def _base_config(directory: Path, snippet: Path) -> str:
    return f"""Hostname "{HOST}"
FQDNLookup false
BaseDir "{directory}"
PIDFile "{directory}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin logfile
<Plugin logfile>
  LogLevel info
  File "{directory}/collectd.log"
  Timestamp true
</Plugin>
LoadPlugin load
LoadPlugin memory
LoadPlugin interface
<Plugin interface>
  Interface "lo"
</Plugin>
Include "{snippet}"
"""


@contextmanager
def run_collectd(directory: Path, snippet: str) -> Iterator[Path]:
    """collectd running with ``snippet``; yields its log file; killed at the end."""
    if not Path(COLLECTD).exists():
        pytest.fail("collectd is not installed: scripts/install-debian-deps collectd-core")
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "write.conf").write_text(snippet)
    config = directory / "collectd.conf"
    config.write_text(_base_config(directory, directory / "write.conf"))
    checked = subprocess.run(
        [COLLECTD, "-t", "-C", str(config)], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    log = directory / "collectd.log"
    process = subprocess.Popen(
        [COLLECTD, "-f", "-C", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        yield log
    finally:
        process.kill()
        process.wait(timeout=30)


def wait_until(condition: Callable[[], bool], timeout: float, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        text = log.read_text() if log.exists() else ""
        if "failed with status" in text:  # a plugin did not load: waiting is useless
            break
        time.sleep(0.2)
    text = log.read_text() if log.exists() else "(no log)"
    raise AssertionError(f"collectd's values did not arrive in {timeout}s; its log:\n{text}")
