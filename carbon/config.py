"""The ``carbon:`` section of ``etc/rexmon.yaml``, parsed once into :class:`CarbonConfig`.

```yaml
carbon:
  listen: 127.0.0.1:2003        # host:port; ":2003" for every address (IPv4 and IPv6)
  allow:                        # source networks that may send (default: loopback)
    - 127.0.0.1/32              # any metric
    - network: 10.1.0.0/16      # only these metrics (globs), like a token's
      metrics: ["collectd.*", "host.*"]
  max_connections: 10000        # more are closed at once (and counted)
  idle_timeout: 5m              # a connection silent this long is closed
  max_line: 4096                # bytes; a longer line is refused whole
  rate: 20000                   # lines per second per source address; 0 = no limit
  max_new_metrics: 1000         # metrics without an RRD yet, per source address and
                                # hour; 0 = no limit
  log_interval: 1m              # counters of accepted and refused lines in the log
```

:func:`load_carbon_settings` also reads ``archive:`` through rrdarchive's parser; the
other sections belong to other programs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from carbon.protocol import DEFAULT_MAX_LINE
from rexmon.metric import glob_matcher
from rexmon.networks import Network, in_networks, parse_networks
from rexmon.timespec import parse_duration
from rexmon.yamlconf import Node, load_yaml
from rrdarchive.config import ArchiveConfig, archive_config_from_node

DEFAULT_PORT = 2003
DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_CONNECTIONS = 10_000
DEFAULT_IDLE_TIMEOUT = 300
DEFAULT_LOG_INTERVAL = 60
LOOPBACK = ("127.0.0.1/32", "::1/128")
_KEYS = frozenset(
    {
        "listen",
        "allow",
        "max_connections",
        "idle_timeout",
        "max_line",
        "rate",
        "max_new_metrics",
        "log_interval",
    }
)
_LISTEN = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})\Z", re.ASCII)


@dataclass(frozen=True)
class Source:
    """Networks that may send, and the metric globs they may write (``*``: any)."""

    networks: tuple[Network, ...]
    metrics: tuple[str, ...] = ("*",)
    _matchers: tuple[Callable[[str], bool], ...] = field(
        init=False, repr=False, compare=False, default=()
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "_matchers", tuple(glob_matcher(g) for g in self.metrics))

    def allows(self, metric: str) -> bool:
        return "*" in self.metrics or any(match(metric) for match in self._matchers)


@dataclass(frozen=True)
class CarbonConfig:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    sources: tuple[Source, ...] = (Source(parse_networks(LOOPBACK)),)
    max_connections: int = DEFAULT_MAX_CONNECTIONS
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT
    max_line: int = DEFAULT_MAX_LINE
    rate: int = 0
    max_new_metrics: int = 0
    log_interval: float = DEFAULT_LOG_INTERVAL

    def sources_of(self, address: str | None) -> tuple[Source, ...]:
        """The allow-list entries a peer address is in (none: it may not send)."""
        return tuple(s for s in self.sources if in_networks(address, s.networks))


@dataclass(frozen=True)
class CarbonSettings:
    """Everything ``rexmon-carbon run`` reads from ``etc/rexmon.yaml``."""

    carbon: CarbonConfig
    archive: ArchiveConfig


def carbon_config_from_node(node: Node | None) -> CarbonConfig:
    """Parse the ``carbon:`` section (None when absent: all defaults)."""
    if node is None:
        return CarbonConfig()
    node.mapping(_KEYS)
    default = CarbonConfig()
    listen, allow, connections, idle, max_line, rate, new, interval = (
        node.get(key)
        for key in (
            "listen",
            "allow",
            "max_connections",
            "idle_timeout",
            "max_line",
            "rate",
            "max_new_metrics",
            "log_interval",
        )
    )
    host, port = listen.parse(parse_listen) if listen else (default.host, default.port)
    return CarbonConfig(
        host=host,
        port=port,
        sources=_sources(allow) if allow else default.sources,
        max_connections=connections.as_int(low=1) if connections else default.max_connections,
        idle_timeout=idle.parse(_positive) if idle else default.idle_timeout,
        max_line=max_line.as_int(low=300, high=1 << 20) if max_line else default.max_line,
        rate=rate.as_int(low=0) if rate else 0,
        max_new_metrics=new.as_int(low=0) if new else 0,
        log_interval=interval.parse(_positive) if interval else default.log_interval,
    )


def load_carbon_settings(path: Path | str) -> CarbonSettings:
    """Read the sections rexmon-carbon needs; raises ConfigError naming file:line key."""
    root = load_yaml(path)
    if not isinstance(root.value, dict):
        raise root.error("expected a mapping at the top of the file")
    archive = root.get("archive")
    if archive is None:
        raise root.error("missing required key 'archive'")
    return CarbonSettings(
        carbon=carbon_config_from_node(root.get("carbon")),
        archive=archive_config_from_node(archive, Path(path).absolute().parent),
    )


def parse_listen(text: str) -> tuple[str, int]:
    """``host:port``, ``[v6]:port`` or ``:port`` (every address of both families: asyncio
    binds ``[::]`` to IPv6 only); port 0 picks a free one."""
    found = _LISTEN.match(text.strip())
    if found is None:
        raise ValueError(f"expected host:port such as '127.0.0.1:2003', got {text!r}")
    host, port = found.group(1).strip("[]"), int(found.group(2))
    if port > 65535:
        raise ValueError(f"port must be at most 65535, got {port}")
    return host, port


def _sources(node: Node) -> tuple[Source, ...]:
    sources = []
    for item in node.as_list():
        if isinstance(item.value, dict):
            item.mapping({"network", "metrics"}, required=("network",))
            networks = item["network"]
            metrics = item.get("metrics")
            globs = ("*",) if metrics is None else tuple(metrics.as_str_list())
        else:
            networks, metrics, globs = item, None, ("*",)
        try:
            parsed = parse_networks(networks.as_str_list())
        except ValueError as exc:
            raise networks.error(str(exc)) from None
        try:
            sources.append(Source(parsed, globs))
        except ValueError as exc:
            raise (metrics or item).error(str(exc)) from None
    return tuple(sources)


def _positive(text: str) -> int:
    seconds = parse_duration(text)
    if seconds <= 0:
        raise ValueError(f"expected a duration longer than 0s, got {text!r}")
    return seconds
