from __future__ import annotations

from pathlib import Path

import pytest

from alarmd.config import (
    DEFAULT_ADVISORY_LOCK,
    AlarmdConfig,
    alarmd_config_from_node,
    load_daemon_settings,
    lock_file_for,
)
from rexmon.errors import ConfigError
from rexmon.yamlconf import parse_yaml

ROOT = Path(__file__).resolve().parents[2]


def parse(text: str, base: Path = Path("/etc/rexmon")) -> AlarmdConfig:
    return alarmd_config_from_node(parse_yaml(text, "rexmon.yaml")["alarmd"], base)


def test_the_alarmd_section_is_parsed_with_paths_from_the_config_directory() -> None:
    config = parse(
        "alarmd:\n  rules: rules/alarms.yaml\n  interval: 1m\n  base_url: https://mon.example.org/\n"
        "  listing_refresh: 10m\n  send_timeout: 15s\n  send_workers: 8\n  retry_delay: 1m30s\n"
        "  lock_file: ../run/alarmd.lock\n  advisory_lock: 42\n  keep: 2y\n"
    )
    assert config == AlarmdConfig(
        rules=Path("/etc/rexmon/rules/alarms.yaml"),
        interval=60,
        base_url="https://mon.example.org",
        listing_refresh=600,
        send_timeout=15.0,
        send_workers=8,
        retry_delay=90.0,
        lock_file=Path("/etc/rexmon/../run/alarmd.lock"),
        advisory_lock=42,
        keep=2 * 365 * 86400,
    )


def test_without_the_section_everything_has_a_default() -> None:
    config = alarmd_config_from_node(None, Path("/etc/rexmon"))
    assert config.rules == Path("/etc/rexmon/alarms.yaml")
    assert (config.interval, config.base_url, config.advisory_lock) == (
        30,
        None,
        DEFAULT_ADVISORY_LOCK,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("alarmd:\n  every: 30s\n", "rexmon.yaml:2: alarmd.every: unknown key"),
        ("alarmd:\n  interval: 0s\n", "rexmon.yaml:2: alarmd.interval: expected a duration longer"),
        ("alarmd:\n  base_url: ftp://x\n", "rexmon.yaml:2: alarmd.base_url: expected an http://"),
        ("alarmd:\n  send_workers: 0\n", "rexmon.yaml:2: alarmd.send_workers: must be at least 1"),
        (
            "alarmd:\n  retry_delay: 0s\n",
            "rexmon.yaml:2: alarmd.retry_delay: expected a duration longer",
        ),
        (
            "alarmd:\n  retry_delay: soon\n",
            "rexmon.yaml:2: alarmd.retry_delay: expected a duration like",
        ),
        ("alarmd:\n  retry_delay: 2h\n", "rexmon.yaml:2: alarmd.retry_delay: expected at most 1h"),
        ("alarmd:\n  keep: 23h\n", "rexmon.yaml:2: alarmd.keep: expected at least 1d, got '23h'"),
        ("alarmd:\n  keep: forever\n", "rexmon.yaml:2: alarmd.keep: expected a duration like"),
    ],
)
def test_a_wrong_setting_names_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse(text)
    assert str(error.value).startswith(message)


def test_the_first_retry_waits_one_minute_unless_set() -> None:
    assert alarmd_config_from_node(None, Path("/etc/rexmon")).retry_delay == 60.0
    assert parse("alarmd:\n  interval: 1m\n").retry_delay == 60.0
    assert parse("alarmd:\n  retry_delay: 10s\n").retry_delay == 10.0
    assert parse("alarmd:\n  retry_delay: 1h\n").retry_delay == 3600.0


def test_the_alarm_history_is_kept_400_days_unless_set() -> None:
    assert alarmd_config_from_node(None, Path("/etc/rexmon")).keep == 400 * 86400
    assert parse("alarmd:\n  interval: 1m\n").keep == 400 * 86400
    assert parse("alarmd:\n  keep: 1d\n").keep == 86400


def test_the_example_server_config_loads() -> None:
    settings = load_daemon_settings(ROOT / "etc" / "rexmon.yaml")
    assert settings.alarmd.rules == ROOT / "etc" / "alarms.yaml"
    assert settings.database.url.startswith("sqlite:///")
    assert str(settings.zone) == "UTC"
    assert settings.alarmd.keep == 400 * 86400


def test_the_lock_file_sits_next_to_an_sqlite_database_and_postgresql_needs_none() -> None:
    config = AlarmdConfig(rules=Path("/etc/rexmon/alarms.yaml"))
    assert lock_file_for(config, "sqlite:////var/lib/rexmon/rexmon.db") == Path(
        "/var/lib/rexmon/alarmd.lock"
    )
    assert lock_file_for(config, "postgresql+psycopg://u@db/rexmon") is None
    own = AlarmdConfig(rules=Path("/x"), lock_file=Path("/run/rexmon/alarmd.lock"))
    assert lock_file_for(own, "sqlite:////var/lib/rexmon/rexmon.db") == own.lock_file
