"""The ``database:`` section of ``etc/rexmon.yaml`` (and ``load_settings``, which also
reads the shared ``site:`` section for the CLI).

::

    database:
      url: sqlite:///../var/rexmon.db     # relative to this file's directory
    site:
      timezone: Europe/Zurich             # IANA name; times are shown and read in it

The database url defaults to ``sqlite:///<config dir>/../var/rexmon.db``. Other
components (alarmd, web) call these parsers on the same file, so every program agrees.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import ArgumentError

from rexmon.database import sqlite_busy_timeout
from rexmon.site import SiteConfig, site_config_from_node
from rexmon.yamlconf import Node, load_yaml

DEFAULT_DATABASE = Path("..") / "var" / "rexmon.db"


@dataclass(frozen=True)
class DatabaseConfig:
    """Where the database is: an SQLAlchemy url with any SQLite path made absolute."""

    url: str


@dataclass(frozen=True)
class Settings:
    """What the downtime CLI needs from the whole config file."""

    database: DatabaseConfig
    site: SiteConfig


def database_config_from_node(node: Node | None, base_dir: Path) -> DatabaseConfig:
    """Parse the ``database:`` section (None when absent: all defaults)."""
    if node is None:
        return DatabaseConfig(url=_sqlite_url(base_dir / DEFAULT_DATABASE))
    node.mapping({"url"})
    url_node = node.get("url")
    if url_node is None:
        return DatabaseConfig(url=_sqlite_url(base_dir / DEFAULT_DATABASE))
    return DatabaseConfig(url=url_node.parse(lambda text: resolve_url(text, base_dir)))


def resolve_url(text: str, base_dir: Path) -> str:
    """Check a database url; a relative SQLite path becomes relative to ``base_dir``."""
    try:
        url = sa.make_url(text.strip())
    except ArgumentError:
        raise ValueError(
            f"expected a database url like 'sqlite:///var/rexmon.db' or"
            f" 'postgresql+psycopg://user@host/rexmon', got {text!r}"
        ) from None
    backend = url.get_backend_name()
    if backend == "sqlite":
        database = url.database or ""
        if not database or database == ":memory:":
            raise ValueError("an SQLite url needs a file path: sqlite:///path/to/rexmon.db")
        if set(url.query) - {"timeout"}:
            raise ValueError(f"an SQLite url takes only ?timeout= (seconds), got {text!r}")
        if "timeout" in url.query:  # the busy timeout
            return f"{_sqlite_url(base_dir / database)}?timeout={sqlite_busy_timeout(url):g}"
        return _sqlite_url(base_dir / database)
    if backend != "postgresql":
        raise ValueError(f"unsupported database {backend!r}; use sqlite or postgresql+psycopg")
    if url.drivername == "postgresql":
        url = url.set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)


def _sqlite_url(path: Path) -> str:
    return f"sqlite:///{os.path.normpath(path.absolute())}"


def load_settings(path: Path | str) -> Settings:
    """Read the sections this package needs from ``etc/rexmon.yaml``; other sections
    belong to other components and are left to their parsers."""
    root = load_yaml(path)
    root_value = root.value
    if not isinstance(root_value, dict):
        raise root.error("expected a mapping at the top of the file")
    base_dir = Path(path).parent
    return Settings(
        database=database_config_from_node(root.get("database"), base_dir),
        site=site_config_from_node(root.get("site")),
    )
