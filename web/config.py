"""The server configuration (``etc/rexmon.yaml``) as the web app sees it.

Each package parses its own section (``archive:`` by rrdarchive, ``database:`` by
downtime); this module composes them and owns ``site:`` and ``web:``. Relative paths
are relative to the directory of the config file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alarmd.config import AlarmdConfig, alarmd_config_from_node
from downtime.config import DatabaseConfig, database_config_from_node
from rexmon.site import SiteConfig, site_config_from_node
from rexmon.sizes import parse_size
from rexmon.yamlconf import Node, load_yaml
from rrdarchive.config import ArchiveConfig, archive_config_from_node
from web.auth.tokens import Token, tokens_from_node
from web.auth.users import AuthConfig, auth_config_from_node
from web.gates.config import Gate, gates_from_node
from web.proxies import Network, networks_from_node

SECTIONS = frozenset({"site", "archive", "database", "web", "alarmd", "carbon", "gates"})
DEFAULT_MAX_BODY = 16 * 1024 * 1024
DEFAULT_MAX_SAMPLES = 100_000
DASHBOARDS = "dashboards.yaml"  # next to the config file unless web.dashboards_file says


@dataclass(frozen=True)
class WebConfig:
    secret_key_file: Path
    max_body_bytes: int = DEFAULT_MAX_BODY
    max_samples: int = DEFAULT_MAX_SAMPLES  # per ingest request; more answers 413
    tokens: tuple[Token, ...] = ()
    tokens_file: Path | None = None
    auth: AuthConfig = AuthConfig()
    proxies: int = 0  # reverse proxies in front that append X-Forwarded-For
    # direct peers believed when they send X-Forwarded-* or the auth.trusted_header
    trusted_proxies: tuple[Network, ...] = networks_from_node(None)
    # named pages of graphs (docs/dashboards.md); an absent file means none
    dashboards_file: Path | None = None


@dataclass(frozen=True)
class ServerConfig:
    source: Path
    site: SiteConfig
    archive: ArchiveConfig
    database: DatabaseConfig
    web: WebConfig
    alarmd: AlarmdConfig  # the web app reads its rules for thresholds on graphs
    gates: tuple[Gate, ...] = ()  # readiness gates (docs/gates.md)


def load_server_config(path: Path | str) -> ServerConfig:
    """Read and validate the whole server config; raises ConfigError naming file:line key."""
    source = Path(path)
    root = load_yaml(source).mapping(SECTIONS, required=("archive",))
    base_dir = source.resolve().parent
    return ServerConfig(
        source=source,
        site=site_config_from_node(root.get("site")),
        archive=archive_config_from_node(root["archive"], base_dir),
        database=database_config_from_node(root.get("database"), base_dir),
        web=_web(root.get("web"), base_dir),
        alarmd=alarmd_config_from_node(root.get("alarmd"), base_dir),
        gates=gates_from_node(root.get("gates")),
    )


def _web(node: Node | None, base_dir: Path) -> WebConfig:
    if node is None:
        return WebConfig(
            secret_key_file=base_dir / "../var/secret-key",
            dashboards_file=base_dir / DASHBOARDS,
        )
    node.mapping(
        {
            "secret_key_file",
            "max_body",
            "max_samples",
            "tokens",
            "tokens_file",
            "auth",
            "proxies",
            "trusted_proxies",
            "dashboards_file",
        }
    )
    secret, size, tokens, tokens_file = (
        node.get(key) for key in ("secret_key_file", "max_body", "tokens", "tokens_file")
    )
    return WebConfig(
        secret_key_file=base_dir / (secret.as_str() if secret else "../var/secret-key"),
        max_body_bytes=size.parse(parse_size) if size else DEFAULT_MAX_BODY,
        max_samples=_max_samples(node.get("max_samples")),
        tokens=tuple(tokens_from_node(tokens)) if tokens else (),
        tokens_file=base_dir / tokens_file.as_str() if tokens_file else None,
        auth=auth_config_from_node(node.get("auth"), base_dir),
        proxies=proxies.as_int(low=0, high=5) if (proxies := node.get("proxies")) else 0,
        trusted_proxies=networks_from_node(node.get("trusted_proxies")),
        dashboards_file=base_dir
        / (
            dashboards.as_str()
            if (dashboards := node.get("dashboards_file"))
            else "dashboards.yaml"
        ),
    )


def _max_samples(node: Node | None) -> int:
    return DEFAULT_MAX_SAMPLES if node is None else node.as_int(low=1)


def load_tokens(config: WebConfig) -> list[Token]:
    """Inline tokens plus those of ``tokens_file`` (read at start-up; absent file = none)."""
    tokens = list(config.tokens)
    if config.tokens_file is not None and config.tokens_file.exists():
        node = load_yaml(config.tokens_file).mapping({"tokens"})
        listed = node.get("tokens")
        if listed is not None:
            tokens.extend(tokens_from_node(listed))
    return tokens
