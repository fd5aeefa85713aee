"""Check results travel apart from samples: /api/v1/checks, spooled alike, dropped on 404."""

from __future__ import annotations

import gzip
import io
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from rexmon.checkresult import check_from_json
from slurpers.config import SlurperConfig, config_from_text
from slurpers.registry import standard_registry
from slurpers.runner import CHECKS_RECHECK, EXIT_OK, EXIT_SPOOLED, run_instance
from slurpers.spool import CheckSpool
from tests.slurpers.helpers import Reply, local_server

NOW = 1_700_000_000.0
DUMMY = Path("/usr/lib/nagios/plugins/check_dummy")
pytestmark = pytest.mark.skipif(
    not DUMMY.exists(), reason="install monitoring-plugins-basic (Debian) for check_dummy"
)


def config_for(tmp_path: Path, url: str) -> SlurperConfig:
    text = f"""
server: {{url: "{url}", token: tok, retries: 0}}
spool: {{dir: "{tmp_path / "spool"}"}}
hostname: n1
instances:
  raid: {{source: command, command: ["{DUMMY}", "2", "array degraded\\nsdb missing"]}}
"""
    return config_from_text(text, standard_registry(), tmp_path)


class Server:
    """Records what arrives; ``checks`` is the status /api/v1/checks answers."""

    def __init__(self, checks: int = 200, samples: int = 200) -> None:
        self.status = {"/api/v1/checks": checks, "/api/v1/samples": samples}
        self.got: list[tuple[str, list[dict[str, Any]]]] = []

    def __call__(self, path: str, body: bytes) -> Reply:
        status = self.status[path]
        if status != 200:
            return status, {}, b"no"
        key = path.rsplit("/", 1)[1]
        items = json.loads(gzip.decompress(body))[key]
        self.got.append((key, items))
        return 200, {}, json.dumps({"accepted": len(items), "rejected": []}).encode()


def test_a_plugin_run_posts_its_samples_then_its_check_result(tmp_path: Path) -> None:
    server = Server()
    with local_server(server) as url:
        config = config_for(tmp_path, url)
        summary = run_instance(config, config.instances["raid"], clock=lambda: NOW)
    assert summary.exit_code == EXIT_OK
    assert [key for key, _ in server.got] == ["samples", "checks"]
    [check] = [check_from_json(item) for item in server.got[1][1]]
    assert check.check == "host.n1.raid"
    assert check.state.name == "CRITICAL"
    assert (check.output, check.long_output) == ("CRITICAL: array degraded", "sdb missing")
    assert "checks=1 checks_sent=1" in summary.line()


def test_an_older_server_gets_the_samples_and_the_check_results_are_dropped_quietly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server = Server(checks=404)
    caplog.set_level(logging.DEBUG, "rexmon.slurp")
    with local_server(server) as url:
        config = config_for(tmp_path, url)
        first = run_instance(config, config.instances["raid"], clock=lambda: NOW)
        second = run_instance(config, config.instances["raid"], clock=lambda: NOW + 60)
    assert [key for key, _ in server.got] == ["samples", "samples"]
    assert first.exit_code == second.exit_code == EXIT_OK  # the samples all arrived
    assert first.checks_unsupported == second.checks_unsupported == 1
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "takes no check results" in warnings[0].getMessage()
    assert CheckSpool(config.spool.dir, "raid", 10**9, 3600).pending() == []


def test_an_hour_after_a_404_the_server_is_asked_again(tmp_path: Path) -> None:
    server = Server(checks=404)
    with local_server(server) as url:
        config = config_for(tmp_path, url)
        run_instance(config, config.instances["raid"], clock=lambda: NOW)
        server.status["/api/v1/checks"] = 200  # the server was upgraded
        run_instance(config, config.instances["raid"], clock=lambda: NOW + 60)
        later = run_instance(
            config, config.instances["raid"], clock=lambda: NOW + CHECKS_RECHECK + 1
        )
    assert [key for key, _ in server.got] == ["samples", "samples", "samples", "checks"]
    assert later.checks.sent == 1
    assert not (config.spool.dir / "raid" / "checks" / "unsupported").exists()


def test_check_results_wait_in_their_spool_while_the_server_is_down(tmp_path: Path) -> None:
    server = Server(checks=503)
    with local_server(server) as url:
        config = config_for(tmp_path, url)
        down = run_instance(config, config.instances["raid"], clock=lambda: NOW)
        assert down.exit_code == EXIT_SPOOLED
        assert [b.count for b in CheckSpool(config.spool.dir, "raid", 10**9, 3600).pending()] == [1]
        server.status["/api/v1/checks"] = 200
        up = run_instance(config, config.instances["raid"], clock=lambda: NOW + 60)
    assert up.exit_code == EXIT_OK
    checks = [item for key, items in server.got if key == "checks" for item in items]
    assert [c["time"] for c in checks] == [int(NOW), int(NOW) + 60]  # the old one first
    assert up.checks.backlog == 1


def test_a_dry_run_prints_the_check_result_as_json(tmp_path: Path) -> None:
    config = config_for(tmp_path, "http://127.0.0.1:9")
    out = io.StringIO()
    run_instance(config, config.instances["raid"], dry_run=True, out=out, clock=lambda: NOW)
    lines = out.getvalue().splitlines()
    assert lines[0] == "host.n1.raid.state 2 1700000000 GAUGE"
    assert lines[1].startswith("check ")
    assert check_from_json(json.loads(lines[1][6:])).state.name == "CRITICAL"
