"""The carbon: section of etc/rexmon.yaml."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from carbon.cli import main
from carbon.config import CarbonConfig, carbon_config_from_node, load_carbon_settings
from rexmon.errors import ConfigError
from rexmon.yamlconf import parse_yaml
from tests.fixtures_carbon import write_carbon_config
from web.config import load_server_config

REPO = Path(__file__).resolve().parents[2]


def test_the_shipped_config_has_a_carbon_section_that_every_program_reads() -> None:
    settings = load_carbon_settings(REPO / "etc" / "rexmon.yaml")
    assert (settings.carbon.host, settings.carbon.port) == ("127.0.0.1", 2003)
    assert settings.carbon.sources_of("127.0.0.1") and not settings.carbon.sources_of("10.0.0.1")
    assert settings.carbon.max_new_metrics == 1000
    load_server_config(REPO / "etc" / "rexmon.yaml")  # the web app accepts the section


def test_without_a_section_carbon_listens_on_loopback_port_2003() -> None:
    config = carbon_config_from_node(None)
    assert config == CarbonConfig()
    assert (config.host, config.port) == ("127.0.0.1", 2003)
    assert config.sources_of("::1") and config.sources_of("::ffff:127.0.0.1")
    assert not config.sources_of("192.0.2.1")


def test_listen_takes_ipv6_and_an_empty_host_for_every_address() -> None:
    node = parse_yaml("listen: '[::]:2004'\n")
    assert carbon_config_from_node(node).host == "::"
    assert carbon_config_from_node(parse_yaml("listen: ':2003'\n")).host == ""


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("listen: localhost\n", "carbon.yaml:1: listen: expected host:port"),
        ("allow: [10.0.0.0/33]\n", "carbon.yaml:1: allow[0]: expected an IP address"),
        ("allow:\n  - network: 10.0.0.0/8\n    metrics: ['a/b']\n", "carbon.yaml:3"),
        ("max_connections: 0\n", "max_connections: must be at least 1"),
        ("idle_timeout: soon\n", "idle_timeout: expected a duration"),
        ("rates: 5\n", "rates: unknown key"),
    ],
)
def test_mistakes_are_named_by_file_line_and_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        carbon_config_from_node(parse_yaml(text, "carbon.yaml"))
    assert message in str(caught.value)


def test_check_config_says_what_would_be_served() -> None:
    result = CliRunner().invoke(
        main, ["--config", str(REPO / "etc" / "rexmon.yaml"), "check-config"]
    )
    assert result.exit_code == 0, result.output
    assert "listen 127.0.0.1:2003" in result.output
    assert "rate 20000 lines/s, new metrics 1000/h" in result.output


def test_a_listen_option_that_is_not_host_port_is_a_usage_error(tmp_path: Path) -> None:
    config = write_carbon_config(tmp_path, {})
    result = CliRunner().invoke(main, ["--config", str(config), "run", "--listen", "2003"])
    assert result.exit_code == 2
    assert "expected host:port" in result.output


def test_a_port_in_use_is_a_clear_error_not_a_traceback(tmp_path: Path) -> None:
    config = write_carbon_config(tmp_path, {})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = CliRunner().invoke(
            main, ["--config", str(config), "run", "--listen", f"127.0.0.1:{port}"]
        )
    assert result.exit_code == 1
    assert f"cannot listen on 127.0.0.1:{port}: Address already in use" in result.output
