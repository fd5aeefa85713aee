"""``rexmon-web token NODE`` as an admin types it: the node's own glob, the tokens file."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from web.auth.tokens import TokenRegistry
from web.cli import main
from web.config import load_server_config, load_tokens

TOKENS = """\
# Push tokens of the batch farm; one per node. Ask ops before removing one.
tokens:
  # the first node, set up by hand
  - name: node00
    digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000"
    metrics: ["host.node00.*"]
"""


def site(tmp_path: Path, tokens: str = TOKENS) -> Path:
    (tmp_path / "archive.yaml").write_text(
        "schemas:\n  - {match: '*', step: 1m, retention: 1m:1d}\n"
    )
    (tmp_path / "tokens.yaml").write_text(tokens)
    config = tmp_path / "rexmon.yaml"
    config.write_text(
        "archive: {root: rrd, schemas: archive.yaml}\nweb: {tokens_file: tokens.yaml}\n"
    )
    return config


def test_a_node_token_defaults_to_the_nodes_metrics_and_keeps_the_files_comments(
    tmp_path: Path,
) -> None:
    config = site(tmp_path)
    result = CliRunner().invoke(main, ["--config", str(config), "token", "node01.cern.ch"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    text = (tmp_path / "tokens.yaml").read_text()
    assert text.startswith(TOKENS)  # comments and the hand-written entry untouched
    assert "added token 'node01.cern.ch' for host.node01_cern_ch.*" in result.stderr
    registry = TokenRegistry(load_tokens(load_server_config(config).web))
    token = registry.find(secret)
    assert token is not None and token.name == "node01.cern.ch"
    assert token.allows("host.node01_cern_ch.cpu.user_seconds")
    assert not token.allows("host.node01_cern_ch_evil.cpu.user_seconds")
    assert not token.allows("host.node02.cpu.user_seconds")
    assert (tmp_path / "tokens.yaml").stat().st_mode & 0o777 == 0o600


def test_tokens_go_into_an_empty_flow_list_and_a_new_file(tmp_path: Path) -> None:
    config = site(tmp_path, "tokens: []   # none yet\n")
    for node in ("node01", "node02"):
        result = CliRunner().invoke(main, ["--config", str(config), "token", node])
        assert result.exit_code == 0, result.output
    assert len(load_tokens(load_server_config(config).web)) == 2
    assert "# none yet" in (tmp_path / "tokens.yaml").read_text()
    fresh = tmp_path / "new" / "tokens.yaml"
    made = CliRunner().invoke(
        main, ["--config", str(config), "token", "n3", "--add-to", str(fresh)]
    )
    assert made.exit_code == 0, made.output
    assert "host.n3.*" in fresh.read_text()


def test_a_tokens_file_it_cannot_extend_is_left_alone_with_a_clear_error(tmp_path: Path) -> None:
    odd = 'tokens: [{"name": "a", "digest": "sha256:' + "0" * 64 + '", "metrics": ["x.*"]}]\n'
    config = site(tmp_path, odd)
    result = CliRunner().invoke(main, ["--config", str(config), "token", "node01"])
    assert result.exit_code == 1
    assert "cannot append to its 'tokens:' list" in result.output
    assert (tmp_path / "tokens.yaml").read_text() == odd
