"""``etc/slurpers.yaml``: the server to push to, the spool, and the named instances.

Everything is validated at load time with file:line key errors; the token itself is read
only when a batch is pushed (``--dry-run`` and ``--list`` need no token) and never logged.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from rexmon.errors import ConfigError
from rexmon.sizes import parse_size
from rexmon.timespec import parse_duration
from rexmon.yamlconf import Node, load_yaml, parse_yaml
from slurpers.errors import TokenRefused
from slurpers.source import Source, parse_prefix, timeout_option

TOP_KEYS = frozenset({"server", "spool", "hostname", "instances"})
SERVER_KEYS = frozenset({"url", "token", "token_file", "timeout", "retries", "batch_size"})
SPOOL_KEYS = frozenset({"dir", "max_size", "max_age"})
DEFAULT_SPOOL = Path("/var/spool/rexmon")
_INSTANCE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\Z")


@dataclass(frozen=True)
class ServerConfig:
    url: str
    token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    timeout: float = 10.0
    retries: int = 2
    batch_size: int = 5000

    def read_token(self) -> str:
        """The bearer token (from ``token_file`` if set); raises :class:`TokenRefused`."""
        if self.token_file is None:
            return self.token or ""
        try:
            token = self.token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            message = f"cannot read token file {self.token_file}: {exc.strerror}"
            raise TokenRefused(message) from None
        if not token:
            raise TokenRefused(f"token file {self.token_file} is empty")
        return token


@dataclass(frozen=True)
class SpoolConfig:
    dir: Path
    max_bytes: int = 100 * 1024**2
    max_age: int = 2 * 86400


@dataclass(frozen=True)
class Instance:
    name: str
    source: Source
    options: Any
    prefix: tuple[str, ...]


@dataclass(frozen=True)
class SlurperConfig:
    server: ServerConfig
    spool: SpoolConfig
    hostname: str
    instances: Mapping[str, Instance]


def check_server_url(text: str) -> str:
    """An http(s) URL of the rexmon server, without a trailing slash."""
    url = text.strip().rstrip("/")
    if urlsplit(url).scheme not in ("http", "https") or not urlsplit(url).hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {url!r}")
    return url


def _relative(path: str, base: Path) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else base / candidate


def _parse_server(node: Node, base: Path) -> ServerConfig:
    node.mapping(SERVER_KEYS, required=("url",))
    url = node["url"].parse(check_server_url)
    token, token_file = node.get("token"), node.get("token_file")
    if token is not None and token_file is not None:
        raise token_file.error("give token or token_file, not both")
    if token is None and token_file is None:
        raise node.error("missing token_file (or token)")
    retries, batch = node.get("retries"), node.get("batch_size")
    return ServerConfig(
        url=url,
        token=None if token is None else token.as_str(),
        token_file=None if token_file is None else _relative(token_file.as_str(), base),
        timeout=timeout_option(node, 10.0),
        retries=2 if retries is None else retries.as_int(low=0, high=10),
        batch_size=5000 if batch is None else batch.as_int(low=1, high=1_000_000),
    )


def _parse_spool(node: Node | None, base: Path) -> SpoolConfig:
    if node is None:
        return SpoolConfig(dir=DEFAULT_SPOOL)
    node.mapping(SPOOL_KEYS, required=("dir",))
    size, age = node.get("max_size"), node.get("max_age")
    return SpoolConfig(
        dir=_relative(node["dir"].as_str(), base),
        max_bytes=100 * 1024**2 if size is None else size.parse(parse_size),
        max_age=2 * 86400 if age is None else age.parse(parse_duration),
    )


def _parse_instance(
    name: str, node: Node, registry: Mapping[str, Source], hostname: str
) -> Instance:
    if not _INSTANCE.match(name):
        raise node.error("instance names are letters, digits, '_', '-' and '.'")
    kind = node["source"].as_str()
    if kind not in registry:
        raise node["source"].error(f"unknown source {kind!r} (known: {', '.join(registry)})")
    source = registry[kind]
    options = source.parse_options(node, name)
    prefix = parse_prefix(node.get("prefix"), source.default_prefix, hostname, name)
    return Instance(name=name, source=source, options=options, prefix=prefix)


def parse_config(root: Node, registry: Mapping[str, Source], base: Path) -> SlurperConfig:
    """Validate a whole slurpers file; relative paths are taken from ``base``."""
    root.mapping(TOP_KEYS, required=("server", "instances"))
    host_node = root.get("hostname")
    hostname = socket.gethostname() if host_node is None else host_node.as_str()
    instances = {
        name: _parse_instance(name, child, registry, hostname)
        for name, child in root["instances"].items()
    }
    return SlurperConfig(
        server=_parse_server(root["server"], base),
        spool=_parse_spool(root.get("spool"), base),
        hostname=hostname,
        instances=instances,
    )


def load_config(path: Path | str, registry: Mapping[str, Source]) -> SlurperConfig:
    """Load ``path``; relative paths in it are relative to the file's directory."""
    return parse_config(load_yaml(path), registry, Path(path).resolve().parent)


def config_from_text(
    text: str, registry: Mapping[str, Source], base: Path, source: str = "<string>"
) -> SlurperConfig:
    return parse_config(parse_yaml(text, source), registry, base)


__all__ = ["ConfigError", "SlurperConfig", "load_config", "config_from_text"]
