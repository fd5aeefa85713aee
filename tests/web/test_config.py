from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from rexmon.errors import ConfigError
from web.auth.tokens import TokenRegistry, digest_token
from web.cli import main
from web.config import load_server_config, load_tokens

REPO = Path(__file__).resolve().parents[2]
ARCHIVE = f"archive:\n  root: rrd\n  schemas: {REPO / 'etc' / 'archive.yaml'}\n"


def test_the_example_server_config_loads() -> None:
    config = load_server_config(REPO / "etc" / "rexmon.yaml")
    assert config.archive.root.resolve() == (REPO / "var" / "rrd").resolve()
    assert config.web.max_body_bytes == 16 * 1024 * 1024
    assert config.site.timezone.key == "UTC"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rexmon.yaml"
    path.write_text(text)
    return path


def test_config_errors_name_the_file_line_and_key(tmp_path: Path) -> None:
    path = write(tmp_path, ARCHIVE + "web:\n  max_body: lots\n")
    with pytest.raises(ConfigError, match=r"rexmon.yaml:5: web.max_body: expected a size"):
        load_server_config(path)
    path = write(tmp_path, ARCHIVE + "wbe: {}\n")
    with pytest.raises(ConfigError, match=r"rexmon.yaml:4: wbe: unknown key"):
        load_server_config(path)
    path = write(tmp_path, ARCHIVE + "site:\n  timezone: Mars/Base\n")
    with pytest.raises(ConfigError, match=r":5: site.timezone: unknown time zone"):
        load_server_config(path)


def test_tokens_are_stored_as_digests_and_limited_to_globs(tmp_path: Path) -> None:
    digest = digest_token("s3cret")
    path = write(
        tmp_path,
        ARCHIVE + "web:\n  tokens:\n"
        f"    - name: n1\n      digest: '{digest}'\n      metrics: ['host.node01_*']\n",
    )
    registry = TokenRegistry(load_tokens(load_server_config(path).web))
    token = registry.find("s3cret")
    assert token is not None and token.name == "n1"
    assert token.allows("host.node01_fnal_gov.cpu")
    assert not token.allows("host.node02_fnal_gov.cpu")
    assert registry.find("wrong") is None


def test_a_token_entry_with_a_plain_secret_is_refused(tmp_path: Path) -> None:
    path = write(tmp_path, ARCHIVE + "web:\n  tokens:\n    - name: n1\n      digest: s3cret\n")
    with pytest.raises(ConfigError, match=r":7: web.tokens\[0\].digest: expected 'sha256:'"):
        load_server_config(path)


def test_the_cli_makes_tokens_and_checks_the_config(tmp_path: Path) -> None:
    path = write(tmp_path, ARCHIVE + "web:\n  tokens_file: tokens.yaml\n")
    runner = CliRunner()
    made = runner.invoke(
        main,
        [
            "--config",
            str(path),
            "token",
            "node01",
            "--metrics",
            "host.node01_*",
            "--add-to",
            str(tmp_path / "tokens.yaml"),
        ],
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    assert secret not in (tmp_path / "tokens.yaml").read_text()
    assert (tmp_path / "tokens.yaml").stat().st_mode & 0o077 == 0
    registry = TokenRegistry(load_tokens(load_server_config(path).web))
    assert registry.find(secret) is not None
    no_rules = runner.invoke(main, ["--config", str(path), "check-config"])
    assert no_rules.exit_code == 1
    assert "the alarm rules file (alarmd.rules) does not exist" in no_rules.output
    (tmp_path / "alarms.yaml").write_text("rules: []\n")
    checked = runner.invoke(main, ["--config", str(path), "check-config"])
    assert checked.exit_code == 0, checked.output
    assert "push tokens: 1" in checked.output and "alarm rules: 0 from" in checked.output
    broken = runner.invoke(main, ["--config", str(tmp_path / "missing.yaml"), "check-config"])
    assert broken.exit_code == 2  # a usage error, as in every rexmon CLI
    assert "missing.yaml (from --config) does not exist" in broken.output
    assert "Traceback" not in broken.output


def test_a_token_may_create_a_bounded_number_of_new_metrics(tmp_path: Path) -> None:
    entry = f"    - name: n1\n      digest: '{digest_token('s3cret')}'\n"
    path = write(tmp_path, ARCHIVE + "web:\n  tokens:\n" + entry)
    token = TokenRegistry(load_tokens(load_server_config(path).web)).find("s3cret")
    assert token is not None and token.max_new_metrics == 0  # unlimited unless set
    path = write(tmp_path, ARCHIVE + "web:\n  tokens:\n" + entry + "      max_new_metrics: 0\n")
    token = TokenRegistry(load_tokens(load_server_config(path).web)).find("s3cret")
    assert token is not None and token.max_new_metrics == 0
    path = write(tmp_path, ARCHIVE + "web:\n  tokens:\n" + entry + "      max_new_metrics: -1\n")
    with pytest.raises(ConfigError, match=r":8: web.tokens\[0\].max_new_metrics: "):
        load_server_config(path)


def test_the_cli_makes_a_token_with_a_new_metric_quota(tmp_path: Path) -> None:
    path = write(tmp_path, ARCHIVE + "web:\n  tokens_file: tokens.yaml\n")
    made = CliRunner().invoke(
        main,
        ["--config", str(path), "token", "n1", "--max-new-metrics", "25"]
        + ["--add-to", str(tmp_path / "tokens.yaml")],
    )
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[-1]
    token = TokenRegistry(load_tokens(load_server_config(path).web)).find(secret)
    assert token is not None and token.max_new_metrics == 25
