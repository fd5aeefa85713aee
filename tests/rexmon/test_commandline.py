"""The command lines as a site admin types them: found config, --version, -h, errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent
SCRIPTS = ("rexmon-archive", "rexmon-downtime", "rexmon-alarmd", "rexmon-slurp")


def run(
    *argv: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("REXMON_")}
    environ.update(env or {})
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.mark.parametrize("script", SCRIPTS)
def test_every_command_says_its_version_and_helps_with_h(script: str, tmp_path: Path) -> None:
    version = run(script, "--version", cwd=tmp_path)
    assert version.returncode == 0, version.stderr
    assert version.stdout.startswith(f"{script}, version ")
    helped = run(script, "-h", cwd=tmp_path)
    assert helped.returncode == 0 and "Usage:" in helped.stdout


def test_a_subcommand_explains_itself_without_a_config_file(tmp_path: Path) -> None:
    helped = run("rexmon-archive", "list", "--help", cwd=tmp_path)
    assert helped.returncode == 0, helped.stderr
    assert "List the metrics matching GLOB" in helped.stdout


def test_filing_a_downtime_in_an_empty_directory_creates_no_database(tmp_path: Path) -> None:
    added = run(
        "rexmon-downtime", "add", "--scope", "host.*", "--duration", "1h", "--reason", "r",
        cwd=tmp_path,
    )  # fmt: skip
    assert added.returncode == 1
    assert "no config file found" in added.stderr and "give --config FILE" in added.stderr
    assert "Traceback" not in added.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_config_is_found_in_rexmon_config_then_in_the_checkouts_etc(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "rexmon.yaml").write_text("database: {url: 'sqlite:///checkout.db'}\n")
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text("database: {url: 'sqlite:///env.db'}\n")
    listed = run("rexmon-downtime", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert (tmp_path / "etc" / "checkout.db").exists()
    chosen = run("rexmon-downtime", "list", cwd=tmp_path, env={"REXMON_CONFIG": str(elsewhere)})
    assert chosen.returncode == 0, chosen.stderr
    assert (tmp_path / "env.db").exists()


def test_a_named_config_that_does_not_exist_is_a_usage_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    for argv in (("rexmon-downtime", "--config", str(missing), "list"),
                 ("rexmon-archive", "--config", str(missing), "list"),
                 ("rexmon-slurp", "--config", str(missing), "--list")):  # fmt: skip
        result = run(*argv, cwd=tmp_path)
        assert result.returncode == 2, (argv, result.stderr)
        assert f"config file {missing} (from --config) does not exist" in result.stderr


def test_a_duration_option_names_what_it_expected(tmp_path: Path) -> None:
    result = run("rexmon-alarmd", "run", "--interval", "often", cwd=tmp_path)
    assert result.returncode == 2
    assert "Invalid value for '--interval'" in result.stderr
