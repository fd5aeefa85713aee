"""The ``archive:`` section of the server config, parsed once into :class:`ArchiveConfig`.

```yaml
archive:
  root: ../var/rrd            # where the RRD files live
  schemas: archive.yaml       # the storage schemas (see rrdarchive.schemas)
  rrdcached: unix:/run/rrdcached/rrdcached.sock   # optional; or host:port
  wal: ../var/wal             # write-ahead log, used only with rrdcached
  max_future: 5m              # samples further ahead of the clock are refused
  max_age: 7d                 # older samples are refused (default: finest tier kept)
```

A relative path is relative to the directory of the config file (``base_dir``).
This module does not import rrdtool.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from rexmon.timespec import parse_duration
from rexmon.yamlconf import Node
from rrdarchive.schemas import Schema, SchemaSet, Tier, load_schemas

DEFAULT_MAX_FUTURE = 300
DEFAULT_WAL_SEGMENT_BYTES = 64 * 1024 * 1024
DEFAULT_WAL_SEGMENT_SECONDS = 300
_KEYS = frozenset(
    {"root", "schemas", "rrdcached", "wal", "max_future", "max_age", "wal_segment_seconds"}
)
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})\Z", re.ASCII)


@dataclass(frozen=True)
class ArchiveConfig:
    """Where the archive is and how it is written; validated, paths absolute."""

    root: Path
    schemas: SchemaSet
    rrdcached: str | None = None
    wal: Path | None = None
    max_future: int = DEFAULT_MAX_FUTURE
    max_age: int | None = None
    wal_segment_seconds: int = DEFAULT_WAL_SEGMENT_SECONDS
    wal_segment_bytes: int = DEFAULT_WAL_SEGMENT_BYTES

    @property
    def wal_dir(self) -> Path:
        return self.wal if self.wal is not None else self.root.parent / "wal"

    def max_age_for(self, schema: Schema) -> int:
        """Samples older than this are refused: the configured bound or the finest tier."""
        return self.max_age if self.max_age is not None else schema.finest_keep

    @classmethod
    def simple(
        cls,
        root: Path,
        *,
        step: int = 60,
        retention: tuple[Tier, ...] = (Tier(60, 2 * 86400), Tier(3600, 30 * 86400)),
        schemas: SchemaSet | None = None,
        rrdcached: str | None = None,
        wal: Path | None = None,
        max_future: int = DEFAULT_MAX_FUTURE,
        max_age: int | None = None,
    ) -> ArchiveConfig:
        """A small config for tests, benchmarks and scripts: one catch-all schema."""
        if schemas is None:
            catch_all = Schema("*", step=step, heartbeat=2 * step, tiers=retention)
            schemas = SchemaSet((catch_all,))
        if rrdcached is not None:
            rrdcached = check_rrdcached_address(rrdcached, root)
        return cls(root.resolve(), schemas, rrdcached, wal, max_future, max_age)


def archive_config_from_node(node: Node, base_dir: Path) -> ArchiveConfig:
    """Parse the value of the ``archive:`` key; relative paths are taken from ``base_dir``."""
    node.mapping(_KEYS)
    root = base_dir / _text(node, "root", "../var/rrd")
    schemas_node = node.get("schemas")
    schemas_path = base_dir / _text(node, "schemas", "archive.yaml")
    if schemas_node is None and not schemas_path.exists():
        raise node.error(f"no 'schemas' key and the default {schemas_path} does not exist")
    schemas = load_schemas(schemas_path)
    rrdcached = None
    address_node = node.get("rrdcached")
    if address_node is not None:
        try:
            rrdcached = check_rrdcached_address(address_node.as_str(), base_dir, root)
        except ValueError as exc:
            raise address_node.error(str(exc)) from None
    wal_node = node.get("wal")
    max_future_node = node.get("max_future")
    max_age_node = node.get("max_age")
    segment_node = node.get("wal_segment_seconds")
    config = ArchiveConfig(
        root=_absolute(root),
        schemas=schemas,
        rrdcached=rrdcached,
        wal=_absolute(base_dir / wal_node.as_str()) if wal_node else None,
        max_future=max_future_node.parse(parse_duration) if max_future_node else DEFAULT_MAX_FUTURE,
        max_age=max_age_node.parse(parse_duration) if max_age_node else None,
        wal_segment_seconds=segment_node.parse(parse_duration)
        if segment_node
        else DEFAULT_WAL_SEGMENT_SECONDS,
    )
    if config.max_age is not None and config.max_age < 60:
        assert max_age_node is not None
        raise max_age_node.error("must be at least 1m")
    return config


def check_rrdcached_address(address: str, base_dir: Path, root: Path | None = None) -> str:
    """``unix:/path`` (relative paths from ``base_dir``) or ``host:port``; raises ValueError."""
    if address.startswith("unix:"):
        path = address[len("unix:") :]
        if not path:
            raise ValueError("expected 'unix:/path/to/socket' or 'host:port'")
        absolute = _absolute(base_dir / path)
        for where in (absolute, root if root is not None else base_dir):
            if any(ch.isspace() for ch in str(_absolute(where))):
                raise ValueError(
                    f"{where} contains white space, which rrdcached's protocol cannot carry"
                )
        return f"unix:{absolute}"
    match = _HOST_PORT.match(address)
    if not match or not 0 < int(match.group(2)) < 65536:
        raise ValueError(f"expected 'unix:/path/to/socket' or 'host:port', got {address!r}")
    return address


def _text(node: Node, key: str, default: str) -> str:
    child = node.get(key)
    return child.as_str() if child is not None else default


def _absolute(path: Path) -> Path:
    """An absolute, normalised path (symlinks resolved: rrdcached wants real paths)."""
    return path.resolve()
