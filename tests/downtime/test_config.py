from __future__ import annotations

from pathlib import Path

import pytest

from downtime.config import (
    database_config_from_node,
    load_settings,
    site_config_from_node,
)
from rexmon.errors import ConfigError
from rexmon.yamlconf import parse_yaml


def test_the_default_database_is_next_to_the_config_directory(tmp_path: Path) -> None:
    config = database_config_from_node(None, tmp_path / "etc")
    assert config.url == f"sqlite:///{tmp_path / 'var' / 'rexmon.db'}"


def test_a_relative_sqlite_path_is_relative_to_the_config_file(tmp_path: Path) -> None:
    node = parse_yaml("url: sqlite:///db/rexmon.db\n")
    assert database_config_from_node(node, tmp_path).url == f"sqlite:///{tmp_path}/db/rexmon.db"
    absolute = parse_yaml("url: sqlite:////srv/rexmon.db\n")
    assert database_config_from_node(absolute, tmp_path).url == "sqlite:////srv/rexmon.db"


def test_an_sqlite_url_keeps_its_busy_timeout(tmp_path: Path) -> None:
    node = parse_yaml("url: sqlite:///db/rexmon.db?timeout=2.5\n")
    url = database_config_from_node(node, tmp_path).url
    assert url == f"sqlite:///{tmp_path}/db/rexmon.db?timeout=2.5"


def test_a_postgresql_url_gets_the_psycopg_driver(tmp_path: Path) -> None:
    node = parse_yaml("url: postgresql://rexmon:secret@db.example.org/rexmon\n")
    assert (
        database_config_from_node(node, tmp_path).url
        == "postgresql+psycopg://rexmon:secret@db.example.org/rexmon"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("url: mysql://x/y\n", "1: url: unsupported database 'mysql'"),
        ("url: not a url\n", "1: url: expected a database url"),
        ("url: 'sqlite://'\n", "1: url: an SQLite url needs a file path"),
        ("path: x.db\n", "1: path: unknown key"),
        ("url: sqlite:///x.db?mode=ro\n", r"1: url: an SQLite url takes only \?timeout="),
        ("url: sqlite:///x.db?timeout=soon\n", r"1: url: expected \?timeout= in seconds"),
        ("url: sqlite:///x.db?timeout=-1\n", r"1: url: expected \?timeout= in seconds"),
    ],
)
def test_a_bad_database_section_names_line_and_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        database_config_from_node(parse_yaml(text, "etc/rexmon.yaml"), tmp_path)


def test_the_site_time_zone_defaults_to_utc_and_is_checked() -> None:
    assert site_config_from_node(None).timezone.key == "UTC"
    zurich = site_config_from_node(parse_yaml("timezone: Europe/Zurich\nname: Test site\n"))
    assert zurich.timezone.key == "Europe/Zurich" and zurich.name == "Test site"
    with pytest.raises(ConfigError, match="2: timezone: unknown time zone 'Moon/Base'"):
        site_config_from_node(parse_yaml("\ntimezone: Moon/Base\n"))


def test_settings_are_read_from_a_whole_rexmon_file(tmp_path: Path) -> None:
    path = tmp_path / "etc" / "rexmon.yaml"
    path.parent.mkdir()
    path.write_text(
        "archive: {root: ../var/rrd}\n"  # another component's section is left alone
        "database:\n  url: sqlite:///../var/test.db\n"
        "site:\n  timezone: Europe/Zurich\n"
    )
    settings = load_settings(path)
    assert settings.database.url == f"sqlite:///{tmp_path / 'var' / 'test.db'}"
    assert settings.site.timezone.key == "Europe/Zurich"
