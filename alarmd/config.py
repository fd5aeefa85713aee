"""The daemon's own settings: the ``alarmd:`` section of ``etc/rexmon.yaml``.

::

    alarmd:
      rules: alarms.yaml             # the rules and receivers file (relative to this file)
      interval: 30s                  # one evaluation cycle every ...
      base_url: https://rexmon.example.org   # graph links; default: the rules file's
      listing_refresh: 5m            # re-list the archive's metrics this often
      send_timeout: 20s              # one send attempt may take this long
      send_workers: 4                # parallel sends
      retry_delay: 1m                # first retry of a failed send; doubles, at most 1h
      lock_file: ../var/alarmd.lock  # SQLite: one active daemon per host (default: next
                                     # to the database file)
      advisory_lock: 1920492644      # PostgreSQL: the advisory lock id of the active daemon
      keep: 400d                     # alarm history (transitions, notification log, finished
                                     # messages) older than this is deleted; at least 1d

:func:`load_daemon_settings` also reads the sections alarmd shares with the other
programs (``archive:``, ``database:``, ``site.timezone``) through their own parsers.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from alarmd.message import Message, group
from alarmd.notify import MAX_RETRY_DELAY
from alarmd.rules import AlarmConfig
from alarmd.transition import Event
from downtime.config import DatabaseConfig, database_config_from_node
from rexmon.site import site_config_from_node
from rexmon.timespec import parse_duration
from rexmon.yamlconf import Node, load_yaml
from rrdarchive.config import ArchiveConfig, archive_config_from_node

DEFAULT_INTERVAL = 30
DEFAULT_LISTING_REFRESH = 300
DEFAULT_SEND_TIMEOUT = 20.0
DEFAULT_SEND_WORKERS = 4
DEFAULT_RETRY_DELAY = 60.0
DEFAULT_ADVISORY_LOCK = 0x72786164  # "rxad"
DEFAULT_KEEP = 400 * 86400  # a year-over-year availability report still has its data
MIN_KEEP = 86400
LOCK_FILE_NAME = "alarmd.lock"
UTC = ZoneInfo("UTC")
_KEYS = frozenset(
    {
        "rules",
        "interval",
        "base_url",
        "listing_refresh",
        "send_timeout",
        "send_workers",
        "retry_delay",
        "lock_file",
        "advisory_lock",
        "keep",
    }
)


@dataclass(frozen=True)
class AlarmdConfig:
    """The ``alarmd:`` section, validated; paths absolute."""

    rules: Path
    interval: int = DEFAULT_INTERVAL
    base_url: str | None = None  # None: the rules file's base_url
    listing_refresh: int = DEFAULT_LISTING_REFRESH
    send_timeout: float = DEFAULT_SEND_TIMEOUT
    send_workers: int = DEFAULT_SEND_WORKERS
    retry_delay: float = DEFAULT_RETRY_DELAY
    lock_file: Path | None = None  # None: next to the SQLite database
    advisory_lock: int = DEFAULT_ADVISORY_LOCK
    keep: int = DEFAULT_KEEP  # seconds of alarm history kept


@dataclass(frozen=True)
class DaemonSettings:
    """Everything ``rexmon-alarmd run`` reads from ``etc/rexmon.yaml``."""

    alarmd: AlarmdConfig
    archive: ArchiveConfig
    database: DatabaseConfig
    zone: ZoneInfo


@dataclass(frozen=True)
class DaemonConfig:
    """What a running daemon works with: the rules, its settings, the site's time zone,
    and how to read the rules again (SIGHUP)."""

    rules: AlarmConfig
    settings: AlarmdConfig
    zone: ZoneInfo = UTC
    load_rules: Callable[[], AlarmConfig] | None = None

    @property
    def base_url(self) -> str:
        return self.settings.base_url or self.rules.base_url

    def group(self, events: Iterable[Event]) -> list[Message]:
        """The messages telling ``events`` (links to this site, times in its zone)."""
        return group(events, self.base_url, self.zone)


def alarmd_config_from_node(node: Node | None, base_dir: Path) -> AlarmdConfig:
    """Parse the ``alarmd:`` section (None when absent: all defaults)."""
    default = AlarmdConfig(rules=(base_dir / "alarms.yaml").absolute())
    if node is None:
        return default
    node.mapping(_KEYS)
    rules = node.get("rules")
    interval = node.get("interval")
    base_url = node.get("base_url")
    refresh = node.get("listing_refresh")
    timeout = node.get("send_timeout")
    workers = node.get("send_workers")
    retry = node.get("retry_delay")
    lock_file = node.get("lock_file")
    advisory = node.get("advisory_lock")
    keep = node.get("keep")
    return AlarmdConfig(
        rules=(base_dir / rules.as_str()).absolute() if rules else default.rules,
        interval=interval.parse(_positive) if interval else DEFAULT_INTERVAL,
        base_url=base_url.parse(_base_url) if base_url else None,
        listing_refresh=refresh.parse(_positive) if refresh else DEFAULT_LISTING_REFRESH,
        send_timeout=float(timeout.parse(_positive)) if timeout else DEFAULT_SEND_TIMEOUT,
        send_workers=workers.as_int(low=1, high=64) if workers else DEFAULT_SEND_WORKERS,
        retry_delay=float(retry.parse(_retry_delay)) if retry else DEFAULT_RETRY_DELAY,
        lock_file=(base_dir / lock_file.as_str()).absolute() if lock_file else None,
        advisory_lock=advisory.as_int(low=1, high=2**63 - 1) if advisory else DEFAULT_ADVISORY_LOCK,
        keep=keep.parse(_keep) if keep else DEFAULT_KEEP,
    )


def load_daemon_settings(path: Path | str) -> DaemonSettings:
    """Read the sections alarmd needs; the other sections belong to other programs."""
    root = load_yaml(path)
    if not isinstance(root.value, dict):
        raise root.error("expected a mapping at the top of the file")
    base_dir = Path(path).absolute().parent
    archive = root.get("archive")
    if archive is None:
        raise root.error("missing required key 'archive'")
    zone = site_config_from_node(root.get("site")).timezone
    return DaemonSettings(
        alarmd=alarmd_config_from_node(root.get("alarmd"), base_dir),
        archive=archive_config_from_node(archive, base_dir),
        database=database_config_from_node(root.get("database"), base_dir),
        zone=zone,
    )


def lock_file_for(config: AlarmdConfig, database_url: str) -> Path | None:
    """The lock file of an SQLite installation (None with PostgreSQL)."""
    url = sa.make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return None
    if config.lock_file is not None:
        return config.lock_file
    return Path(url.database or ".").absolute().parent / LOCK_FILE_NAME


def _positive(text: str) -> int:
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError(f"expected a duration longer than 0s, got {text!r}")
    return seconds


def _retry_delay(text: str) -> int:
    """A first retry later than the cap would silently wait only the cap: refused."""
    seconds = _positive(text)
    if seconds > MAX_RETRY_DELAY:
        raise ValueError(f"expected at most 1h (the longest wait between retries), got {text!r}")
    return seconds


def _keep(text: str) -> int:
    """Less than a day would delete the history of alarms that are still being handled."""
    seconds = parse_duration(text)
    if seconds < MIN_KEEP:
        raise ValueError(f"expected at least 1d, got {text!r}")
    return seconds


def _base_url(text: str) -> str:
    url = text.strip().rstrip("/")
    if not re.match(r"https?://[^/\s]+", url):
        raise ValueError(f"expected an http:// or https:// URL, got {text!r}")
    return url
