from __future__ import annotations

from pathlib import Path

import pytest

from rexmon.errors import ConfigError
from slurpers.config import config_from_text, load_config
from slurpers.errors import TokenRefused
from slurpers.registry import standard_registry

REPO = Path(__file__).resolve().parents[2]
HEAD = """\
server:
  url: http://127.0.0.1:8080
  token: secret-token
hostname: node01.example.org
instances:
"""


def load(body: str, tmp_path: Path) -> object:
    return config_from_text(HEAD + body, standard_registry(), tmp_path, "etc/s.yaml")


def test_the_example_file_loads_and_every_instance_is_valid() -> None:
    config = load_config(REPO / "etc" / "slurpers.yaml", standard_registry())
    assert {"host", "demo", "web", "load", "rootfs", "queue", "exporter", "farm"} <= set(
        config.instances
    )
    assert config.server.token_file is not None
    assert config.spool.max_bytes == 100 * 1024**2
    assert config.spool.max_age == 2 * 86400


def test_prefixes_default_per_source_and_use_the_sanitised_host_name(tmp_path: Path) -> None:
    config = config_from_text(
        HEAD + "  h: {source: host}\n  c: {source: command, command: 'true', prefix: 'x.{host}'}\n",
        standard_registry(),
        tmp_path,
    )
    assert config.instances["h"].prefix == ("host", "node01_example_org")
    assert config.instances["c"].prefix == ("x", "node01_example_org")


def test_an_unknown_source_is_named_with_file_line_and_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load("  one:\n    source: hots\n", tmp_path)
    assert str(info.value).startswith("etc/s.yaml:7: instances.one.source: unknown source 'hots'")


def test_an_unknown_option_of_a_source_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load("  w:\n    source: http\n    targets: {a: 'http://x/'}\n    retry: 3\n", tmp_path)
    assert str(info.value).startswith("etc/s.yaml:9: instances.w.retry: unknown key")


def test_a_bad_option_value_names_its_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"instances.c.timeout: expected a duration"):
        load("  c: {source: command, command: ls, timeout: soon}\n", tmp_path)
    with pytest.raises(ConfigError, match=r"instances.b.scheduler: expected one of slurm"):
        load("  b: {source: batch, scheduler: pbs}\n", tmp_path)
    with pytest.raises(ConfigError, match=r"instances.p.prefix: .*component"):
        load("  p: {source: demo, prefix: 'bad..prefix'}\n", tmp_path)


def test_token_and_token_file_exclude_each_other(tmp_path: Path) -> None:
    text = "server:\n  url: http://h/\n  token: a\n  token_file: /t\ninstances: {}\n"
    with pytest.raises(ConfigError, match="server.token_file: give token or token_file"):
        config_from_text(text, standard_registry(), tmp_path)


def test_the_token_file_is_read_only_when_needed_and_hidden_from_repr(tmp_path: Path) -> None:
    text = "server:\n  url: http://h/\n  token_file: tok\ninstances: {}\n"
    config = config_from_text(text, standard_registry(), tmp_path)
    with pytest.raises(TokenRefused, match="cannot read token file"):
        config.server.read_token()
    (tmp_path / "tok").write_text("s3cret\n")
    assert config.server.read_token() == "s3cret"
    inline = config_from_text(HEAD + "  d: {source: demo}\n", standard_registry(), tmp_path)
    assert "secret-token" not in repr(inline)
