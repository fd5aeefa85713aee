from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from rexmon.errors import ConfigError
from rexmon.yamlconf import load_yaml, parse_yaml
from rrdarchive.config import ArchiveConfig, archive_config_from_node

REPO = Path(__file__).resolve().parents[2]


def section(text: str, base_dir: Path) -> ArchiveConfig:
    return archive_config_from_node(parse_yaml(text, "etc/rexmon.yaml")["archive"], base_dir)


@pytest.fixture
def etc(tmp_path: Path) -> Path:
    directory = tmp_path / "etc"
    directory.mkdir()
    shutil.copy(REPO / "etc" / "archive.yaml", directory / "archive.yaml")
    return directory


def test_relative_paths_are_relative_to_the_directory_of_the_config_file(etc: Path) -> None:
    config = section("archive:\n  root: ../var/rrd\n  schemas: archive.yaml\n", etc)
    assert config.root == (etc.parent / "var" / "rrd").resolve()
    assert config.schemas.source == str(etc / "archive.yaml")
    assert config.rrdcached is None
    assert config.wal_dir == (etc.parent / "var" / "wal").resolve()
    assert (config.max_future, config.max_age) == (300, None)


def test_the_defaults_need_only_an_archive_yaml_beside_the_config(etc: Path) -> None:
    config = section("archive: {}\n", etc)
    assert config.root == (etc.parent / "var" / "rrd").resolve()


def test_every_key_is_read(etc: Path) -> None:
    config = section(
        "archive:\n  root: /srv/rrd\n  rrdcached: unix:../run/rrdcached.sock\n  wal: /srv/wal\n"
        "  max_future: 10m\n  max_age: 30d\n  wal_segment_seconds: 1m\n",
        etc,
    )
    assert config.root == Path("/srv/rrd")
    assert config.rrdcached == f"unix:{(etc.parent / 'run' / 'rrdcached.sock').resolve()}"
    assert config.wal_dir == Path("/srv/wal")
    assert (config.max_future, config.max_age, config.wal_segment_seconds) == (600, 2592000, 60)


def test_max_age_defaults_to_what_the_finest_tier_keeps(etc: Path) -> None:
    config = section("archive: {}\n", etc)
    schema = config.schemas.schema_for("x.y")
    assert config.max_age_for(schema) == 7 * 86400


def test_a_tcp_address_is_kept_as_written(etc: Path) -> None:
    assert section("archive:\n  rrdcached: cache.example.org:42217\n", etc).rrdcached == (
        "cache.example.org:42217"
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("archive:\n  rrdcached: somewhere\n", r"etc/rexmon.yaml:2: archive.rrdcached: expected"),
        ("archive:\n  rrdcached: host:99999\n", r":2: archive.rrdcached: expected 'unix:"),
        ("archive:\n  max_future: soon\n", r":2: archive.max_future: expected a duration"),
        ("archive:\n  max_age: 10s\n", r":2: archive.max_age: must be at least 1m"),
        ("archive:\n  rooot: x\n", r":2: archive.rooot: unknown key"),
        ("archive:\n  schemas: nothere.yaml\n", r"nothere.yaml: cannot read"),
    ],
)
def test_errors_name_the_file_line_and_key(etc: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        section(text, etc)


def test_the_server_config_of_the_repository_has_a_valid_archive_section() -> None:
    path = REPO / "etc" / "rexmon.yaml"
    config = archive_config_from_node(load_yaml(path)["archive"], path.parent)
    assert config.root == (REPO / "var" / "rrd").resolve()
