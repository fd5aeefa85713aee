from __future__ import annotations

import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from slurpers.cli import main
from slurpers.runner import EXIT_SPOOLED, LOGGER
from tests.fixtures_server import RexmonServer

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def forget_cli_log_handlers() -> Iterator[None]:
    """The CLI points its logger at CliRunner's stderr; do not leave that behind."""
    yield
    logger = logging.getLogger(LOGGER)
    logger.handlers.clear()
    logger.setLevel(logging.NOTSET)


def write_config(tmp_path: Path, body: str = "") -> Path:
    path = tmp_path / "slurpers.yaml"
    path.write_text(
        f"""\
server:
  url: http://127.0.0.1:9
  token: cli-secret-token
  retries: 0
  timeout: 2s
spool:
  dir: {tmp_path / "spool"}
hostname: n1
instances:
  demo:
    source: demo
{body}"""
    )
    return path


def test_list_shows_each_instance_its_source_and_prefix() -> None:
    result = CliRunner().invoke(main, ["--list", "--config", str(REPO / "etc" / "slurpers.yaml")])
    assert result.exit_code == 0, result.output
    assert "farm\tbatch\tbatch.farm" in result.output.splitlines()


def test_check_config_validates_the_example_file() -> None:
    result = CliRunner().invoke(
        main, ["--check-config", "--config", str(REPO / "etc/slurpers.yaml")]
    )
    assert result.exit_code == 0
    assert "OK (8 instances)" in result.output


def test_dry_run_prints_samples_to_stdout(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["demo", "--dry-run", "--config", str(write_config(tmp_path))]
    )
    assert result.exit_code == 0, result.output
    assert "demo.n1.a.sine " in result.output
    assert "summary demo: collected=2" in result.output


def test_a_config_error_is_one_clear_line_with_file_and_line(tmp_path: Path) -> None:
    path = write_config(tmp_path, "    colour: blue\n")
    result = CliRunner().invoke(main, ["demo", "--config", str(path)])
    assert result.exit_code == 1
    assert f"Error: {path}:12: instances.demo.colour: unknown key" in result.output
    assert "Traceback" not in result.output


def test_an_unknown_instance_names_the_known_ones(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["nope", "--config", str(write_config(tmp_path))])
    assert result.exit_code == 1
    assert "no instance 'nope'" in result.output and "known: demo" in result.output


def test_an_unreachable_server_spools_exits_4_and_never_prints_the_token(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["demo", "-v", "--config", str(write_config(tmp_path))])
    assert result.exit_code == EXIT_SPOOLED
    assert "server unavailable" in result.output
    assert "spooled=2" in result.output
    assert "cli-secret-token" not in result.output


def test_the_server_url_can_be_given_on_the_command_line(
    tmp_path: Path, rexmon_server: RexmonServer
) -> None:
    from click.testing import CliRunner

    from slurpers.cli import main

    config = tmp_path / "slurpers.yaml"
    config.write_text(
        f"server:\n  url: http://127.0.0.1:9\n  token: {rexmon_server.token}\n"
        "spool:\n  dir: spool\nhostname: n1\n"
        "instances:\n  demo: {source: demo, series: [x]}\n"
    )
    bad = CliRunner().invoke(main, ["demo", "--config", str(config), "--server", "ftp://x"])
    assert bad.exit_code == 2 and "expected an http:// or https:// URL" in bad.output
    sent = CliRunner().invoke(
        main, ["demo", "--config", str(config), "--server", rexmon_server.url]
    )
    assert sent.exit_code == 0, sent.output
    assert sorted(p.name for p in (rexmon_server.archive_root / "demo" / "n1" / "x").iterdir())


def test_a_relative_command_is_found_next_to_the_config_wherever_it_is_run(
    tmp_path: Path,
) -> None:
    site = tmp_path / "etc" / "rexmon"
    (site / "plugins").mkdir(parents=True)
    plugin = site / "plugins" / "check_queue"
    plugin.write_text("#!/bin/sh\necho 'QUEUE OK | jobs=7;50;100'\n")
    plugin.chmod(0o755)
    (site / "slurpers.yaml").write_text(
        "server: {url: 'http://127.0.0.1:9', token: x}\nspool: {dir: spool}\n"
        "instances:\n  queue: {source: command, command: plugins/check_queue}\n"
    )
    elsewhere = tmp_path / "somewhere" / "else"
    elsewhere.mkdir(parents=True)
    result = subprocess.run(
        [str(BIN / "rexmon-slurp"), "--config", str(site / "slurpers.yaml"), "--dry-run", "queue"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert ".queue.jobs 7 " in result.stdout
